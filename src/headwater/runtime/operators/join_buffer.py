"""The rows one input of a join keeps per partition: in memory as one Polars frame, in the
store as one entry per row, written at each checkpoint (write-behind).

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
from headwater.state.encoding import encode_key, entry_key, plain_value

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

    from headwater.state.store import PartitionStore

ROW_ID = "_hw_join_id"  # the row's input offset
JOIN_KEY = "_hw_join_key"  # the key rows are matched on (text or a number)
MATCHED = "_hw_join_matched"
ROW_ENTRY, MATCHED_ENTRY = "row", "matched"
_KEPT = (ROW_ID, JOIN_KEY, KEY, TS, MATCHED)


class JoinBuffer(TimedCache):
    """One input's kept rows of one partition, and the watermark the join last acted at.

    Write-behind: rows are added, marked and dropped in memory; a checkpoint writes only the
    difference to what the store holds (``_stored``). Most rows of a join live for less than a
    checkpoint (a left row of an as-of join is matched within a batch or two), so they never
    reach the store nor its changelog.
    """

    def __init__(self, store: PartitionStore) -> None:
        super().__init__(store)
        self.rows = _load(store)
        # What the store holds: each stored row's id and whether it is marked matched there.
        self._stored = self.rows.select(ROW_ID, MATCHED)
        self._changed = False  # whether rows changed since the store was last written

    def add(self, rows: pl.DataFrame) -> None:
        """Keep ``rows`` (columns ``ROW_ID``, ``JOIN_KEY``, ``KEY``, ``TS``, ``MATCHED`` and
        values)."""
        if rows.height == 0:
            return
        self.rows = pl.concat([self.rows, rows], how="diagonal_relaxed")
        self._changed = True

    def mark(self, ids: pl.Series) -> None:
        """The rows ``ids`` met a row of the other input."""
        fresh = pl.col(ROW_ID).is_in(ids.implode()) & ~pl.col(MATCHED)
        if not self.rows.select(fresh.any()).item():
            return
        self.rows = self.rows.with_columns((pl.col(MATCHED) | fresh).alias(MATCHED))
        self._changed = True

    def drop(self, expired: pl.Expr) -> pl.DataFrame:
        """Forget the rows where ``expired`` holds; returns them."""
        gone = self.rows.filter(expired)
        if gone.height:
            self.rows = self.rows.filter(~expired)
            self._changed = True
        return gone

    # WriteBehind: the store gets the rows kept now; the frame follows the store's rollbacks.
    def flush(self, store: PartitionStore) -> None:
        super().flush(store)
        if not self._changed:
            return
        kept = self.rows.select(ROW_ID, MATCHED)
        stored = self._stored
        _write_rows(store, self.rows.join(stored.select(ROW_ID), on=ROW_ID, how="anti"))
        both = kept.join(stored, on=ROW_ID, how="inner", suffix="_stored")
        marked = both.filter(pl.col(MATCHED) & ~pl.col(f"{MATCHED}_stored"))[ROW_ID]
        store.set_many(((i, True) for i in marked.to_list()), MATCHED_ENTRY)
        gone = stored.join(kept, on=ROW_ID, how="anti")
        for row_id, matched in gone.iter_rows():
            store.delete(row_id, ROW_ENTRY)
            if matched:
                store.delete(row_id, MATCHED_ENTRY)
        self._stored = kept
        self._changed = False

    def snapshot(self) -> object:
        return (self.watermark, self.rows, self._stored, self._changed)

    def restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, tuple)
        self.watermark, self.rows, self._stored, self._changed = snapshot


def _write_rows(store: PartitionStore, rows: pl.DataFrame) -> None:
    """Write ``rows`` as entries: each under its id, and its mark when it has one."""
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
    if _json_native(entries.schema["row"]):
        # One JSON writer in Rust for all rows: the same JSON orjson writes for these types.
        ids = entries[ROW_ID].to_list()
        texts = entries["row"].struct.json_encode().cast(pl.Binary).to_list()
        store.write_entries(
            (entry_key(encode_key(i), ROW_ENTRY), plain_value(text))
            for i, text in zip(ids, texts, strict=True)
        )
    else:
        store.set_many(entries.iter_rows(), ROW_ENTRY)
    matched = rows.filter(pl.col(MATCHED))[ROW_ID].to_list()
    store.set_many(((i, True) for i in matched), MATCHED_ENTRY)


_JSON_SCALARS = (pl.String, pl.Boolean, pl.Null, pl.Float64)


def _json_native(dtype: PolarsDataType) -> bool:
    """Whether Polars writes values of ``dtype`` as JSON exactly as orjson writes them as
    Python values (text, numbers, booleans, nulls, and structs and lists of them)."""
    if isinstance(dtype, pl.Struct):
        return all(_json_native(f.dtype) for f in dtype.fields)
    if isinstance(dtype, pl.List):
        return _json_native(dtype.inner)
    return dtype.is_integer() or isinstance(dtype, _JSON_SCALARS)


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
