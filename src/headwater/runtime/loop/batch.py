"""The columnar micro-batch: one Polars frame of value columns plus three metadata columns.

``_hw_row`` points back into the :class:`Source` the rows came from (for origin, raw bytes and
headers), ``_hw_key`` holds the decoded key and ``_hw_ts`` the event timestamp in milliseconds.
Operators see and change value columns; metadata follows each row through filters, row
functions and one-to-many expansions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import polars as pl

# Re-exported: operators and the executor build columns with it.
from headwater.serde.frames import typed_series as typed_series

ROW = "_hw_row"
KEY = "_hw_key"
TS = "_hw_ts"
HEADERS = "_hw_headers"
META = (ROW, KEY, TS)
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Origin:
    """Where a record was read: the coordinates a dead letter or an error message names."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass
class Source:
    """What one poll delivered for one input topic, kept so any row can be traced back."""

    topic: str
    partitions: list[int]
    offsets: list[int]
    raw_keys: list[bytes | None]
    raw_values: list[bytes | None]
    timestamps: list[int]
    headers: list[Headers | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.offsets)

    def origin(self, row: int) -> Origin:
        return Origin(self.topic, self.partitions[row], self.offsets[row])

    def slice(self, start: int, stop: int) -> Source:
        """The records from ``start`` up to ``stop``, as a Source of their own."""
        if start == 0 and stop >= len(self):
            return self
        return Source(
            topic=self.topic,
            partitions=self.partitions[start:stop],
            offsets=self.offsets[start:stop],
            raw_keys=self.raw_keys[start:stop],
            raw_values=self.raw_values[start:stop],
            timestamps=self.timestamps[start:stop],
            headers=self.headers[start:stop],
        )

    def headers_of(self, row: int) -> Headers | None:
        return self.headers[row] if self.headers else None

    def next_offsets(self) -> dict[int, int]:
        """Per partition, the offset after the last record (what a commit stores)."""
        last = dict(zip(self.partitions, self.offsets, strict=True))  # later offsets win
        return {p: o + 1 for p, o in last.items()}


class Position(NamedTuple):
    """Where an input partition stands: the next offset to read (what a commit stores). The
    checkpoint tracks it for a partition whose state changed by time alone (windows closed,
    the watermark moved), so that change has an input offset."""

    topic: str
    partition: int
    next_offset: int

    def next_offsets(self) -> dict[int, int]:
        return {self.partition: self.next_offset}


def meta_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in META or c == HEADERS]


def value_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in META and c != HEADERS]


def values_of(frame: pl.DataFrame) -> pl.DataFrame:
    """The value columns alone: what user code and serializers see."""
    return frame.select(value_columns(frame))


def with_values(meta: pl.DataFrame, values: pl.DataFrame) -> pl.DataFrame:
    """Join metadata rows and value rows side by side (both of the same height)."""
    if values.width == 0:
        return meta
    clashes = [c for c in values.columns if c in meta.columns]
    if clashes:
        values = values.drop(clashes)
    return meta.hstack(values.get_columns())


def value_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return values_of(frame).to_dicts()
