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

import logging
from typing import Any

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS, value_columns
from headwater.runtime.operators.asof_match import match_asof
from headwater.runtime.operators.join_buffer import JOIN_KEY, MATCHED, ROW_ID, JoinBuffer
from headwater.runtime.operators.keyed import KEY_COLUMN, PARTITION, keyed_frame, skip_applied
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.timed import Fired, TimedOperator
from headwater.runtime.operators.two_input import LEFT, RIGHT, TwoInputOperator

log = logging.getLogger(__name__)

_FOUND = "_hw_asof_found"  # set on the right side: whether a left row met a version


class LateAsofRecordError(ValueError):
    """A record older than the as-of join's watermark: the results it could change are out."""


class AsofJoin(TwoInputOperator, TimedOperator):
    """``left.join_asof(right, tolerance=..., how=...)``."""

    kind = "join_asof"

    def __init__(
        self,
        store: str,
        tolerance_ms: int | None,
        how: str,
        suffix: str = "_right",
        on: list[str] | None = None,
    ) -> None:
        TwoInputOperator.__init__(self, (f"{store}-left", f"{store}-right"))
        self.store = store
        self.tolerance = tolerance_ms
        self.how = how
        self.suffix = suffix
        self.on = on or []  # join columns: both inputs have them, the result once
        self.late_records = 0  # metric: records found late
        self._buffers: dict[tuple[int, int], JoinBuffer] = {}

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
    def process_port(self, port: int, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        frame = keyed_frame(frame, ctx, self.label)
        if frame.height == 0:
            return _empty(frame)
        stores = {p: self.port_store(port, p, ctx) for p in frame[PARTITION].unique().to_list()}
        frame = skip_applied(frame, ctx, stores)
        marks = {p: self._watermark(p, ctx) for p in stores}
        late = pl.col(TS) < pl.col(PARTITION).replace_strict(marks, return_dtype=pl.Int64)
        if frame.height and frame.select(late.any()).item():
            self._late(frame.filter(late).drop(PARTITION, KEY_COLUMN), ctx)
            frame = frame.filter(~late)
        for (partition,), rows in frame.partition_by(PARTITION, as_dict=True).items():
            offsets = pl.Series(ctx.source.offsets, dtype=pl.Int64).gather(rows[ROW])
            key = rows[KEY_COLUMN]
            if key.dtype == pl.Binary:  # a structured key, as JSON text
                key = key.cast(pl.String)
            kept = rows.drop(PARTITION, KEY_COLUMN, ROW).with_columns(
                offsets.alias(ROW_ID), key.alias(JOIN_KEY), pl.lit(False).alias(MATCHED)
            )
            self._buffer(port, int(partition), ctx).add(kept)
        return _empty(frame)

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
        left_values = [c for c in value_columns(ready) if c not in (ROW_ID, JOIN_KEY, MATCHED)]
        right_values = [
            c
            for c in value_columns(versions)
            if c not in (ROW_ID, JOIN_KEY, MATCHED) and c not in self.on
        ]
        wanted = versions.filter(pl.col(JOIN_KEY).is_in(ready[JOIN_KEY].unique().implode()))
        latest = wanted.sort(ROW_ID).unique([JOIN_KEY, TS], keep="last", maintain_order=True)
        right = latest.select(
            JOIN_KEY,
            TS,
            *[pl.col(c).alias(self._right_name(c, left_values)) for c in right_values],
            pl.lit(True).alias(_FOUND),
        )
        left = ready.select(JOIN_KEY, KEY, TS, ROW_ID, *left_values)
        if left.schema[JOIN_KEY] == pl.Null or right.height == 0:
            right = right.clear().with_columns(pl.col(JOIN_KEY).cast(left.schema[JOIN_KEY]))
        joined = match_asof(left, right, JOIN_KEY, TS, self.tolerance)
        if self.how == "inner":
            joined = joined.filter(pl.col(_FOUND).fill_null(False))
        return joined.sort(TS, ROW_ID).drop(JOIN_KEY, ROW_ID, _FOUND)

    def _right_name(self, column: str, left_values: list[str]) -> str:
        return column + self.suffix if column in left_values else column

    def forget(self, partition: int) -> None:
        for port in (LEFT, RIGHT):
            self._buffers.pop((port, partition), None)

    def _watermark(self, partition: int, ctx: BatchContext) -> int:
        """The watermark records are checked against: the joint one, never below the one the
        join last acted at (persisted, so a restart keeps it)."""
        acted = max(self._buffer(p, partition, ctx).watermark for p in (LEFT, RIGHT))
        return max(acted, ctx.watermark(partition))

    def _buffer(self, port: int, partition: int, ctx: BatchContext) -> JoinBuffer:
        store = self.port_store(port, partition, ctx)
        buffer = self._buffers.get((port, partition))
        if buffer is None or not buffer.current(store):
            buffer = self._buffers[(port, partition)] = JoinBuffer(store)
        return buffer

    def _late(self, late: pl.DataFrame, ctx: BatchContext) -> None:
        self.late_records += late.height
        log.info("%s: %d late records (%d so far)", self.label, late.height, self.late_records)
        if self.late_node is not None:
            ctx.side(self.late_node, late)
            return
        ctx.fail(
            late[ROW].unique(maintain_order=True).to_list(),
            LateAsofRecordError(
                f"{self.label}: late record, older than the join's watermark (the results it "
                "could change are out); route late records with .late(), or raise "
                "with_watermarks(max_out_of_orderness) on its input"
            ),
            self.label,
        )


def _empty(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(KEY, TS, ROW).clear()
