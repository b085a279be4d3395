"""Running aggregates per key, vectorised: one Polars pass per batch, one state read and write
per key and batch.

For a batch: rows already applied before a crash are dropped (as in stateful row functions);
every row gets its key's cumulative partial values within the batch (``cum_sum`` and friends
over partition and key); each key's partials from earlier batches are read once per partition
store with ``get_many`` and merged in; each key's last partials are written once with
``set_many``. Every row is emitted with its group columns and its aggregates as of that row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.runtime.loop.batch import meta_columns
from headwater.runtime.operators.aggregators import running_aggregator
from headwater.runtime.operators.keyed import (
    KEY_COLUMN,
    PARTITION,
    KeyedOperator,
    keyed_frame,
    skip_applied,
)
from headwater.runtime.operators.steps import BatchContext, with_missing

if TYPE_CHECKING:
    from headwater.dataframe.aggregations import Aggregation
    from headwater.state.store import PartitionStore

# The store entry holding a key's partial values: {"<aggregate>.<field>": value}.
ENTRY = "agg"
_GROUP = [PARTITION, KEY_COLUMN]
_WORK, _PREVIOUS = "_hw_agg.", "_hw_prev."  # prefixes of the working columns of partials


class RunningAggregate(KeyedOperator):
    """``group_by(...).agg_running(**aggs)``: each record with its key's aggregates so far."""

    kind = "agg_running"

    def __init__(self, group_columns: list[str], aggs: dict[str, Aggregation], store: str):
        super().__init__(store)
        self.group_columns = group_columns
        self.aggs = aggs
        self._aggregators = {name: running_aggregator(agg) for name, agg in aggs.items()}
        self._fields = {
            name: {field: f"{_WORK}{name}.{field}" for field in agg.fields}
            for name, agg in self._aggregators.items()
        }

    def params(self) -> dict[str, Any]:
        return {
            "by": self.group_columns,
            "aggregations": {name: agg.describe() for name, agg in self.aggs.items()},
            "store": self.store,
        }

    @property
    def label(self) -> str:
        return "agg_running " + ", ".join(f"{n}={a.describe()}" for n, a in self.aggs.items())

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        frame = keyed_frame(frame, ctx, self.label)
        if frame.height == 0:
            return frame.select(meta_columns(frame))
        stores = self.partition_stores(frame, ctx)
        frame = skip_applied(frame, ctx, stores)
        if frame.height == 0:
            return frame.select(meta_columns(frame))
        added: list[str] = []
        read: list[str] = []
        for agg in self._aggregators.values():
            if agg.expr is not None:
                frame, missing = with_missing(frame, agg.expr)
                added += missing
                read += agg.expr.meta.root_names()
        # A column null in every record of the batch has type Null, which cum_min refuses.
        untyped = [c for c in dict.fromkeys(read) if frame.schema[c] == pl.Null]
        if untyped:
            frame = frame.with_columns(pl.col(untyped).cast(pl.Int64))
        current = [
            expr.over(_GROUP).alias(self._fields[name][field])
            for name, agg in self._aggregators.items()
            for field, expr in agg.batch().items()
        ]
        frame = frame.with_columns(current).drop(added)
        frame = frame.join(
            self._previous(frame, stores), on=_GROUP, how="left", maintain_order="left"
        )
        merged = [
            agg.merge(field, pl.col(_PREVIOUS + column), pl.col(column)).alias(column)
            for name, agg in self._aggregators.items()
            for field, column in self._fields[name].items()
        ]
        frame = frame.with_columns(merged)
        self._save(frame, stores)
        results = [
            agg.result({f: pl.col(c) for f, c in self._fields[name].items()}).alias(name)
            for name, agg in self._aggregators.items()
        ]
        groups = [
            pl.col(c) if c in frame.columns else pl.lit(None).alias(c) for c in self.group_columns
        ]
        return frame.select([*meta_columns(frame), *groups, *results])

    def _previous(self, frame: pl.DataFrame, stores: dict[int, PartitionStore]) -> pl.DataFrame:
        """Each (partition, key) of the batch with its partial values before the batch."""
        groups = frame.select(_GROUP).unique(maintain_order=True)
        columns = [c for fields in self._fields.values() for c in fields.values()]
        parts: list[pl.DataFrame] = []
        for (partition,), keyed in groups.group_by(PARTITION, maintain_order=True):
            keys = keyed[KEY_COLUMN].to_list()
            states = stores[int(partition)].get_many(keys, ENTRY)
            data: dict[str, Any] = {
                _PREVIOUS + c: pl.Series(
                    [s.get(c.removeprefix(_WORK)) if s else None for s in states], strict=False
                )
                for c in columns
            }
            parts.append(keyed.with_columns(**data))
        return pl.concat(parts, how="diagonal_relaxed")

    def _save(self, frame: pl.DataFrame, stores: dict[int, PartitionStore]) -> None:
        """Write each key's last partial values: one write per key and batch."""
        columns = [c for fields in self._fields.values() for c in fields.values()]
        last = frame.select([*_GROUP, *columns]).unique(_GROUP, keep="last", maintain_order=True)
        for (partition,), keyed in last.group_by(PARTITION, maintain_order=True):
            keys = keyed[KEY_COLUMN].to_list()
            states = keyed.select(pl.col(c).alias(c.removeprefix(_WORK)) for c in columns)
            stores[int(partition)].set_many(zip(keys, states.to_dicts(), strict=True), ENTRY)
