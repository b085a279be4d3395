"""The session window join: records of two streams with equal keys in the same session, paired
when the session closes at the joint watermark.

A key's session is cut from the records of both inputs together: records at most ``gap`` apart
share one (as the session windows of ``group_by(...).window(windows.session(gap))``). Each
input's rows are kept per partition as they arrive. When the watermark ``W`` moves, each key's
kept rows are ordered by time and cut into sessions; a session whose last record is more than
``gap`` behind ``W`` can grow no more (a record still to come is at ``W`` or later), so its
pairs are sent (one Polars join of its left and right rows) and its rows dropped. A result has
the key, both rows' values, ``window_start`` (the session's first record's time) and
``window_end`` (its last record's time plus ``gap``), and ``window_end - 1`` as its event time.
A record older than ``W`` could belong to a session already sent: it is late.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS
from headwater.runtime.operators.join_buffer import JOIN_KEY, ROW_ID
from headwater.runtime.operators.steps import BatchContext
from headwater.runtime.operators.stream_join import StreamJoin
from headwater.runtime.operators.timed import Fired
from headwater.runtime.operators.two_input import LEFT, RIGHT
from headwater.runtime.operators.window_join import END, START

_SIDE, _SESSION = "_hw_join_side", "_hw_join_session"


class SessionJoin(StreamJoin):
    """``left.join_window(right, windows.session(gap), how=...)``."""

    kind = "join_window"

    def __init__(
        self,
        store: str,
        gap_ms: int,
        how: str,
        suffix: str = "_right",
        on: list[str] | None = None,
    ) -> None:
        super().__init__(store, how, suffix, on)
        self.gap = gap_ms

    def params(self) -> dict[str, Any]:
        return {
            "gap_ms": self.gap,
            "how": self.how,
            "stores": list(self.port_stores),
            "inputs": list(self.inputs),
        }

    @property
    def label(self) -> str:
        return f"join_window session(gap {self.gap} ms) {self.how}"

    def _late_rows(self, watermark: pl.Expr) -> pl.Expr:
        return pl.col(TS) < watermark

    def _arrive(
        self, port: int, partition: int, new: pl.DataFrame, ctx: BatchContext
    ) -> pl.DataFrame:
        self._buffer(port, partition, ctx).add(new.drop(ROW))
        return new.select(KEY, TS, ROW).clear()

    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        left = self._buffer(LEFT, partition, ctx)
        right = self._buffer(RIGHT, partition, ctx)
        if not (left.moves(watermark) or right.moves(watermark)):
            return None
        sessions = self._sessions(left.rows, right.rows)
        closed = sessions.filter(pl.col("_hw_join_last") + self.gap < watermark)
        names = self.value_names(left.rows, right.rows)
        results = self._pairs(closed, *names) if closed.height else pl.DataFrame()
        for port, buffer in ((LEFT, left), (RIGHT, right)):
            gone = closed.filter(pl.col(_SIDE) == port)[ROW_ID]
            buffer.drop(pl.col(ROW_ID).is_in(gone.implode()))
            buffer.advance(watermark)
        if results.height == 0:
            return pl.DataFrame(), []
        order = [END, START, JOIN_KEY, ROW_ID, "_r_id"]
        return results.sort(order, nulls_last=True).drop(JOIN_KEY, ROW_ID, "_r_id"), []

    def _sessions(self, left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
        """Both inputs' kept rows, each with its session's id, start, end and last time."""
        rows = pl.concat(
            [
                left.with_columns(pl.lit(LEFT).alias(_SIDE)),
                right.with_columns(pl.lit(RIGHT).alias(_SIDE)),
            ],
            how="diagonal_relaxed",
        )
        if rows.height == 0:
            return rows
        rows = rows.sort(JOIN_KEY, TS, _SIDE, ROW_ID)
        fresh = (pl.col(TS).diff().over(JOIN_KEY).fill_null(self.gap + 1) > self.gap).cum_sum()
        rows = rows.with_columns(fresh.alias(_SESSION))
        return rows.with_columns(
            pl.col(TS).min().over(_SESSION).alias(START),
            pl.col(TS).max().over(_SESSION).alias("_hw_join_last"),
        ).with_columns((pl.col("_hw_join_last") + self.gap).alias(END))

    def _pairs(
        self, closed: pl.DataFrame, left_values: list[str], right_values: list[pl.Expr]
    ) -> pl.DataFrame:
        """The pairs of the closed sessions; the inputs' columns as their own rows have them
        (the rows of both were put in one frame to cut the sessions)."""
        lw = closed.filter(pl.col(_SIDE) == LEFT)
        rw = closed.filter(pl.col(_SIDE) == RIGHT)
        left_rows = lw.select(JOIN_KEY, KEY, ROW_ID, *left_values, _SESSION, START, END)
        right_rows = rw.select(_SESSION, pl.col(ROW_ID).alias("_r_id"), *right_values)
        if self.how == "left":
            joined = left_rows.join(right_rows, on=_SESSION, how="left")
        else:
            joined = left_rows.join(right_rows, on=_SESSION, how="inner")
        return joined.drop(_SESSION).with_columns((pl.col(END) - 1).alias(TS))
