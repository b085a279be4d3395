"""What a source of history is: chunks of records, and the column of their event time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import polars as pl

from headwater.errors import ConfigError


class HistorySource(Protocol):
    """Records read in chunks, each chunk a frame holding the ``time_column``."""

    @property
    def name(self) -> str: ...

    @property
    def time_column(self) -> str: ...

    def batches(self) -> Iterator[pl.DataFrame]: ...


def event_time_ms(frame: pl.DataFrame, column: str, source: str) -> pl.Series:
    """``column`` as milliseconds since the epoch: datetimes and dates convert (a naive
    datetime counts as UTC), integers are taken as milliseconds already."""
    if column not in frame.columns:
        raise ConfigError(
            f"{source}: no event-time column {column!r} (columns: {frame.columns}); "
            "name the column that holds each record's time with time="
        )
    values = frame[column]
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        return values.dt.epoch("ms").alias(column)
    if dtype == pl.Date:
        return values.cast(pl.Datetime("ms")).dt.epoch("ms").alias(column)
    if dtype.is_integer():
        return values.cast(pl.Int64)
    if dtype == pl.String:
        try:
            parsed = values.str.to_datetime(time_zone="UTC")
        except pl.exceptions.PolarsError as exc:
            raise ConfigError(
                f"{source}: event-time column {column!r} holds text that is not a date and "
                f"time ({exc}); give ISO 8601 times or milliseconds since the epoch"
            ) from exc
        return parsed.dt.epoch("ms").alias(column)
    raise ConfigError(
        f"{source}: event-time column {column!r} holds {dtype} values; it needs datetimes, "
        "dates, ISO 8601 text or milliseconds since the epoch"
    )
