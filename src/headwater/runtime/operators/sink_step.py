"""The sink step: ``sdf.to_sink(sink)`` writes records to a Parquet folder, a PostgreSQL table or
Redis at each checkpoint, before the input offsets are committed.

Rows wait in memory per input partition until the checkpoint (a batch that is discarded and
rerun record by record never reaches them; an aborted transaction's rows are dropped with it).
At the checkpoint each partition's rows are written as one batch whose id is the partition and
the offset its checkpoint period started at (the committed offset): a crash before the offsets
are committed makes the next run start at that same offset, so its first checkpoint writes that
partition's rows under the same id. Parquet files named by the id replace the ones written
before the crash; PostgreSQL and Redis rows are upserts on their keys. A replay writes the same
rows again, never different ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import polars as pl

from headwater.errors import ConfigError
from headwater.runtime.loop.batch import ROW, Source, values_of
from headwater.runtime.operators.steps import BatchContext, Operator

_PartitionId = tuple[str, int]


class SinkTarget:
    """Where a sink step's rows wait for the checkpoint (what the step emits to)."""

    def __init__(self, sink: Any, name: str) -> None:
        self.sink = sink
        self.name = f"sink:{name}"
        self._rows: dict[_PartitionId, list[pl.DataFrame]] = {}

    def buffer(self, frame: pl.DataFrame, source: Source) -> None:
        """Keep ``frame``'s values until the checkpoint, per input partition they came from."""
        values = values_of(frame)
        partitions = pl.Series(source.partitions, dtype=pl.Int64).gather(frame[ROW])
        if partitions.n_unique() == 1:
            self._rows.setdefault((source.topic, int(partitions[0])), []).append(values)
            return
        keyed = values.with_columns(partitions.alias("__partition"))
        for (partition,), rows in keyed.partition_by("__partition", as_dict=True).items():
            key = (source.topic, int(partition))
            self._rows.setdefault(key, []).append(rows.drop("__partition"))

    def flush(self, batch_id: Callable[[_PartitionId], str]) -> None:
        """Write the rows of every partition as one batch each, named by ``batch_id``."""
        commit = getattr(self.sink, "commit", None)
        for key in sorted(self._rows):
            frame = pl.concat(self._rows[key], how="diagonal_relaxed")
            self.sink.write(frame)
            if commit is not None:
                commit(batch_id(key))
            del self._rows[key]

    def partitions(self) -> list[_PartitionId]:
        return list(self._rows)

    def drop(self, partitions: Iterable[_PartitionId]) -> None:
        """Rows of ``partitions`` will be processed again (an aborted transaction)."""
        for key in partitions:
            self._rows.pop(key, None)


class ToSink(Operator):
    """Hands every record to its sink's target and passes the batch on unchanged."""

    kind = "to_sink"

    def __init__(self, sink: Any, name: str) -> None:
        if not callable(getattr(sink, "write", None)):
            raise ConfigError(
                f"to_sink() needs a sink with write(frame), got {type(sink).__name__}: use "
                "ParquetSink, PostgresSink or RedisSink (headwater.sinks)"
            )
        self.target = SinkTarget(sink, name)

    def params(self) -> dict[str, Any]:
        return {"sink": type(self.target.sink).__name__, "name": self.target.name}

    @property
    def label(self) -> str:
        return f"to_sink({self.target.name.removeprefix('sink:')})"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        ctx.emit(self.target, frame)  # type: ignore[arg-type]
        return frame


class SinkCheckpoint:
    """The sink steps' part of a checkpoint: write every target's rows, each partition's under
    the id of the offset its period started at."""

    def __init__(
        self,
        targets: list[SinkTarget],
        committed: Callable[[list[_PartitionId]], dict[_PartitionId, int | None]],
    ) -> None:
        self.targets = targets
        self._committed = committed  # asks the group for the offsets committed before us
        self._starts: dict[_PartitionId, int | None] = {}

    def write(self) -> None:
        """Called by the checkpoint before it commits the input offsets."""
        unknown = sorted({k for t in self.targets for k in t.partitions()} - set(self._starts))
        if unknown:
            self._starts.update(self._committed(unknown))
        for target in self.targets:
            target.flush(self._batch_id)

    def committed(self, offsets: dict[_PartitionId, int]) -> None:
        """The checkpoint committed: the next period of these partitions starts there (an
        aborted one keeps its start, so its rows are written under the same id again)."""
        self._starts.update(offsets)

    def _batch_id(self, key: _PartitionId) -> str:
        start = self._starts.get(key)
        return f"{key[0]}-p{key[1]}-{'start' if start is None else start}"

    def drop(self, partitions: Iterable[_PartitionId]) -> None:
        keys = list(partitions)
        for target in self.targets:
            target.drop(keys)


def sink_targets(operators: Iterable[Operator]) -> list[SinkTarget]:
    return [op.target for op in operators if isinstance(op, ToSink)]
