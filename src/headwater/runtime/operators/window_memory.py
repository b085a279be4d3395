"""Tumbling, hopping and session windows: a partition's open windows in memory.

The partition's open windows are one Polars frame
(:class:`~headwater.runtime.operators.open_windows.OpenWindows`), written behind to the store at
checkpoints. A batch's rows are assigned to their windows (a hopping window's record to every
window covering it; a session's records closer than the gap to one window), the batch's
partials are merged into the keys' open windows (sessions that now overlap merge), and the
windows close with one filter on their ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.dataframe.windows import WindowKind
from headwater.runtime.loop.batch import KEY, TS
from headwater.runtime.operators.keyed import KEY_COLUMN, PARTITION
from headwater.runtime.operators.open_windows import OpenWindows
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.timed import Fired
from headwater.runtime.operators.window_base import (
    COUNT,
    END,
    ENTRY,
    LASTROW,
    MAXTS,
    RECORD,
    SEQ,
    SESSION,
    START,
    WATERMARK,
    WindowAggregate,
    empty,
    stored_entries,
    window_rows,
)

if TYPE_CHECKING:
    from headwater.dataframe.aggregations import Aggregation
    from headwater.dataframe.windows import Window
    from headwater.state.store import PartitionStore

_P, _K = PARTITION, KEY_COLUMN


class InMemoryWindows(WindowAggregate):
    """Tumbling, hopping and session windows, kept in memory per partition."""

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
        self._open: dict[int, OpenWindows] = {}
        self._opened = 0  # windows opened in memory so far: numbers them in order
        # Partition -> keys whose windows changed since the last early results.
        self._changed: dict[int, set[Any]] = {}

    def _aggregate(
        self,
        frame: pl.DataFrame,
        original: list[str],
        ctx: BatchContext,
        stores: dict[int, PartitionStore],
    ) -> pl.DataFrame:
        on_time, late_rows = self._assign(self._with_watermarks(frame, ctx, stores))
        if late_rows.height:
            self._late(late_rows.select(original), ctx)
        if on_time.height == 0:
            return empty(frame)
        merged = self._merge(self._partials(on_time), stores)
        self._save(merged, stores)
        if self.emit != "update":
            return empty(frame)
        touched = merged.filter(pl.col(LASTROW).is_not_null())
        return self._reported(self._results(touched), ctx)

    def _cache_of(self, partition: int, store: PartitionStore) -> OpenWindows:
        return self._open_of(partition, store)

    def _assign(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Rows per (record, window) of the windows still open, and the late records."""
        window, ts = self.window, pl.col(TS)
        frame = frame.with_columns(pl.int_range(pl.len()).alias(RECORD))
        if window.kind is WindowKind.SESSION:
            start, end = ts, ts + window.gap
        elif window.kind is WindowKind.TUMBLING:
            start = (ts // window.size) * window.size
            end = start + window.size
        else:  # hopping: every window starting at a multiple of step that covers ts
            base = (ts // window.step) * window.step
            count = -(-window.size // window.step)
            start = pl.concat_list([base - i * window.step for i in range(count)])
            end = None
        pairs = frame.with_columns(start.alias(START))
        if end is None:
            pairs = pairs.explode(START).with_columns((pl.col(START) + window.size).alias(END))
            pairs = pairs.filter(pl.col(END) > ts)
        else:
            pairs = pairs.with_columns(end.alias(END))
        open_ = pl.col(END) + self.lateness > pl.col(WATERMARK)
        kept = pairs.filter(open_)
        late = frame.filter(~pl.col(RECORD).is_in(kept[RECORD].unique().implode()))
        return kept, late

    def _partials(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """The batch's partial values per partition, key and window."""
        if self.window.kind is WindowKind.SESSION:
            gap = self.window.gap
            pairs = pairs.sort([_P, _K, TS], maintain_order=True)
            # Flink's and Kafka Streams' rule: records at most the gap apart share a session.
            new = (pl.col(TS) - pl.col(TS).shift(1)).over([_P, _K]) > gap
            pairs = pairs.with_columns(new.fill_null(True).cum_sum().over([_P, _K]).alias(SESSION))
            out = pairs.group_by([_P, _K, SESSION], maintain_order=True).agg(
                pl.col(TS).min().alias(START),
                (pl.col(TS).max() + gap).alias(END),
                *self._partial_exprs(),
            )
            return self._finish(out.drop(SESSION))
        grouped = pairs.group_by([_P, _K, START, END], maintain_order=True)
        return self._finish(grouped.agg(self._partial_exprs()))

    def _merge(self, batch: pl.DataFrame, stores: dict[int, PartitionStore]) -> pl.DataFrame:
        """Every open window of the batch's keys, the batch's partials merged in."""
        ident = batch.group_by([_P, _K], maintain_order=True).agg(
            pl.col(KEY).first(), *[pl.col(g).first() for g in self.group_columns]
        )
        columns = [_P, _K, START, END, LASTROW, MAXTS, COUNT, *self._field_columns()]
        previous = self._stored_windows(ident, stores)
        rows = batch.select(columns)
        if previous.height:
            rows = pl.concat([previous, rows], how="diagonal_relaxed")
        if SEQ not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.Int64).alias(SEQ))
        opened = [pl.col(SEQ).min()]  # a window keeps its place; new ones get theirs on save
        if self.window.kind is WindowKind.SESSION:
            rows = rows.sort([_P, _K, START], maintain_order=True)
            reach = pl.col(END).cum_max().shift(1).over([_P, _K])
            # Windows that touch ([a, b) and [b, c)) merge, as in Flink.
            new = (pl.col(START) > reach).fill_null(True).cum_sum().over([_P, _K])
            merged = (
                rows.with_columns(new.alias(SESSION))
                .group_by([_P, _K, SESSION], maintain_order=True)
                .agg(pl.col(START).min(), pl.col(END).max(), *self._combine_exprs(), *opened)
                .drop(SESSION)
            )
        else:
            merged = rows.group_by([_P, _K, START, END], maintain_order=True).agg(
                *self._combine_exprs(), *opened
            )
        return self._finish(merged).join(ident, on=[_P, _K], how="left", maintain_order="left")

    def _stored_windows(
        self, ident: pl.DataFrame, stores: dict[int, PartitionStore]
    ) -> pl.DataFrame:
        """The open windows of the batch's keys before the batch."""
        parts = []
        for (partition,), keyed in ident.group_by(_P, maintain_order=True):
            rows = self._open_of(int(partition), stores[int(partition)]).rows_of(keyed[_K])
            if rows.height:
                parts.append(rows)
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def _save(self, merged: pl.DataFrame, stores: dict[int, PartitionStore]) -> None:
        """The batch's keys' open windows replace theirs in memory."""
        opened = pl.col(SEQ).is_null()
        numbers = self._opened + opened.cum_sum() - 1
        count = int(merged[SEQ].null_count())
        merged = merged.with_columns(
            pl.lit(None, dtype=pl.Int64).alias(LASTROW),
            pl.when(opened).then(numbers).otherwise(pl.col(SEQ)).alias(SEQ),
        )
        self._opened += count
        for (partition,), windows in merged.group_by(_P, maintain_order=True):
            p = int(partition)
            open_ = self._open_of(p, stores[p])
            keys = windows[_K].unique(maintain_order=True)
            rest = open_.without(keys)
            frame = pl.concat([rest, windows], how="diagonal_relaxed") if rest.height else windows
            open_.replace(frame, keys)
            if self.early_every is not None:
                self._changed.setdefault(p, set()).update(keys.to_list())

    def _open_of(self, partition: int, store: PartitionStore) -> OpenWindows:
        """The partition's open windows in memory, built from its store when the partition is
        new to this instance, its store was reopened, or its changes were aborted."""
        known = self._open.get(partition)
        if known is not None and known.current(store):
            return known
        rows = [
            row
            for key, entry in stored_entries(store)
            for row in window_rows(partition, key, entry)
        ]
        frame = pl.DataFrame()
        if rows:
            frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
            frame = frame.with_columns((self._opened + pl.int_range(pl.len())).alias(SEQ))
            self._opened += frame.height
        open_ = OpenWindows(
            store,
            frame,
            ENTRY,
            lambda windows: self._entries(windows, {}).get(partition, {}),
            _K,
            END,
        )
        self._open[partition] = open_
        return open_

    # Time
    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        limit = watermark - self.lateness
        known = self._open.get(partition)
        if (
            known is not None
            and known.current(known.store)
            and not known.moves(watermark)
            and known.earliest > limit
        ):
            return None  # the usual case: nothing to do, found without looking at windows
        store = ctx.store(self.store, partition)  # before any change: the savepoint
        open_ = self._open_of(partition, store)
        moved = open_.advance(watermark)  # kept even when no window closes: see TimedCache
        if open_.frame.height == 0 or open_.earliest > limit:
            return (pl.DataFrame(), []) if moved else None
        due = pl.col(END) <= limit
        closed = open_.frame.filter(due)
        open_.replace(open_.frame.filter(~due), closed[_K].unique(maintain_order=True))
        return self._closed(open_, watermark, closed)

    def early(self, partition: int, ctx: BatchContext) -> Fired | None:
        keys = list(self._changed.pop(partition, ()))
        if not keys:
            return None
        store = ctx.store(self.store, partition)
        frame = self._open_of(partition, store).rows_of(pl.Series(keys))
        if frame.height == 0:
            return None
        frame = frame.sort(END, maintain_order=True).with_columns(
            pl.int_range(pl.len()).alias(LASTROW)
        )
        return self._results(frame)

    def forget(self, partition: int) -> None:
        self._changed.pop(partition, None)
        self._open.pop(partition, None)
