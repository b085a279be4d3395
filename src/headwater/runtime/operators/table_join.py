"""The stream-table join: each record meets the table's current row for its key.

Processing-time semantics, as Kafka Streams' stream-table join: a record meets the table as it
stands when the record is processed (a global table is read to its end before any record is).
Per micro-batch, the table's rows of the batch's distinct keys are read at once and joined onto
the batch in one Polars join that keeps the records' order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.errors import ConfigError, PipelineError
from headwater.runtime.loop.batch import KEY
from headwater.runtime.operators.lookup import JoinHow, attach_rows
from headwater.runtime.operators.steps import BatchContext, Operator

if TYPE_CHECKING:
    from headwater.state.global_table import GlobalTableStore

_KEY_ON = "_hw_table_key"  # the record key as a join column, when the join is on the key


class TableJoin(Operator):
    """``sdf.join_table(table, on=...)``: the fields of the table row of each record's key."""

    kind = "join_table"

    def __init__(
        self,
        table: str,
        topic: str,
        on: str | None,
        fields: list[str] | None,
        prefix: str,
        how: JoinHow,
    ) -> None:
        self.table = table
        self.topic = topic
        self.on = on
        self.fields = fields
        self.prefix = prefix
        self.how = how
        self.rows: GlobalTableStore | None = None  # bound by the run that loads the table

    def params(self) -> dict[str, Any]:
        return {"table": self.table, "topic": self.topic, "on": self.on, "how": self.how}

    @property
    def label(self) -> str:
        return f"join_table({self.table} by {self.on or 'key'})"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        if self.rows is None:
            raise PipelineError(f"{self.label}: the table was not loaded by this run")
        on = self.on or _KEY_ON
        if self.on is None:
            frame = frame.with_columns(pl.col(KEY).alias(_KEY_ON))
        elif self.on not in frame.columns:
            raise ConfigError(f"{self.label}: the records have no column {self.on!r}")
        keys = frame[on]
        wanted = keys.drop_nulls().unique(maintain_order=True).to_list()
        rows = self.rows.rows(wanted) if wanted else {}
        if rows:
            found = pl.from_dicts(
                [{**row, on: key} for key, row in rows.items()], infer_schema_length=None
            ).with_columns(pl.col(on).cast(keys.dtype, strict=False))
        else:
            found = pl.DataFrame({on: pl.Series([], dtype=keys.dtype)})
        joined = attach_rows(frame, found, on, self.fields, self.prefix, self.how, self.label)
        return joined.drop(_KEY_ON) if self.on is None else joined
