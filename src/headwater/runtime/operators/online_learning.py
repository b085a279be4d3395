"""``sdf.learn(...)``: online learning as a keyed step, its models kept in a state store.

For a batch: rows already applied before a crash are dropped (as in every keyed operator);
the models of the batch's keys are read once per partition store; every row, in order, is
scored by its key's model as it stands and then taught its target; each model is written
back once per batch. The store commits the models with the input offsets (a checkpoint under
at-least-once, the transaction under exactly-once), so a restart replays from the committed
models and neither loses nor repeats a learning step.

With ``per_key=False`` every record of an input partition goes through one model (the
partition's), which is one global model for a one-partition input.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from headwater.models.online import LearnerState, OnlineLearner
from headwater.runtime.loop.batch import ROW, values_of
from headwater.runtime.operators.keyed import (
    KEY_COLUMN,
    PARTITION,
    KeyedOperator,
    keyed_frame,
    skip_applied,
)
from headwater.runtime.operators.steps import BatchContext, describe_callable

if TYPE_CHECKING:
    from headwater.state.store import PartitionStore

# The store entry holding a key's model and metric (LearnerState as text).
ENTRY = "learner"
# The state key of a partition's one model when models are not per record key.
PARTITION_MODEL = "_partition"


class OnlineLearning(KeyedOperator):
    """Predicts, then learns, record by record, with a river model per key (or partition)."""

    kind = "learn"

    def __init__(
        self,
        model: Callable[[], Any],
        target: str,
        features: Sequence[str],
        metric: Callable[[], Any] | None,
        per_key: bool,
        prefix: str,
        store: str,
    ) -> None:
        super().__init__(store)
        self.learner = OnlineLearner(model, target, features, metric)
        self.per_key = per_key
        self.prefix = prefix
        self._make_model = model

    def params(self) -> dict[str, Any]:
        return {
            "model": describe_callable(self._make_model),
            "target": self.learner.target,
            "features": self.learner.features,
            "metric": self.learner.metric_name,
            "per_key": self.per_key,
            "prefix": self.prefix,
            "store": self.store,
        }

    @property
    def label(self) -> str:
        return f"learn({describe_callable(self._make_model)}, target={self.learner.target})"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        if self.per_key:
            frame = keyed_frame(frame, ctx, self.label)
        else:
            partitions = pl.Series(PARTITION, ctx.source.partitions, dtype=pl.Int64)
            frame = frame.with_columns(
                partitions.gather(frame[ROW]), pl.lit(PARTITION_MODEL).alias(KEY_COLUMN)
            )
        stores = self.partition_stores(frame, ctx)
        frame = skip_applied(frame, ctx, stores)
        if frame.height == 0:
            return frame.drop(PARTITION, KEY_COLUMN)
        keys: list[tuple[int, Any]] = list(frame.select(PARTITION, KEY_COLUMN).iter_rows())
        states = self._read(keys, stores)
        values = values_of(frame.drop(PARTITION, KEY_COLUMN))
        if self.learner.target not in values.columns:  # a batch of unlabelled records
            values = values.with_columns(pl.lit(None).alias(self.learner.target))
        scored = self.learner.step_by_keys(values, keys, states)
        self._write(states, stores)
        return frame.drop(PARTITION, KEY_COLUMN).with_columns(
            scored[name].alias(self.prefix + name) for name in self.learner.outputs
        )

    def _read(
        self, keys: list[tuple[int, Any]], stores: dict[int, PartitionStore]
    ) -> dict[Hashable, LearnerState]:
        """The stored model of every (partition, key) of the batch; new keys are left out."""
        states: dict[Hashable, LearnerState] = {}
        wanted: dict[int, list[Any]] = {}
        for partition, key in dict.fromkeys(keys):
            wanted.setdefault(partition, []).append(key)
        for partition, partition_keys in wanted.items():
            stored = stores[partition].get_many(partition_keys, ENTRY)
            for key, text in zip(partition_keys, stored, strict=True):
                if text is not None:
                    states[(partition, key)] = LearnerState.from_text(text)
        return states

    def _write(
        self, states: dict[Hashable, LearnerState], stores: dict[int, PartitionStore]
    ) -> None:
        """Every model the batch touched, once."""
        by_partition: dict[int, list[tuple[Any, str]]] = {}
        for pair, state in states.items():
            partition, key = cast(tuple[int, Any], pair)
            by_partition.setdefault(partition, []).append((key, state.to_text()))
        for partition, items in by_partition.items():
            stores[partition].set_many(items, ENTRY)
