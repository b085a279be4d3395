"""A pandas or Polars DataFrame as a source, in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from headwater.errors import ConfigError


class FrameSource:
    """The rows of ``frame`` (pandas or Polars), ``chunk_rows`` at a time."""

    def __init__(self, frame: Any, time: str, chunk_rows: int = 100_000, name: str = "frame"):
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ConfigError("FrameSource: chunk_rows must be a whole number >= 1")
        self._frame = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
        if time not in self._frame.columns:
            raise ConfigError(
                f"FrameSource: no column {time!r} for the event time (columns: "
                f"{self._frame.columns})"
            )
        self.time_column = time
        self.name = name
        self._chunk = chunk_rows

    def batches(self) -> Iterator[pl.DataFrame]:
        for start in range(0, self._frame.height, self._chunk):
            yield self._frame.slice(start, self._chunk)
