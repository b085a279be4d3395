"""The window join: records of two streams with equal keys in the same tumbling or hopping
window, paired when the window closes at the joint watermark.

Each input's rows are kept per partition as they arrive (nothing is sent then). When the
watermark ``W`` moves past window ends, the windows that closed since the join last acted
(``previous < end <= W``) are joined in one Polars join on (key, window) of both inputs' rows,
each row in every window that covers it; a left join also sends each left row of a closed
window that met no right row there. A result has the key, both rows' values, ``window_start``
and ``window_end``, and the window's last millisecond as its event time. A row whose windows
have all closed is dropped; a record arriving then is late.
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

START, END = "window_start", "window_end"


class WindowJoin(StreamJoin):
    """``left.join_window(right, window, how=...)`` for tumbling and hopping windows."""

    kind = "join_window"

    def __init__(
        self,
        store: str,
        size_ms: int,
        step_ms: int,
        how: str,
        suffix: str = "_right",
        on: list[str] | None = None,
    ) -> None:
        super().__init__(store, how, suffix, on)
        self.size = size_ms
        self.step = step_ms or size_ms  # tumbling: one window per record

    def params(self) -> dict[str, Any]:
        return {
            "size_ms": self.size,
            "step_ms": self.step,
            "how": self.how,
            "stores": list(self.port_stores),
            "inputs": list(self.inputs),
        }

    @property
    def label(self) -> str:
        window = (
            f"tumbling({self.size} ms)"
            if self.step == self.size
            else f"hopping({self.size} ms, step {self.step} ms)"
        )
        return f"join_window {window} {self.how}"

    def _last_end(self) -> pl.Expr:
        """The end of the last window covering each row."""
        return (pl.col(TS) // self.step) * self.step + self.size

    # A batch of one input: kept until its windows close
    def _late_rows(self, watermark: pl.Expr) -> pl.Expr:
        return self._last_end() <= watermark

    def _arrive(
        self, port: int, partition: int, new: pl.DataFrame, ctx: BatchContext
    ) -> pl.DataFrame:
        self._buffer(port, partition, ctx).add(new.drop(ROW))
        return new.select(KEY, TS, ROW).clear()

    # Time
    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        left = self._buffer(LEFT, partition, ctx)
        right = self._buffer(RIGHT, partition, ctx)
        if not (left.moves(watermark) or right.moves(watermark)):
            return None
        previous = self._acted(partition, ctx)
        closing = (pl.col(END) > previous) & (pl.col(END) <= watermark)
        lw = self._windows(left.rows).filter(closing)
        rw = self._windows(right.rows).filter(closing)
        results = self._pairs(lw, rw) if lw.height else pl.DataFrame()
        for buffer in (left, right):
            buffer.drop(self._last_end() <= watermark)
            buffer.advance(watermark)
        if results.height == 0:
            return pl.DataFrame(), []
        order = [END, START, JOIN_KEY, ROW_ID, "_r_id"]
        return results.sort(order, nulls_last=True).drop(JOIN_KEY, ROW_ID, "_r_id"), []

    def _windows(self, rows: pl.DataFrame) -> pl.DataFrame:
        """A row per kept row and window covering it."""
        count = -(-self.size // self.step)
        base = (pl.col(TS) // self.step) * self.step
        starts = pl.concat_list([base - i * self.step for i in range(count)])
        out = rows.with_columns(starts.alias(START)).explode(START)
        out = out.with_columns((pl.col(START) + self.size).alias(END))
        return out.filter(pl.col(END) > pl.col(TS))

    def _pairs(self, lw: pl.DataFrame, rw: pl.DataFrame) -> pl.DataFrame:
        left_values, right_values = self.value_names(lw.drop(START, END), rw.drop(START, END))
        left = lw.select(JOIN_KEY, KEY, ROW_ID, START, END, *left_values)
        right = rw.select(JOIN_KEY, START, END, pl.col(ROW_ID).alias("_r_id"), *right_values)
        # A side with no rows yet has no key type: take the other's.
        right = right.with_columns(pl.col(JOIN_KEY).cast(left.schema[JOIN_KEY]))
        keys = [JOIN_KEY, START, END]
        if self.how == "left":
            joined = left.join(right, on=keys, how="left")
        else:
            joined = left.join(right, on=keys, how="inner")
        return joined.with_columns((pl.col(END) - 1).alias(TS))
