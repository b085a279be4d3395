"""Keyed process functions with timers: ``group_by(...).process(fn, on_timer=...)``.

``fn(value, ctx)`` runs per record with the key's state (``ctx.state``) and timer service
(``ctx.timers``). Timers are kept per key in the partition's store (entry ``__timers``), so they
survive restarts and move with the partition. The executor calls :meth:`KeyedProcess.fire`
after every batch and on the runner's tick, like windows: event-time timers at or below the
watermark fire, processing-time ones at or below the wall clock; each fired timer is deleted and
``on_timer(key, timestamp, ctx)``'s results go downstream. An in-memory index (key -> earliest
timer, rebuilt from the store when the store is new or its changes were aborted) finds the due
keys without scanning the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.errors import ConfigError
from headwater.runtime.aggregate import _KEY, _PARTITION, keyed_frame, skip_applied
from headwater.runtime.batch import KEY, ROW, TS, meta_columns, value_rows, with_values
from headwater.runtime.operators import BatchContext, Operator, describe_callable
from headwater.runtime.watermark import MAX_TIME
from headwater.serde.frames import frame_from_rows
from headwater.state.encoding import encode_key, split_entry_key

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


class KeyedProcess(Operator):
    """``group_by(...).process(fn, on_timer=...)``: a function per record with keyed state
    and timers."""

    kind = "process"
    timed = True  # fired as time advances
    early_every = None

    def __init__(
        self, fn: Callable[..., Any], on_timer: Callable[..., Any] | None, store: str
    ) -> None:
        for name, f in (("fn", fn), ("on_timer", on_timer)):
            if f is not None and not callable(f):
                raise ConfigError(f"process({name}=...) needs a function, got {type(f).__name__}")
        self.fn = fn
        self.on_timer = on_timer
        self.store = store
        self.stores = (store,)
        # Partition -> (its store, the store's aborts then, state key -> earliest timer due
        # with the wall clock then: the smaller of its event and processing timers).
        self._index: dict[int, tuple[PartitionStore, int, dict[bytes, tuple[int, int]]]] = {}

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
        stores = {p: ctx.store(self.store, p) for p in frame[_PARTITION].unique().to_list()}
        frame = skip_applied(frame, ctx, stores)
        for p, store in stores.items():
            self._index_of(p, store)  # built before this batch's writes
        rows, stamps = frame[ROW].to_list(), frame[TS].to_list()
        keys = [encode_key(k) for k in frame[_KEY].to_list()]
        plain, parts = frame[KEY].to_list(), frame[_PARTITION].to_list()
        out: list[dict[str, Any]] = []
        keep: list[int] = []
        values = value_rows(frame.drop([_PARTITION, _KEY]))
        for i, value in enumerate(values):
            store, key = stores[parts[i]], keys[i]
            entry = self._entry(store, key, plain[i])
            timers = Timers(entry)
            context = ProcessContext(
                plain[i], store.state(key, stamps[i]), timers, stamps[i], ctx.watermark(parts[i])
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
    def early_due(self, now: float) -> bool:
        return False

    def forget(self, partition: int) -> None:
        self._index.pop(partition, None)

    def fire(
        self, partition: int, watermark: int, ctx: BatchContext
    ) -> tuple[pl.DataFrame, list[tuple[int, Exception]]] | None:
        """Fire the partition's due timers; returns on_timer's results and the timers that
        failed (by position, as rows of their own), or None when no timer was due."""
        now_ms = int(time.time() * 1000)
        known = self._index.get(partition)
        fresh = known is not None and known[0].aborts == known[1] and not known[0].closed
        if (
            fresh
            and known is not None
            and not any(e <= watermark or p <= now_ms for e, p in known[2].values())
        ):
            return None  # the usual case: nothing due
        store = ctx.store(self.store, partition)
        index = self._index_of(partition, store)
        due = [k for k, (e, p) in index.items() if e <= watermark or p <= now_ms]
        if not due:
            return None
        rows: list[dict[str, Any]] = []
        keys: list[Any] = []
        stamps: list[int] = []
        failures: list[tuple[int, Exception]] = []
        for key in due:
            entry = store.get(key, TIMERS)
            if not entry:
                index.pop(key, None)
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
            index[key] = _earliest(entry)
        else:
            store.delete(key, TIMERS)
            index.pop(key, None)

    def _index_of(self, partition: int, store: PartitionStore) -> dict[bytes, tuple[int, int]]:
        known = self._index.get(partition)
        if known is not None and known[0] is store and known[1] == store.aborts:
            return known[2]
        index: dict[bytes, tuple[int, int]] = {}
        for raw, _ in store.raw_items():
            try:
                key, name = split_entry_key(raw)
            except Exception:  # the checkpoint marker and other non-entry keys
                continue
            if name == TIMERS:
                entry = store.get(key, TIMERS)
                if entry:
                    index[key] = _earliest(entry)
        self._index[partition] = (store, store.aborts, index)
        return index


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
