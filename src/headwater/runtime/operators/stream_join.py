"""What the joins of two streams share (interval, window and as-of joins): each input's rows
kept per partition (:class:`~headwater.runtime.operators.join_buffer.JoinBuffer`), the joint
watermark, late records, and the result's columns.

A batch of one input is keyed (rows without a key fail), rows applied before a crash are
dropped, late rows go to the side output (``late()``) or the dead letters, and the rest reach
:meth:`StreamJoin._arrive` one partition at a time, with their input offset as row id and
their join key. The join acts at the minimum of both inputs' watermarks, never below the one
it last acted at (persisted in both inputs' stores, so a restart keeps it).
"""

from __future__ import annotations

import logging
from abc import abstractmethod

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS, value_columns
from headwater.runtime.operators.join_buffer import JOIN_KEY, MATCHED, ROW_ID, JoinBuffer
from headwater.runtime.operators.keyed import KEY_COLUMN, PARTITION, keyed_frame, skip_applied
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.timed import TimedOperator
from headwater.runtime.operators.two_input import LEFT, RIGHT, TwoInputOperator

log = logging.getLogger(__name__)

JOIN_HOW = ("inner", "left")
_KEPT = (ROW_ID, JOIN_KEY, MATCHED)


class LateJoinRecordError(ValueError):
    """A record older than the join's watermark: the records it could meet are gone."""


class StreamJoin(TwoInputOperator, TimedOperator):
    """A join of two streams; subclasses say what a row meets (:meth:`_arrive`, ``fire``) and
    when it is late (:meth:`_late_rows`)."""

    # What a late record misses, for its dead letter's reason.
    late_reason = "the records it could meet are gone"

    def __init__(self, store: str, how: str, suffix: str, on: list[str] | None) -> None:
        TwoInputOperator.__init__(self, (f"{store}-left", f"{store}-right"))
        self.store = store
        self.how = how
        self.suffix = suffix
        self.on = on or []  # join columns: both inputs have them, the result once
        self.late_records = 0  # metric: records found late
        self._buffers: dict[tuple[int, int], JoinBuffer] = {}

    # A batch of one input
    def process_port(self, port: int, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        frame = keyed_frame(frame, ctx, self.label)
        if frame.height == 0:
            return empty_result(frame)
        stores = {p: self.port_store(port, p, ctx) for p in frame[PARTITION].unique().to_list()}
        frame = skip_applied(frame, ctx, stores)
        marks = {p: self._watermark(p, ctx) for p in stores}
        late = self._late_rows(pl.col(PARTITION).replace_strict(marks, return_dtype=pl.Int64))
        if frame.height and frame.select(late.any()).item():
            self._late(frame.filter(late).drop(PARTITION, KEY_COLUMN), ctx)
            frame = frame.filter(~late)
        results = [
            self._arrive(port, int(p), self._rows(rows, ctx), ctx)
            for (p,), rows in frame.partition_by(PARTITION, as_dict=True).items()
        ]
        if not results:
            return empty_result(frame)
        return pl.concat(results, how="diagonal_relaxed")

    @abstractmethod
    def _late_rows(self, watermark: pl.Expr) -> pl.Expr:
        """Which rows are late, given each row's partition's ``watermark``."""

    @abstractmethod
    def _arrive(
        self, port: int, partition: int, rows: pl.DataFrame, ctx: BatchContext
    ) -> pl.DataFrame:
        """On-time rows of ``port`` arrived in ``partition``; returns results to send now."""

    def _rows(self, rows: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        """A batch's rows as a join keeps them: with their input offset as ``ROW_ID``, their
        join key (a structured key as JSON text) and not ``MATCHED`` yet."""
        offsets = pl.Series(ctx.source.offsets, dtype=pl.Int64).gather(rows[ROW])
        key = rows[KEY_COLUMN]
        if key.dtype == pl.Binary:
            key = key.cast(pl.String)
        return rows.drop(PARTITION, KEY_COLUMN).with_columns(
            offsets.alias(ROW_ID), key.alias(JOIN_KEY), pl.lit(False).alias(MATCHED)
        )

    # The result's columns
    def value_names(
        self, left: pl.DataFrame, right: pl.DataFrame
    ) -> tuple[list[str], list[pl.Expr]]:
        """The left rows' value columns, and the right rows' named for the result (a name
        the left has gets the suffix; the ``on`` columns are left out: the left has them)."""
        left_values = [c for c in value_columns(left) if c not in _KEPT]
        right_values = [
            pl.col(c).alias(c + self.suffix if c in left_values else c)
            for c in value_columns(right)
            if c not in _KEPT and c not in self.on
        ]
        return left_values, right_values

    # Time
    def forget(self, partition: int) -> None:
        for port in (LEFT, RIGHT):
            self._buffers.pop((port, partition), None)

    def _watermark(self, partition: int, ctx: BatchContext) -> int:
        """The joint watermark, never below the one the join last acted at."""
        return max(self._acted(partition, ctx), ctx.watermark(partition))

    def _acted(self, partition: int, ctx: BatchContext) -> int:
        return max(self._buffer(p, partition, ctx).watermark for p in (LEFT, RIGHT))

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
            LateJoinRecordError(
                f"{self.label}: late record, older than the join's watermark ({self.late_reason}"
                "); route late records with .late(), or raise "
                "with_watermarks(max_out_of_orderness) on its input"
            ),
            self.label,
        )


def empty_result(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(KEY, TS, ROW).clear()
