"""Event-time progress: watermarks per input partition, and across repartition topics.

A partition's watermark is the largest event time read from it minus the allowed
out-of-orderness: no record older than that is expected any more. A pipeline's watermark is the
minimum over its partitions; a partition that has read nothing for ``idle_timeout`` stops
holding it back, and when the whole input is quiet for ``quiet_after`` the watermark may move
on with the wall clock. Watermarks only move forward.

A ``group_by`` moves records to a repartition topic, where records of every upstream partition
mix. The upstream pipeline therefore writes a *watermark marker* (a record with the
``headwater.watermark`` header) to every partition of the repartition topic whenever an
upstream partition's watermark changes, after the records it covers; the downstream pipeline
keeps, per repartition partition, the latest marker of every upstream partition and takes the
minimum (see :class:`MarkerTable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from headwater.plan.durations import duration_ms

if TYPE_CHECKING:
    from headwater.state.store import PartitionStore

# Event times are epoch milliseconds; these stand for "nothing yet" and "the end of time".
MIN_TIME = -(2**62)
MAX_TIME = 2**62
MARKER_HEADER = "headwater.watermark"

# In an operator's partition store, under the empty key: the watermark it last acted on (closed
# windows, fired timers), so after a restart it never acts as if time went back.
WATERMARK_ENTRY = "watermark"


@dataclass(frozen=True)
class WatermarkConfig:
    """How a pipeline's watermark follows its input (see ``StreamingDataFrame.with_watermarks``)."""

    max_out_of_orderness_ms: int = 0
    idle_timeout: float | None = None  # seconds without records before a partition is idle
    quiet_after: float | None = None  # seconds of a quiet input before wall-clock advance

    @classmethod
    def of(cls, max_out_of_orderness: Any, idle_timeout: Any, quiet_after: Any) -> WatermarkConfig:
        bound = duration_ms(max_out_of_orderness, "max_out_of_orderness")
        idle = None if idle_timeout is None else duration_ms(idle_timeout, "idle_timeout") / 1000
        quiet = None if quiet_after is None else duration_ms(quiet_after, "advance_when_quiet")
        return cls(bound, idle, None if quiet is None else quiet / 1000)


class WatermarkTracker:
    """The watermarks of the input partitions one pipeline reads (in this app instance)."""

    def __init__(self, config: WatermarkConfig) -> None:
        self.config = config
        self._max: dict[int, int] = {}  # partition -> largest event time read
        self._active: dict[int, float] = {}  # partition -> when it last had a record (monotonic)
        self._last_record: float | None = None
        self._watermark = MIN_TIME
        self._finished: int | None = None  # the watermark the input ended at

    def assign(self, partition: int, now: float, resume_at: int | None = None) -> None:
        """A partition to wait for (even before its first record), until it turns idle;
        ``resume_at``: the largest event time read from it before (see
        :mod:`headwater.runtime.time.resume`)."""
        self._active.setdefault(partition, now)
        if resume_at is not None:
            self._max[partition] = max(self._max.get(partition, MIN_TIME), resume_at)

    def latest(self, partition: int) -> int | None:
        """The largest event time read from ``partition``, None before its first record."""
        return self._max.get(partition)

    def forget(self, partition: int) -> None:
        self._max.pop(partition, None)
        self._active.pop(partition, None)

    def rewind(self, partition: int, now: float, resume_at: int | None = None) -> None:
        """The partition is read again from its last commit (an aborted transaction): what its
        records since then moved goes back, to ``resume_at`` (its event time as of that
        commit), as if it had just been assigned. The pipeline's watermark is recomputed from
        the partitions as they stand; the stores keep the one the windows acted on, so no
        window closes twice."""
        self.forget(partition)
        self.assign(partition, now, resume_at)
        self._watermark = MIN_TIME

    def observe(self, partitions: pl.Series, times: pl.Series, now: float) -> None:
        """Records read: per partition, event times (vectorised: one max per partition)."""
        if partitions.len() == 0:
            return
        frame = pl.DataFrame({"p": partitions, "t": times}).group_by("p").agg(pl.col("t").max())
        for partition, latest in frame.iter_rows():
            if latest is None:
                continue
            self._max[partition] = max(self._max.get(partition, MIN_TIME), latest)
            self._active[partition] = now
        self._last_record = now

    def finish(self, at: int = MAX_TIME) -> None:
        """The input is over (a local or bounded run): windows up to ``at`` (by default all)
        may close."""
        self._finished = at

    def partition_watermarks(self, now: float) -> dict[int, tuple[int, bool]]:
        """Per known partition: its watermark, and whether it is idle."""
        if self._finished is not None:
            return {p: (self._finished, False) for p in self._active}
        bound = self.config.max_out_of_orderness_ms
        quiet = self._quiet_advance(now)
        idle_after = self.config.idle_timeout
        out: dict[int, tuple[int, bool]] = {}
        for partition, seen in self._active.items():
            latest = self._max.get(partition)
            mark = MIN_TIME if latest is None else latest - bound
            if quiet is not None:
                out[partition] = (max(mark, quiet), False)
            else:
                out[partition] = (mark, idle_after is not None and now - seen >= idle_after)
        return out

    def _quiet_advance(self, now: float) -> int | None:
        """The watermark the wall clock gives a quiet input, or None if it is not quiet."""
        quiet_after = self.config.quiet_after
        if quiet_after is None or self._last_record is None or not self._max:
            return None
        quiet_for = now - self._last_record
        if quiet_for < quiet_after:
            return None
        latest = max(self._max.values())
        return latest - self.config.max_out_of_orderness_ms + round(quiet_for * 1000)

    def watermark(self, now: float) -> int:
        """The pipeline's watermark: the minimum over its active partitions (never decreasing)."""
        self._watermark = max(self._watermark, combine(self.partition_watermarks(now).values()))
        return self._watermark


def combine(marks: Any) -> int:
    """Minimum over non-idle watermarks; when all are idle, the maximum of all, as Flink does:
    a partition that went silent behind the others must not hold windows open once the rest
    has gone quiet too."""
    items = list(marks)
    if not items:
        return MIN_TIME
    active = [w for w, idle in items if not idle]
    return int(min(active) if active else max(w for w, _ in items))


def encode_marker(partition: int, partitions: int, watermark: int, idle: bool) -> bytes:
    return orjson.dumps({"from": partition, "of": partitions, "watermark": watermark, "idle": idle})


class MarkerTable:
    """The downstream side of a repartition topic: per repartition partition, the latest
    watermark marker of each upstream partition."""

    def __init__(self) -> None:
        self._marks: dict[int, dict[int, tuple[int, bool]]] = {}
        self._of: dict[int, int] = {}

    def update(self, partition: int, payload: bytes) -> None:
        marker = orjson.loads(payload)
        upstream, idle = int(marker["from"]), bool(marker["idle"])
        marks = self._marks.setdefault(partition, {})
        previous = marks.get(upstream, (MIN_TIME, False))[0]
        # An upstream restarted from an earlier offset may send a lower mark: never go back.
        marks[upstream] = (max(previous, int(marker["watermark"])), idle)
        self._of[partition] = int(marker["of"])

    def watermark(self, partition: int) -> int:
        """Minimum over every upstream partition (one never heard from holds it back)."""
        of = self._of.get(partition)
        if of is None:
            return MIN_TIME
        marks = self._marks[partition]
        return combine(marks.get(p, (MIN_TIME, False)) for p in range(of))

    def forget(self, partition: int) -> None:
        self._marks.pop(partition, None)
        self._of.pop(partition, None)


def stored_watermark(store: PartitionStore, current: int) -> int:
    """The watermark to act on: ``current``, never below the one persisted in ``store``."""
    return max(int(store.get(b"", WATERMARK_ENTRY, MIN_TIME)), current)


def persist_watermark(store: PartitionStore, watermark: int) -> int:
    """Persist ``watermark`` in ``store`` (it only moves forward); returns the one persisted."""
    persisted = stored_watermark(store, min(watermark, MAX_TIME))
    store.set(b"", WATERMARK_ENTRY, persisted)
    return persisted
