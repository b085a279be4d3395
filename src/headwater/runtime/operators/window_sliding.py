"""Sliding windows: a key's records are kept, its windows computed when they close.

As Kafka Streams' sliding windows, each record opens the window ``[ts - size, ts]``. A key's
entry holds its records and the ends of its windows still to close; a batch reads and writes
the entries of its keys (``get_many``, ``set_many``). An index in memory (key -> when its
earliest window is due, rebuilt from the store when the partition's cache is not current)
finds the keys due without scanning the store. Records are kept until no window can need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS
from headwater.runtime.operators.keyed import KEY_COLUMN, PARTITION, TimedCache
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.timed import Fired
from headwater.runtime.operators.window_base import (
    END,
    ENTRY,
    INPUT,
    START,
    WATERMARK,
    WindowAggregate,
    empty,
    stored_entries,
)
from headwater.runtime.time.watermark import MAX_TIME

if TYPE_CHECKING:
    from headwater.dataframe.aggregations import Aggregation
    from headwater.dataframe.windows import Window
    from headwater.state.store import PartitionStore

_P, _K = PARTITION, KEY_COLUMN


class DueKeys(TimedCache):
    """One partition's keys with sliding windows to close: key -> when its earliest window
    is due (compared with the watermark minus the allowed lateness), and the earliest."""

    def __init__(self, store: PartitionStore) -> None:
        super().__init__(store)
        self.due = {key: _due(entry) for key, entry in stored_entries(store)}
        self.earliest = min(self.due.values(), default=MAX_TIME)

    def set(self, key: Any, due: int) -> None:
        self.due[key] = due
        self.earliest = min(self.earliest, due)

    def remove(self, key: Any) -> None:
        self.due.pop(key, None)


class SlidingWindows(WindowAggregate):
    """Sliding windows: each key's records in its store entry until no window needs them."""

    def __init__(
        self,
        group_columns: list[str],
        window: Window,
        aggs: dict[str, Aggregation],
        store: str,
        emit: str,
        lateness_ms: int,
        early_every: float | None = None,
    ) -> None:
        super().__init__(group_columns, window, aggs, store, emit, lateness_ms, early_every)
        self._index: dict[int, DueKeys] = {}

    def _aggregate(
        self,
        frame: pl.DataFrame,
        original: list[str],
        ctx: BatchContext,
        stores: dict[int, PartitionStore],
    ) -> pl.DataFrame:
        frame = self._with_watermarks(frame, ctx, stores)  # indexes built before the writes
        late = pl.col(TS) + 1 + self.lateness <= pl.col(WATERMARK)
        on_time, late_rows = frame.filter(~late), frame.filter(late)
        if late_rows.height:
            self._late(late_rows.select(original), ctx)
        if on_time.height:
            self._add(on_time, stores)
        return empty(frame)

    def _cache_of(self, partition: int, store: PartitionStore) -> DueKeys:
        return self._index_of(partition, store)

    def _index_of(self, partition: int, store: PartitionStore) -> DueKeys:
        """The partition's index, rebuilt from the store when it is not current (closings
        an abort undid must happen again)."""
        known = self._index.get(partition)
        if known is not None and known.current(store):
            return known
        index = self._index[partition] = DueKeys(store)
        return index

    def _add(self, rows: pl.DataFrame, stores: dict[int, PartitionStore]) -> None:
        """Keep the rows' records in their keys' entries."""
        inputs = [c for c in rows.columns if c.startswith(INPUT)]
        for (partition,), part in rows.group_by(_P, maintain_order=True):
            store = stores[int(partition)]
            index = self._index_of(int(partition), store)
            grouped = part.group_by(_K, maintain_order=True).agg(
                pl.col(KEY).first(),
                *[pl.col(g).first() for g in self.group_columns],
                pl.struct([TS, *inputs]).alias("_hw_records"),
            )
            keys = grouped[_K].to_list()
            updates = []
            for row, entry in zip(
                grouped.iter_rows(named=True), store.get_many(keys, ENTRY), strict=True
            ):
                entry = entry or {
                    "key": row[KEY],
                    "groups": {g: row[g] for g in self.group_columns},
                    "records": [],
                    "ends": [],
                }
                new = row["_hw_records"]
                entry["records"] = sorted(
                    entry["records"] + [[r[TS], {c: r[c] for c in inputs}] for r in new],
                    key=lambda r: r[0],
                )
                entry["ends"] = sorted(set(entry["ends"]) | {r[TS] for r in new})
                updates.append((row[_K], entry))
                index.set(row[_K], _due(entry))
            store.set_many(updates, ENTRY)

    # Time
    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        limit = watermark - self.lateness
        known = self._index.get(partition)
        if (
            known is not None
            and known.current(known.store)
            and not known.moves(watermark)
            and known.earliest > limit
        ):
            return None  # the usual case: nothing to do, found without looking at the keys
        store = ctx.store(self.store, partition)
        index = self._index_of(partition, store)
        moved = index.advance(watermark)  # kept even when no window closes: see TimedCache
        due = [k for k, end in index.due.items() if end <= limit]
        if not due:
            return (pl.DataFrame(), []) if moved else None
        closed: list[dict[str, Any]] = []
        keep: list[tuple[Any, dict[str, Any]]] = []
        drop: list[Any] = []
        size = self.window.size
        for key, entry in zip(due, store.get_many(due, ENTRY), strict=True):
            if not entry:
                index.remove(key)
                continue
            ends, rest = _close_sliding(entry, limit, size)
            closed.extend(_sliding_rows(partition, key, entry, ends, size))
            if rest is None:
                drop.append(key)
                index.remove(key)
            else:
                keep.append((key, rest))
                index.due[key] = _due(rest)
        for key in drop:
            store.delete(key, ENTRY)
        store.set_many(keep, ENTRY)
        index.earliest = min(index.due.values(), default=MAX_TIME)
        frame = pl.DataFrame(closed, infer_schema_length=None, strict=False)
        if closed:
            frame = self._finish(
                frame.group_by([_P, _K, START, END], maintain_order=True).agg(self._partial_exprs())
            )
        return self._closed(index, watermark, frame)

    def forget(self, partition: int) -> None:
        self._index.pop(partition, None)


def _due(entry: dict[str, Any]) -> int:
    """When the entry's earliest window may close (compared with watermark - lateness)."""
    return min(entry["ends"]) + 1 if entry["ends"] else MAX_TIME


def _close_sliding(
    entry: dict[str, Any], limit: int, size: int
) -> tuple[list[int], dict[str, Any] | None]:
    """The window ends that closed, and the entry left: records older than any window still
    to come are purged (a new window ends at or after the watermark minus the lateness)."""
    done = [e for e in entry["ends"] if e + 1 <= limit]
    ends = [e for e in entry["ends"] if e + 1 > limit]
    horizon = min([*ends, limit]) - size
    records = [r for r in entry["records"] if r[0] >= horizon]
    if not ends and not records:
        return done, None
    return done, {**entry, "ends": ends, "records": records}


def _sliding_rows(
    partition: int, key: Any, entry: dict[str, Any], ends: list[int], size: int
) -> list[dict[str, Any]]:
    """One row per (closed window, record in it), to aggregate like a batch."""
    rows = []
    groups = entry.get("groups") or {}
    for end in ends:
        for ts, values in entry["records"]:
            if end - size <= ts <= end:
                rows.append(
                    {
                        _P: partition,
                        _K: key,
                        KEY: entry.get("key"),
                        **groups,
                        START: end - size,
                        END: end,
                        TS: ts,
                        ROW: None,
                        **values,
                    }
                )
    return rows
