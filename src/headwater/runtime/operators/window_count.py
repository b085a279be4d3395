"""Count windows: every ``size`` records of a key (starting every ``step``), closed by their
records, not by time.

A key's entry holds its open windows and how many records it has seen; a batch reads and
writes the entries of its keys (``get_many``, ``set_many``). A window is emitted when it holds
``size`` records (or after every batch that changed it, with ``emit="update"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.runtime.loop.batch import KEY
from headwater.runtime.operators.keyed import KEY_COLUMN, PARTITION
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.timed import Fired
from headwater.runtime.operators.window_base import (
    COUNT,
    END,
    ENTRY,
    LASTROW,
    MAXTS,
    START,
    WindowAggregate,
    window_rows,
)

if TYPE_CHECKING:
    from headwater.state.store import PartitionStore

_P, _K = PARTITION, KEY_COLUMN


class CountWindows(WindowAggregate):
    """Tumbling and hopping count windows, in their keys' store entries."""

    timed = False  # closed by records: never fired as time advances

    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        return None

    def forget(self, partition: int) -> None:
        """Nothing is kept in memory."""

    def _aggregate(
        self,
        frame: pl.DataFrame,
        original: list[str],
        ctx: BatchContext,
        stores: dict[int, PartitionStore],
    ) -> pl.DataFrame:
        ident = frame.group_by([_P, _K], maintain_order=True).agg(
            pl.col(KEY).first(), *[pl.col(g).first() for g in self.group_columns]
        )
        seen: dict[tuple[int, Any], int] = {}
        previous: list[dict[str, Any]] = []
        for (partition,), keyed in ident.group_by(_P, maintain_order=True):
            keys = keyed[_K].to_list()
            for key, entry in zip(keys, stores[int(partition)].get_many(keys, ENTRY), strict=True):
                if entry:
                    seen[(int(partition), key)] = entry["seen"]
                    previous.extend(window_rows(int(partition), key, entry))
        offset = pl.Series(
            [seen.get((p, k), 0) for p, k in frame.select(_P, _K).iter_rows()], dtype=pl.Int64
        )
        index = offset + frame.select(pl.int_range(pl.len()).over([_P, _K])).to_series()
        frame = frame.with_columns(index.alias("_hw_win_i"))
        size, step, i = self.window.size, self.window.step or self.window.size, pl.col("_hw_win_i")
        base = (i // step) * step
        starts = pl.concat_list([base - n * step for n in range(-(-size // step))])
        pairs = (
            frame.with_columns(starts.alias(START))
            .explode(START)
            .filter((pl.col(START) >= 0) & (pl.col(START) + size > i))
            .with_columns((pl.col(START) + size).alias(END))
        )
        batch = self._finish(
            pairs.group_by([_P, _K, START, END], maintain_order=True).agg(self._partial_exprs())
        )
        columns = [_P, _K, START, END, LASTROW, MAXTS, COUNT, *self._field_columns()]
        rows = batch.select(columns)
        if previous:
            stored = pl.DataFrame(previous, infer_schema_length=None, strict=False)
            stored = stored.with_columns(pl.col(_K).cast(ident.schema[_K]))
            rows = pl.concat([stored, rows], how="diagonal_relaxed")
        merged = self._finish(
            rows.group_by([_P, _K, START, END], maintain_order=True).agg(self._combine_exprs())
        ).join(ident, on=[_P, _K], how="left", maintain_order="left")
        full = pl.col(COUNT) >= size
        # Every key of the batch gets its entry: open windows and the records seen so far.
        entries: dict[int, dict[Any, dict[str, Any]]] = {}
        counts = frame.group_by([_P, _K], maintain_order=True).agg(
            pl.col(KEY).first(),
            *[pl.col(g).first() for g in self.group_columns],
            (pl.col("_hw_win_i").max() + 1).alias("_hw_win_seen"),
        )
        for row in counts.iter_rows(named=True):
            entries.setdefault(row[_P], {})[row[_K]] = {
                "key": row[KEY],
                "groups": {g: row[g] for g in self.group_columns},
                "windows": [],
                "seen": row["_hw_win_seen"],
            }
        for partition, by_key in self._entries(merged.filter(~full), entries).items():
            stores[partition].set_many(by_key.items(), ENTRY)
        emitted = merged if self.emit == "update" else merged.filter(full)
        emitted = emitted.filter(pl.col(LASTROW).is_not_null())
        return self._reported(self._results(emitted), ctx)
