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

from typing import Any

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS
from headwater.runtime.operators.join_buffer import JOIN_KEY, MATCHED, ROW_ID
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.stream_join import StreamJoin
from headwater.runtime.operators.timed import Fired
from headwater.runtime.operators.two_input import LEFT, RIGHT


class IntervalJoin(StreamJoin):
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
        super().__init__(store, how, suffix, on)
        self.lower, self.upper = lower_ms, upper_ms

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

    # A batch of one input: matched against the other's kept rows, then kept
    def _late_rows(self, watermark: pl.Expr) -> pl.Expr:
        return pl.col(TS) < watermark

    def _arrive(
        self, port: int, partition: int, new: pl.DataFrame, ctx: BatchContext
    ) -> pl.DataFrame:
        mine = self._buffer(port, partition, ctx)
        other = self._buffer(1 - port, partition, ctx)
        pairs = self._pairs(new, other.rows, port)
        if port == LEFT:
            met = pairs[_NEW_ID].unique()
            new = new.with_columns(pl.col(ROW_ID).is_in(met.implode()).alias(MATCHED))
        elif self.how == "left":
            other.mark(pairs[_KEPT_ID].unique())
        mine.add(new.drop(ROW))
        return pairs.drop(_NEW_ID, _KEPT_ID)

    def _pairs(self, new: pl.DataFrame, kept: pl.DataFrame, port: int) -> pl.DataFrame:
        """Every pair of a new row and a kept one of the other input that meet; columns: the
        result's, the new row's ``ROW`` and both rows' ids."""
        left, right = (new, kept) if port == LEFT else (kept, new)
        left_values, right_values = self.value_names(left, right)
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
                *right_values,
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


_NEW_ID, _KEPT_ID = "_hw_join_new", "_hw_join_kept"


def _no_pairs(new: pl.DataFrame) -> pl.DataFrame:
    return (
        new.select(KEY, TS, ROW)
        .clear()
        .with_columns(pl.lit(None, pl.Int64).alias(_NEW_ID), pl.lit(None, pl.Int64).alias(_KEPT_ID))
    )
