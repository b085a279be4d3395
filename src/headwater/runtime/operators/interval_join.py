"""The interval join: records of two streams with equal keys whose event times differ within
``[lower, upper]`` (a right record at ``t_right`` meets a left one at ``t_left`` when
``t_left + lower <= t_right <= t_left + upper``), vectorised per micro-batch.

A batch of one input is matched, in one Polars join, against the rows the other input keeps
for the same partition, then kept itself: each pair is found once, by the later of its two
records, whatever the order they arrived in. A result carries the key, both records' values
(the right one's named with a suffix where a name is taken) and the later of the two event
times. The join acts at the minimum of both inputs' watermarks ``W``: a record older than
``W`` is late (to the side output, ``late()``, else the dead letters); a left row with
``t_left + upper < W`` can meet no record still to come, so it is dropped (and, in a left
join, sent with no right values if it never met one), and a right row with
``t_right - lower < W`` likewise.
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS, value_columns
from headwater.runtime.operators.join_buffer import JOIN_KEY, MATCHED, ROW_ID, JoinBuffer
from headwater.runtime.operators.keyed import KEY_COLUMN, PARTITION, keyed_frame, skip_applied
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.timed import Fired, TimedOperator
from headwater.runtime.operators.two_input import LEFT, PORTS, RIGHT, TwoInputOperator

log = logging.getLogger(__name__)

JOIN_HOW = ("inner", "left")


class LateJoinRecordError(ValueError):
    """A record older than the join's watermark: the records it could meet are gone."""


class IntervalJoin(TwoInputOperator, TimedOperator):
    """``left.join_interval(right, lower=..., upper=..., how=...)``."""

    kind = "join_interval"

    def __init__(
        self,
        store: str,
        lower_ms: int,
        upper_ms: int,
        how: str,
        suffix: str = "_right",
        on: list[str] | None = None,
    ) -> None:
        TwoInputOperator.__init__(self, (f"{store}-left", f"{store}-right"))
        self.store = store
        self.lower, self.upper = lower_ms, upper_ms
        self.how = how
        self.suffix = suffix
        self.on = on or []  # join columns: both inputs have them, the result once
        self.late_records = 0  # metric: records found late
        self._buffers: dict[tuple[int, int], JoinBuffer] = {}

    def params(self) -> dict[str, Any]:
        return {
            "lower_ms": self.lower,
            "upper_ms": self.upper,
            "how": self.how,
            "stores": list(self.port_stores),
            "inputs": list(self.inputs),
        }

    @property
    def label(self) -> str:
        return f"join_interval [{self.lower}, {self.upper}] ms {self.how}"

    # A batch of one input
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
        results = [
            self._match(port, int(p), rows, ctx)
            for (p,), rows in frame.partition_by(PARTITION, as_dict=True).items()
        ]
        if not results:
            return _empty(frame)
        return pl.concat(results, how="diagonal_relaxed")

    def _match(
        self, port: int, partition: int, rows: pl.DataFrame, ctx: BatchContext
    ) -> pl.DataFrame:
        offsets = pl.Series(ctx.source.offsets, dtype=pl.Int64).gather(rows[ROW])
        key = rows[KEY_COLUMN]
        if key.dtype == pl.Binary:  # a structured key, as JSON text
            key = key.cast(pl.String)
        new = rows.drop(PARTITION, KEY_COLUMN).with_columns(
            offsets.alias(ROW_ID), key.alias(JOIN_KEY), pl.lit(False).alias(MATCHED)
        )
        mine = self._buffer(port, partition, ctx)
        other = self._buffer(1 - port, partition, ctx)
        pairs = self._pairs(new, other.rows, port)
        met = pairs[_NEW_ID].unique()
        if port == LEFT:
            new = new.with_columns(pl.col(ROW_ID).is_in(met.implode()).alias(MATCHED))
        elif self.how == "left":
            other.mark(pairs[_KEPT_ID].unique())
        mine.add(new.drop(ROW))
        return pairs.drop(_NEW_ID, _KEPT_ID)

    def _pairs(self, new: pl.DataFrame, kept: pl.DataFrame, port: int) -> pl.DataFrame:
        """Every pair of a new row and a kept one of the other input that meet; columns: the
        result's, the new row's ``ROW`` and both rows' ids."""
        left, right = (new, kept) if port == LEFT else (kept, new)
        left_values = [c for c in value_columns(left) if c not in (ROW_ID, JOIN_KEY, MATCHED)]
        right_values = [
            c
            for c in value_columns(right)
            if c not in (ROW_ID, JOIN_KEY, MATCHED) and c not in self.on
        ]
        if kept.height == 0 or new.height == 0:
            return _no_pairs(new)
        joined = left.select(
            JOIN_KEY,
            KEY,
            TS,
            pl.col(ROW_ID).alias("_l_id"),
            *left_values,
            *([ROW] if port == LEFT else []),
        ).join(
            right.select(
                JOIN_KEY,
                pl.col(TS).alias("_r_ts"),
                pl.col(ROW_ID).alias("_r_id"),
                *[pl.col(c).alias(self._right_name(c, left_values)) for c in right_values],
                *([ROW] if port == RIGHT else []),
            ),
            on=JOIN_KEY,
            how="inner",
        )
        joined = joined.filter(
            (pl.col("_r_ts") >= pl.col(TS) + self.lower)
            & (pl.col("_r_ts") <= pl.col(TS) + self.upper)
        )
        new_id, kept_id = ("_l_id", "_r_id") if port == LEFT else ("_r_id", "_l_id")
        return joined.with_columns(
            pl.max_horizontal(TS, "_r_ts").alias(TS),
            pl.col(new_id).alias(_NEW_ID),
            pl.col(kept_id).alias(_KEPT_ID),
        ).drop(JOIN_KEY, "_r_ts", "_l_id", "_r_id")

    def _right_name(self, column: str, left_values: list[str]) -> str:
        return column + self.suffix if column in left_values else column

    # Time
    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        left = self._buffer(LEFT, partition, ctx)
        right = self._buffer(RIGHT, partition, ctx)
        if not (left.moves(watermark) or right.moves(watermark)):
            return None
        expired = left.drop(pl.col(TS) + self.upper < watermark)
        right.drop(pl.col(TS) - self.lower < watermark)
        left.advance(watermark)
        right.advance(watermark)
        if self.how != "left":
            return pl.DataFrame(), []
        alone = expired.filter(~pl.col(MATCHED)).sort(TS, ROW_ID)
        return alone.drop(ROW_ID, JOIN_KEY, MATCHED), []

    def forget(self, partition: int) -> None:
        for port in (LEFT, RIGHT):
            self._buffers.pop((port, partition), None)

    def _watermark(self, partition: int, ctx: BatchContext) -> int:
        """The watermark rows are checked against: the joint one, never below the one the
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
            LateJoinRecordError(
                f"{self.label}: late record, older than the join's watermark (the records it "
                "could meet are gone); route late records with .late(), or raise "
                "with_watermarks(max_out_of_orderness) on its input"
            ),
            self.label,
        )


_NEW_ID, _KEPT_ID = "_hw_join_new", "_hw_join_kept"


def _empty(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(KEY, TS, ROW).clear()


def _no_pairs(new: pl.DataFrame) -> pl.DataFrame:
    return (
        new.select(KEY, TS, ROW)
        .clear()
        .with_columns(pl.lit(None, pl.Int64).alias(_NEW_ID), pl.lit(None, pl.Int64).alias(_KEPT_ID))
    )


__all__ = ["JOIN_HOW", "PORTS", "RIGHT", "IntervalJoin"]
