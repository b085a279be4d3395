"""What a running app says about itself beside its steps' record counters, for Prometheus.

Served on the same ``/metrics`` as the step counters (``step_metrics.py``)::

    headwater_loop_busy_seconds_total 12.5        # processing, producing, committing
    headwater_loop_idle_seconds_total 47.5        # waiting in poll for records
    headwater_checkpoints_total 12
    headwater_checkpoint_seconds_total 0.84
    headwater_checkpoint_offsets_total 24         # partition offsets committed
    headwater_checkpoint_changelog_records_total 310
    headwater_checkpoint_failures_total 0         # aborted transactions, fenced producers
    headwater_checkpoint_last_seconds 0.07
    headwater_step_watermark_milliseconds{step="n3"} 1.7336e+12
    headwater_step_state_entries{step="n3"} 120
    headwater_step_late_records_total{step="n3"} 4

Busy and idle time take two clock reads per loop iteration; a checkpoint adds its own timing.
Watermarks, state entries and late records are read from the executors and the stores by the
loop's own thread at most once a second (:meth:`AppMetrics.snapshot`), so the HTTP thread only
ever reads finished dictionaries and never touches a store that the loop may be closing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from headwater.runtime.loop.step_metrics import step_id

if TYPE_CHECKING:
    from headwater.runtime.loop.executor import Executor
    from headwater.state.store import PartitionStore

SNAPSHOT_SECONDS = 1.0


class AppMetrics:
    """The loop's busy and idle time, its checkpoints, and a snapshot of each step's event
    time, state and late records. Written by the loop's thread, read by the HTTP thread."""

    def __init__(self, snapshot_every: float = SNAPSHOT_SECONDS) -> None:
        self.busy_seconds = 0.0
        self.idle_seconds = 0.0
        self.checkpoints = 0
        self.checkpoint_seconds = 0.0
        self.checkpoint_offsets = 0
        self.checkpoint_changelog_records = 0
        self.checkpoint_failures = 0
        self.last_checkpoint_seconds: float | None = None
        # Replaced whole by each snapshot: a reader sees one snapshot or the next.
        self.watermarks: dict[str, int] = {}
        self.state_entries: dict[str, int] = {}
        self.late_records: dict[str, int] = {}
        self._snapshot_every = snapshot_every
        self._snapshot_at = float("-inf")
        self._mark = time.perf_counter()

    # The loop calls these two around each poll.
    def waiting(self) -> None:
        """The loop starts waiting for records: what it did since the last poll was work."""
        now = time.perf_counter()
        self.busy_seconds += now - self._mark
        self._mark = now

    def working(self) -> None:
        """The poll returned: the wait is over."""
        now = time.perf_counter()
        self.idle_seconds += now - self._mark
        self._mark = now

    def checkpointed(self, seconds: float, offsets: int, changelog_records: int) -> None:
        """A checkpoint that committed ``offsets`` partition offsets took ``seconds``."""
        self.checkpoints += 1
        self.checkpoint_seconds += seconds
        self.checkpoint_offsets += offsets
        self.checkpoint_changelog_records += changelog_records
        self.last_checkpoint_seconds = seconds

    def snapshot_due(self, now: float) -> bool:
        return now - self._snapshot_at >= self._snapshot_every

    def snapshot(
        self, now: float, executors: Iterable[Executor], stores: Iterable[PartitionStore]
    ) -> None:
        """Read every step's watermark, state entries and late records (``now``: monotonic)."""
        self._snapshot_at = now
        watermarks: dict[str, int] = {}
        late: dict[str, int] = {}
        owners: dict[str, str] = {}  # store name -> the step that keeps it
        for executor in executors:
            watermarks.update(executor.watermarks())
            for node in executor.steps_of():
                counted = getattr(node.operator, "late_records", None)
                if isinstance(counted, int):
                    late[step_id(node)] = counted
                for name in node.operator.stores:
                    owners.setdefault(name, step_id(node))
        entries = dict.fromkeys(set(owners.values()), 0)
        for store in stores:
            owner = owners.get(store.store_name)
            if owner is not None:
                entries[owner] += store.estimated_entries()
        self.watermarks, self.late_records, self.state_entries = watermarks, late, entries


class AppMetricsCollector(Collector):
    """Exposes an :class:`AppMetrics` in Prometheus' text format."""

    def __init__(self, metrics: AppMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        m = self.metrics
        for name, help_text, value in (
            ("headwater_loop_busy_seconds", "Seconds the loop spent processing", m.busy_seconds),
            ("headwater_loop_idle_seconds", "Seconds the loop waited for records", m.idle_seconds),
            ("headwater_checkpoints", "Checkpoints completed", m.checkpoints),
            ("headwater_checkpoint_seconds", "Seconds spent in checkpoints", m.checkpoint_seconds),
            ("headwater_checkpoint_offsets", "Partition offsets committed", m.checkpoint_offsets),
            (
                "headwater_checkpoint_changelog_records",
                "Changelog records written by checkpoints",
                m.checkpoint_changelog_records,
            ),
            (
                "headwater_checkpoint_failures",
                "Checkpoints undone: aborted transactions, fenced producers",
                m.checkpoint_failures,
            ),
        ):
            yield CounterMetricFamily(name, help_text, value=value)
        if m.last_checkpoint_seconds is not None:
            yield GaugeMetricFamily(
                "headwater_checkpoint_last_seconds",
                "Duration of the last checkpoint",
                value=m.last_checkpoint_seconds,
            )
        yield _per_step(
            GaugeMetricFamily(
                "headwater_step_watermark_milliseconds",
                "The step's watermark, epoch milliseconds",
                labels=["step"],
            ),
            m.watermarks,
        )
        yield _per_step(
            GaugeMetricFamily(
                "headwater_step_state_entries",
                "Entries in the step's state stores (RocksDB's estimate)",
                labels=["step"],
            ),
            m.state_entries,
        )
        yield _per_step(
            CounterMetricFamily(
                "headwater_step_late_records",
                "Records that came after the step's watermark had passed them",
                labels=["step"],
            ),
            m.late_records,
        )


_Family = TypeVar("_Family", CounterMetricFamily, GaugeMetricFamily)


def _per_step(family: _Family, values: Mapping[str, float]) -> _Family:
    """``family`` with one sample per step, in step order."""
    for step, value in sorted(values.items()):
        family.add_metric([step], value)
    return family
