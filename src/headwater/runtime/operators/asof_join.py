"""The as-of (temporal) join: each left record meets the right input's latest value for its key
at or before its event time, optionally no older than a tolerance, as ``pandas.merge_asof(...,
direction="backward")`` and Flink's event-time temporal join.

The right input is a versioned table: every version is kept, per partition, with its event time
and input offset. Left records wait in their own buffer until the joint watermark ``W`` (the
minimum of both inputs', see :mod:`headwater.runtime.time.join_time`) passes them: a left record
at ``t < W`` can meet no right version still to come (none older than ``W`` is expected), so its
match is final and the result does not depend on which input arrived first. Ready records are
matched per partition in one Polars ``join_asof`` (``strategy="backward"``, ``by`` the join key).

Rules, stated once:
- a right version at exactly the left record's time matches it (``at or before``);
- of two right versions of one key at one time, the later read (the higher offset; one key's
  versions share a partition, so this is the order they were produced in) wins, as a table
  update does;
- a record of either input older than ``W`` when read is late: the results it could change
  are out. Late records go to the side output (``late()``), else to the dead letters;
- behind ``W`` only each key's latest version is kept: no later left record can meet an older.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS
from headwater.runtime.operators.asof_match import match_asof
from headwater.runtime.operators.join_buffer import JOIN_KEY, ROW_ID
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.stream_join import StreamJoin, empty_result
from headwater.runtime.operators.timed import Fired
from headwater.runtime.operators.two_input import LEFT, RIGHT

_FOUND = "_hw_asof_found"  # set on the right side: whether a left row met a version


class AsofJoin(StreamJoin):
    """``left.join_asof(right, tolerance=..., how=...)``."""

    kind = "join_asof"
    late_reason = "the results it could change are out"

    def __init__(
        self,
        store: str,
        tolerance_ms: int | None,
        how: str,
        suffix: str = "_right",
        on: list[str] | None = None,
    ) -> None:
        super().__init__(store, how, suffix, on)
        self.tolerance = tolerance_ms

    def params(self) -> dict[str, Any]:
        return {
            "tolerance_ms": self.tolerance,
            "how": self.how,
            "stores": list(self.port_stores),
            "inputs": list(self.inputs),
        }

    @property
    def label(self) -> str:
        within = "" if self.tolerance is None else f" within {self.tolerance} ms"
        return f"join_asof{within} {self.how}"

    # A batch of one input: kept (left records wait for the watermark, right ones are versions)
    def _late_rows(self, watermark: pl.Expr) -> pl.Expr:
        return pl.col(TS) < watermark

    def _arrive(
        self, port: int, partition: int, rows: pl.DataFrame, ctx: BatchContext
    ) -> pl.DataFrame:
        self._buffer(port, partition, ctx).add(rows.drop(ROW))
        return empty_result(rows)

    # Time: the left records the watermark passed are matched, and old versions dropped
    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        left = self._buffer(LEFT, partition, ctx)
        right = self._buffer(RIGHT, partition, ctx)
        if not (left.moves(watermark) or right.moves(watermark)):
            return None
        ready = left.drop(pl.col(TS) < watermark)
        results = self._match(ready, right.rows) if ready.height else pl.DataFrame()
        # Versions no left record still to come can meet: superseded at their time, or
        # older than the watermark and not their key's latest such.
        ts, offset = pl.col(TS), pl.col(ROW_ID)
        superseded = offset < offset.max().over(JOIN_KEY, TS)
        behind = (ts < watermark) & (ts < ts.filter(ts < watermark).max().over(JOIN_KEY))
        if right.rows.height:
            right.drop(superseded | behind.fill_null(False))
        left.advance(watermark)
        right.advance(watermark)
        return results, []

    def _match(self, ready: pl.DataFrame, versions: pl.DataFrame) -> pl.DataFrame:
        """The ready left records with their versions' values, in event-time order."""
        left_values, right_values = self.value_names(ready, versions)
        wanted = versions.filter(pl.col(JOIN_KEY).is_in(ready[JOIN_KEY].unique().implode()))
        latest = wanted.sort(ROW_ID).unique([JOIN_KEY, TS], keep="last", maintain_order=True)
        right = latest.select(JOIN_KEY, TS, *right_values, pl.lit(True).alias(_FOUND))
        left = ready.select(JOIN_KEY, KEY, TS, ROW_ID, *left_values)
        if left.schema[JOIN_KEY] == pl.Null or right.height == 0:
            right = right.clear().with_columns(pl.col(JOIN_KEY).cast(left.schema[JOIN_KEY]))
        joined = match_asof(left, right, JOIN_KEY, TS, self.tolerance)
        if self.how == "inner":
            joined = joined.filter(pl.col(_FOUND).fill_null(False))
        return joined.sort(TS, ROW_ID).drop(JOIN_KEY, ROW_ID, _FOUND)
