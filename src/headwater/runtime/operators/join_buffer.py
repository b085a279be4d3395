"""The rows one input of a join keeps per partition: in memory as one Polars frame, in the
store as one entry per row.

A row is kept under its input offset (unique in its partition, so a record read again after a
crash overwrites its own entry) with its join key, key, event time and values (``row``), and
``matched`` once a row of the other input met it (a left join sends the rows never met when
they expire). The frame is rebuilt from the store when the store was reopened or its changes
discarded (the :class:`~headwater.runtime.operators.keyed.PartitionCache` rule); it is
snapshotted with the store, so a batch rolled back rolls it back too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from headwater.runtime.loop.batch import KEY, TS
from headwater.runtime.operators.keyed import TimedCache

if TYPE_CHECKING:
    from headwater.state.store import PartitionStore

ROW_ID = "_hw_join_id"  # the row's input offset
JOIN_KEY = "_hw_join_key"  # the key rows are matched on (text or a number)
MATCHED = "_hw_join_matched"
ROW_ENTRY, MATCHED_ENTRY = "row", "matched"
_KEPT = (ROW_ID, JOIN_KEY, KEY, TS, MATCHED)


class JoinBuffer(TimedCache):
    """One input's kept rows of one partition, and the watermark the join last acted at."""

    def __init__(self, store: PartitionStore) -> None:
        super().__init__(store)
        self.rows = _load(store)

    def add(self, rows: pl.DataFrame) -> None:
        """Keep ``rows`` (columns ``ROW_ID``, ``JOIN_KEY``, ``KEY``, ``TS``, ``MATCHED`` and
        values)."""
        if rows.height == 0:
            return
        values = [c for c in rows.columns if c not in _KEPT]
        entries = rows.select(
            ROW_ID,
            pl.struct(
                pl.col(JOIN_KEY).alias("j"),
                pl.col(KEY).alias("k"),
                pl.col(TS).alias("t"),
                (pl.struct(values) if values else pl.lit(None)).alias("v"),
            ).alias("row"),
        )
        self.store.set_many(entries.iter_rows(), ROW_ENTRY)
        matched = rows.filter(pl.col(MATCHED))[ROW_ID].to_list()
        self.store.set_many(((i, True) for i in matched), MATCHED_ENTRY)
        self.rows = pl.concat([self.rows, rows], how="diagonal_relaxed")

    def mark(self, ids: pl.Series) -> None:
        """The rows ``ids`` met a row of the other input."""
        fresh = self.rows.filter(pl.col(ROW_ID).is_in(ids.implode()) & ~pl.col(MATCHED))
        if fresh.height == 0:
            return
        self.store.set_many(((i, True) for i in fresh[ROW_ID].to_list()), MATCHED_ENTRY)
        self.rows = self.rows.with_columns(
            (pl.col(MATCHED) | pl.col(ROW_ID).is_in(fresh[ROW_ID].implode())).alias(MATCHED)
        )

    def drop(self, expired: pl.Expr) -> pl.DataFrame:
        """Forget the rows where ``expired`` holds; returns them."""
        gone = self.rows.filter(expired)
        for row_id in gone[ROW_ID].to_list():
            self.store.delete(row_id, ROW_ENTRY)
            self.store.delete(row_id, MATCHED_ENTRY)
        if gone.height:
            self.rows = self.rows.filter(~expired)
        return gone

    # WriteBehind: the rows are written as they change; the frame follows the store's rollbacks.
    def snapshot(self) -> object:
        return (self.watermark, self.rows)

    def restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, tuple)
        self.watermark, self.rows = snapshot


def _load(store: PartitionStore) -> pl.DataFrame:
    """The rows the store keeps (none for a new partition)."""
    matched = {int(k) for k, _ in store.entries_named(MATCHED_ENTRY)}
    records = []
    for key, row in store.entries_named(ROW_ENTRY):
        row_id = int(key)
        records.append(
            {
                ROW_ID: row_id,
                JOIN_KEY: row["j"],
                KEY: row["k"],
                TS: row["t"],
                MATCHED: row_id in matched,
                **(row["v"] or {}),
            }
        )
    if not records:
        return pl.DataFrame(
            schema={
                ROW_ID: pl.Int64,
                JOIN_KEY: pl.Null,
                KEY: pl.Null,
                TS: pl.Int64,
                MATCHED: pl.Boolean,
            }
        )
    return pl.from_dicts(records, infer_schema_length=None)
