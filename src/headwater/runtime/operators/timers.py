"""Keyed process functions with timers: ``group_by(...).process(fn, on_timer=...)``.

``fn(value, ctx)`` runs per record with the key's state (``ctx.state``) and timer service
(``ctx.timers``). Timers are kept per key in the partition's store (entry ``__timers``), so they
survive restarts and move with the partition. The executor calls :meth:`KeyedProcess.fire`
after every batch and on the runner's tick, like windows: event-time timers at or below the
watermark fire, processing-time ones at or below the wall clock; each fired timer is deleted and
``on_timer(key, timestamp, ctx)``'s results go downstream. An in-memory index (key -> earliest
timer, with a heap per time domain; rebuilt from the store when the store is new or its changes
were aborted) finds the due keys without looking at the others. The index also keeps the
partition's watermark as the operator last saw it with records or fired timers at it; it is
written to the store at checkpoints, so after a restart timers and ``ctx.watermark`` never see
time go back.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.errors import ConfigError
from headwater.runtime.loop.batch import KEY, ROW, TS, meta_columns, value_rows, with_values
from headwater.runtime.operators.keyed import (
    KEY_COLUMN,
    PARTITION,
    TimedCache,
    keyed_frame,
    skip_applied,
)
from headwater.runtime.operators.steps import BatchContext, describe_callable
from headwater.runtime.operators.timed import Fired, TimedOperator
from headwater.runtime.time.watermark import MAX_TIME
from headwater.serde.frames import frame_from_rows
from headwater.state.encoding import encode_key

if TYPE_CHECKING:
    from headwater.state.state import State
    from headwater.state.store import PartitionStore

TIMERS = "__timers"  # a key's timers: {"key": its plain key, "event": [...], "processing": [...]}
_DOMAINS = ("event", "processing")


class Timers:
    """One key's timers, as ``ctx.timers`` in a process function or ``on_timer``."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self._entry = entry
        self.changed = False

    def register_event_time(self, timestamp_ms: int) -> None:
        """Fire ``on_timer`` once the watermark reaches ``timestamp_ms`` (epoch ms)."""
        self._add("event", timestamp_ms)

    def register_processing_time(self, timestamp_ms: int) -> None:
        """Fire ``on_timer`` once the wall clock reaches ``timestamp_ms`` (epoch ms)."""
        self._add("processing", timestamp_ms)

    def delete_event_time(self, timestamp_ms: int) -> None:
        self._remove("event", timestamp_ms)

    def delete_processing_time(self, timestamp_ms: int) -> None:
        self._remove("processing", timestamp_ms)

    def event_timers(self) -> list[int]:
        return list(self._entry["event"])

    def processing_timers(self) -> list[int]:
        return list(self._entry["processing"])

    def _add(self, domain: str, timestamp_ms: int) -> None:
        if not isinstance(timestamp_ms, int) or isinstance(timestamp_ms, bool):
            raise TypeError(
                f"register_{domain}_time({timestamp_ms!r}): give epoch milliseconds as an int"
            )
        if timestamp_ms not in self._entry[domain]:  # one timer per key and time, as Flink
            self._entry[domain] = sorted([*self._entry[domain], timestamp_ms])
            self.changed = True

    def _remove(self, domain: str, timestamp_ms: int) -> None:
        if timestamp_ms in self._entry[domain]:
            self._entry[domain] = [t for t in self._entry[domain] if t != timestamp_ms]
            self.changed = True


class ProcessContext:
    """What a process function and ``on_timer`` get: the key, its state and timers, the
    record's (or the timer's) timestamp and the partition's current watermark."""

    __slots__ = ("key", "state", "timers", "timestamp", "watermark")

    def __init__(
        self, key: Any, state: State, timers: Timers, timestamp: int | None, watermark: int
    ) -> None:
        self.key = key
        self.state = state
        self.timers = timers
        self.timestamp = timestamp
        self.watermark = watermark


class KeyedProcess(TimedOperator):
    """``group_by(...).process(fn, on_timer=...)``: a function per record with keyed state
    and timers."""

    kind = "process"

    def __init__(
        self, fn: Callable[..., Any], on_timer: Callable[..., Any] | None, store: str
    ) -> None:
        for name, f in (("fn", fn), ("on_timer", on_timer)):
            if f is not None and not callable(f):
                raise ConfigError(f"process({name}=...) needs a function, got {type(f).__name__}")
        super().__init__(store)
        self.fn = fn
        self.on_timer = on_timer
        # Partition -> its keys' earliest timers.
        self._index: dict[int, DueTimers] = {}

    def params(self) -> dict[str, Any]:
        on_timer = describe_callable(self.on_timer) if self.on_timer is not None else None
        return {"function": describe_callable(self.fn), "on_timer": on_timer, "store": self.store}

    @property
    def label(self) -> str:
        return f"process({describe_callable(self.fn)})"

    # A batch
    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        frame = keyed_frame(frame, ctx, self.label)
        meta = meta_columns(frame)
        if frame.height == 0:
            return frame.select(meta)
        stores = self.partition_stores(frame, ctx)
        frame = skip_applied(frame, ctx, stores)
        marks = {}  # the watermark, never below the one persisted
        for p, store in stores.items():
            index = self._index_of(p, store)  # built before this batch's writes
            index.advance(ctx.watermark(p))
            marks[p] = index.watermark
        rows, stamps = frame[ROW].to_list(), frame[TS].to_list()
        keys = [encode_key(k) for k in frame[KEY_COLUMN].to_list()]
        plain, parts = frame[KEY].to_list(), frame[PARTITION].to_list()
        out: list[dict[str, Any]] = []
        keep: list[int] = []
        values = value_rows(frame.drop([PARTITION, KEY_COLUMN]))
        for i, value in enumerate(values):
            store, key = stores[parts[i]], keys[i]
            entry = self._entry(store, key, plain[i])
            timers = Timers(entry)
            context = ProcessContext(
                plain[i], store.state(key, stamps[i]), timers, stamps[i], marks[parts[i]]
            )
            try:
                items = _records(self.label, self.fn(value, context))
            except Exception as exc:
                ctx.fail([rows[i]], exc, self.label)
                continue
            finally:
                if timers.changed:
                    self._save(parts[i], store, key, entry)
            out.extend(items)
            keep.extend([i] * len(items))
        kept = frame.select(meta)[keep] if keep else frame.select(meta)[:0]
        return with_values(kept, frame_from_rows(out))

    # Firing
    def forget(self, partition: int) -> None:
        self._index.pop(partition, None)

    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        """Fire the partition's due timers; returns on_timer's results and the timers that
        failed (by position, as rows of their own), or None when no timer was due."""
        now_ms = int(time.time() * 1000)
        known = self._index.get(partition)
        if (
            known is not None
            and known.current(known.store)
            and not known.any_due(max(watermark, known.watermark), now_ms)
        ):
            return None  # the usual case: nothing due
        store = ctx.store(self.store, partition)
        index = self._index_of(partition, store)
        watermark = max(watermark, index.watermark)
        due = index.due(watermark, now_ms)
        if not due:
            return None
        index.advance(watermark)
        rows: list[dict[str, Any]] = []
        keys: list[Any] = []
        stamps: list[int] = []
        failures: list[tuple[int, Exception]] = []
        for key in due:
            entry = store.get(key, TIMERS)
            if not entry:
                index.remove(key)
                continue
            fired = [("event", t) for t in entry["event"] if t <= watermark]
            fired += [("processing", t) for t in entry["processing"] if t <= now_ms]
            for domain, at in sorted(fired, key=lambda f: f[1]):
                entry[domain] = [t for t in entry[domain] if t != at]  # fired: deleted
                timers = Timers(entry)
                context = ProcessContext(entry["key"], store.state(key, at), timers, at, watermark)
                try:
                    items = _records(self.label, self._call_on_timer(entry["key"], at, context))
                except Exception as exc:
                    failures.append((len(rows), _TimerFailed(entry["key"], at, domain, exc)))
                    items = [{}]
                rows.extend(items)
                keys.extend([entry["key"]] * len(items))
                stamps.extend([at] * len(items))
            self._save(partition, store, key, entry)
        if not rows:
            return pl.DataFrame(), []
        meta = pl.DataFrame(
            {ROW: list(range(len(rows))), KEY: keys, TS: stamps}, strict=False
        ).with_columns(pl.col(TS).cast(pl.Int64))
        return with_values(meta, frame_from_rows(rows)), failures

    def _call_on_timer(self, key: Any, at: int, context: ProcessContext) -> Any:
        if self.on_timer is None:
            return None
        return self.on_timer(key, at, context)

    # Timers in the store
    def _entry(self, store: PartitionStore, key: bytes, plain: Any) -> dict[str, Any]:
        entry = store.get(key, TIMERS)
        return entry or {"key": plain, "event": [], "processing": []}

    def _save(
        self, partition: int, store: PartitionStore, key: bytes, entry: dict[str, Any]
    ) -> None:
        index = self._index_of(partition, store)
        if entry["event"] or entry["processing"]:
            store.set(key, TIMERS, entry)
            index.set(key, _earliest(entry))
        else:
            store.delete(key, TIMERS)
            index.remove(key)

    def _index_of(self, partition: int, store: PartitionStore) -> DueTimers:
        known = self._index.get(partition)
        if known is not None and known.current(store):
            return known
        index = DueTimers(store)
        for key, entry in store.entries_named(TIMERS):
            if entry:
                index.set(key, _earliest(entry))
        self._index[partition] = index
        return index


class DueTimers(TimedCache):
    """One partition's keys with timers: key -> (earliest event timer, earliest processing
    timer), and a heap per domain, so the keys due are found without looking at the others.

    Heaps are lazy: a key's old times stay in them until they come to the top, where the
    times no longer its earliest are dropped. As a timed cache it writes the watermark at
    checkpoints and is discarded (then rebuilt) on an abort.
    """

    def __init__(self, store: PartitionStore) -> None:
        super().__init__(store)
        self.earliest: dict[bytes, tuple[int, int]] = {}
        self._heaps: tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]] = ([], [])

    def set(self, key: bytes, earliest: tuple[int, int]) -> None:
        if self.earliest.get(key) == earliest:
            return
        self.earliest[key] = earliest
        for heap, at in zip(self._heaps, earliest, strict=True):
            if at < MAX_TIME:
                heapq.heappush(heap, (at, key))

    def remove(self, key: bytes) -> None:
        self.earliest.pop(key, None)

    def any_due(self, watermark: int, now_ms: int) -> bool:
        return any(self._top(domain) <= limit for domain, limit in enumerate((watermark, now_ms)))

    def due(self, watermark: int, now_ms: int) -> list[bytes]:
        """The keys with an event timer at or below ``watermark`` or a processing timer at or
        below ``now_ms``, earliest first; they stay indexed until their timers change."""
        keys: dict[bytes, None] = {}
        for domain, limit in enumerate((watermark, now_ms)):
            heap, taken = self._heaps[domain], []
            while heap and heap[0][0] <= limit:
                at, key = heapq.heappop(heap)
                if self._is_current(domain, at, key) and key not in keys:
                    keys[key] = None
                    taken.append((at, key))
            for item in taken:  # still their earliest until fired: kept
                heapq.heappush(heap, item)
        return list(keys)

    def _top(self, domain: int) -> int:
        heap = self._heaps[domain]
        while heap and not self._is_current(domain, *heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else MAX_TIME

    def _is_current(self, domain: int, at: int, key: bytes) -> bool:
        earliest = self.earliest.get(key)
        return earliest is not None and earliest[domain] == at


class _TimerFailed(RuntimeError):
    def __init__(self, key: Any, at: int, domain: str, cause: Exception) -> None:
        super().__init__(
            f"on_timer failed for key {key!r}, {domain}-time timer {at}: "
            f"{type(cause).__name__}: {cause}"
        )
        self.__cause__ = cause


def _earliest(entry: dict[str, Any]) -> tuple[int, int]:
    return min(entry["event"], default=MAX_TIME), min(entry["processing"], default=MAX_TIME)


def _records(label: str, result: Any) -> list[dict[str, Any]]:
    """A function's result as output records: None is none, a dict one, a list of dicts many."""
    if result is None:
        return []
    items = result if isinstance(result, list | tuple) else [result]
    for item in items:
        if not isinstance(item, dict):
            raise TypeError(
                f"{label} must return None, a dict or a list of dicts, got "
                f"{type(item).__name__}: {item!r:.80}"
            )
    return list(items)
