"""A batch's raw records made only when asked for.

A :class:`~headwater.runtime.loop.batch.Source` keeps each record's raw key and value so a dead
letter can carry them. Records that never came from the broker (window results, chunks of
history) have none: encoding every one up front would cost more than the step that made them,
while only the few that fail are ever looked at. These sequences encode one when it is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast, overload

import orjson
import polars as pl


class Nulls(Sequence[None]):
    """``n`` missing keys."""

    def __init__(self, n: int) -> None:
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> None: ...
    @overload
    def __getitem__(self, i: slice) -> list[None]: ...
    def __getitem__(self, i: int | slice) -> list[None] | None:
        return [None] * len(range(self._n)[i]) if isinstance(i, slice) else None


class JsonRows(Sequence[bytes | None]):
    """Each row of ``frame`` as JSON (or, for a one-column frame of keys, each value)."""

    def __init__(self, frame: pl.DataFrame, single: bool = False) -> None:
        self._frame = frame
        self._single = single

    def __len__(self) -> int:
        return self._frame.height

    @overload
    def __getitem__(self, i: int) -> bytes | None: ...
    @overload
    def __getitem__(self, i: slice) -> list[bytes | None]: ...
    def __getitem__(self, i: int | slice) -> bytes | list[bytes | None] | None:
        if isinstance(i, slice):
            return [self[j] for j in range(self._frame.height)[i]]
        if self._single:
            value = self._frame.to_series()[i]
            return None if value is None else orjson.dumps(value, default=str)
        return orjson.dumps(self._frame.row(i, named=True), default=str)


class Column(Sequence[int]):
    """A column's values (timestamps), read from the frame when asked for."""

    def __init__(self, series: pl.Series) -> None:
        self._series = series

    def __len__(self) -> int:
        return self._series.len()

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> list[int]: ...
    def __getitem__(self, i: int | slice) -> int | list[int]:
        if isinstance(i, slice):
            return cast("list[int]", self._series[i].to_list())
        return cast("int", self._series[i])

    def __iter__(self) -> Iterator[int]:
        return iter(self._series.to_list())
