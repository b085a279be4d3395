"""The co-partitioned table and the stream-table join that reads it (Kafka Streams' KTable).

The table is a compacted topic with as many partitions as the stream, keyed alike: partition
``i`` of the table holds the keys of partition ``i`` of the stream, so each replica keeps only
the partitions it is assigned. Its rows live in a store kept per partition of the table's topic
(``<name>-table``), restored and checkpointed like every store; the table's records arrive on
the right port: a record sets its key's row, a tombstone (a record with no value) deletes it,
the last record of a key in a batch winning. Records of the stream arrive on the left port and
meet the table as it stands when they are processed (processing-time semantics): per partition
the rows of the batch's distinct keys are read at once and joined in one Polars join that keeps
the records' order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.errors import ConfigError
from headwater.runtime.loop.batch import KEY, ROW, TS, value_columns
from headwater.runtime.operators.keyed import (
    KEY_COLUMN,
    PARTITION,
    PLAIN_KEYS,
    keyed_frame,
    skip_applied,
)
from headwater.runtime.operators.lookup import JoinHow, attach_rows
from headwater.runtime.operators.steps import BatchContext, state_key
from headwater.runtime.operators.two_input import LEFT, RIGHT, TwoInputOperator
from headwater.state.encoding import encode_key

if TYPE_CHECKING:
    from headwater.state.store import PartitionStore

ROW_ENTRY = "row"  # the entry a key's row is kept under
_ON = "_hw_table_key"  # each stream record's table key, as the store keeps it


class CoPartitionedTableJoin(TwoInputOperator):
    """``sdf.join_table(app.table(topic), on=...)``: each record with its key's current row."""

    kind = "join_table"
    time_ports: tuple[int, ...] | None = (LEFT,)  # time below the join is the stream's alone

    def __init__(
        self,
        table: str,
        store: str,
        on: str | None,
        fields: list[str] | None,
        prefix: str,
        how: JoinHow,
    ) -> None:
        super().__init__((store, store))
        self.stores = (store,)
        self.table = table
        self.on = on
        self.fields = fields
        self.prefix = prefix
        self.how = how

    def params(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "on": self.on,
            "how": self.how,
            "stores": list(self.stores),
            "inputs": list(self.inputs),
        }

    @property
    def label(self) -> str:
        return f"join_table({self.table} by {self.on or 'key'})"

    def store_of(self, topic: str) -> str | None:
        return self.port_stores[RIGHT] if topic == self.inputs[RIGHT] else None

    def process_port(self, port: int, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        if port == RIGHT:
            self._update(frame, ctx)
            return frame.select(KEY, TS, ROW).clear()
        return self._join(frame, ctx)

    def _table(self, partition: int, ctx: BatchContext) -> PartitionStore:
        store: PartitionStore = self.port_store(RIGHT, partition, ctx)
        return store

    # The table's records: rows set and deleted in log order
    def _update(self, frame: pl.DataFrame, ctx: BatchContext) -> None:
        frame = keyed_frame(frame, ctx, self.label)
        if frame.height == 0:
            return
        stores = {p: self._table(p, ctx) for p in frame[PARTITION].unique().to_list()}
        frame = skip_applied(frame, ctx, stores)
        values = value_columns(frame.drop(PARTITION, KEY_COLUMN))
        raw = ctx.source.raw_values
        tombstone = pl.Series([raw[r] is None for r in frame[ROW].to_list()], dtype=pl.Boolean)
        latest = (
            frame.with_columns(tombstone.alias("_hw_tombstone"))
            .unique([PARTITION, KEY_COLUMN], keep="last", maintain_order=True)
            .select(
                PARTITION,
                KEY_COLUMN,
                "_hw_tombstone",
                (pl.struct(values) if values else pl.lit(None)).alias("_hw_row"),
            )
        )
        for (partition,), rows in latest.partition_by(PARTITION, as_dict=True).items():
            store = stores[int(partition)]
            deleted = rows.filter(pl.col("_hw_tombstone"))
            for key in deleted[KEY_COLUMN].to_list():
                store.delete(key, ROW_ENTRY)
            kept = rows.filter(~pl.col("_hw_tombstone"))
            store.set_many(kept.select(KEY_COLUMN, "_hw_row").iter_rows(), ROW_ENTRY)

    # The stream's records: each meets its key's row as the table stands now
    def _join(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        if self.on is not None and self.on not in frame.columns:
            raise ConfigError(f"{self.label}: the records have no column {self.on!r}")
        keys = frame[self.on] if self.on is not None else frame[KEY]
        if keys.dtype not in PLAIN_KEYS and keys.dtype != pl.Null:
            keys = pl.Series([None if k is None else encode_key(state_key(k)) for k in keys])
        partitions = pl.Series(ctx.source.partitions, dtype=pl.Int64).gather(frame[ROW])
        frame = frame.with_columns(keys.alias(_ON))
        wanted = (
            pl.DataFrame({PARTITION: partitions, _ON: keys})
            .drop_nulls()
            .unique(maintain_order=True)
        )
        found: list[dict[str, Any]] = []
        for (partition,), group in wanted.partition_by(PARTITION, as_dict=True).items():
            asked = group[_ON].to_list()
            rows = self._table(int(partition), ctx).get_many(asked, ROW_ENTRY)
            found += [
                {**row, _ON: k} for k, row in zip(asked, rows, strict=True) if row is not None
            ]
        if found:
            table = pl.from_dicts(found, infer_schema_length=None).with_columns(
                pl.col(_ON).cast(keys.dtype, strict=False)
            )
            table = table.unique(_ON, keep="first", maintain_order=True)
        else:
            table = pl.DataFrame({_ON: pl.Series([], dtype=keys.dtype)})
        joined = attach_rows(frame, table, _ON, self.fields, self.prefix, self.how, self.label)
        return joined.drop(_ON)
