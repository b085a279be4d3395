"""Rows that user code returns (and records the batch parser could not take) become a frame
that holds each row's own values, whatever mix of kinds a column has."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from headwater.serde.frames import frame_from_rows


@pytest.mark.parametrize(
    "values",
    [
        ["x", {"b": 1}],  # text beside an object: no one type fits
        [{"b": 1}, "x"],
        [[1], "x"],
        [[1], ["x"]],  # inside a list Polars would make the 1 a "1"
        [{"b": 1}, {"b": "x"}],  # ... and inside a struct
        [[True], [1]],  # a boolean is no integer
        [1, {"b": 1}],
        ["1", 1],
    ],
    ids=repr,
)
def test_a_column_of_mixed_kinds_keeps_each_value(values: list[Any]) -> None:
    rows = [{"a": value, "n": i} for i, value in enumerate(values)]
    frame = frame_from_rows(rows)
    assert frame.to_dicts() == rows
    assert frame.schema["n"] == pl.Int64  # the other columns keep their types


def test_columns_of_one_kind_keep_native_types() -> None:
    rows = [{"a": [1], "s": {"b": 1}, "t": "x"}, {"a": [2.5], "s": {"c": 2}, "t": None}]
    frame = frame_from_rows(rows)
    assert frame.schema == {
        "a": pl.List(pl.Float64),
        "s": pl.Struct({"b": pl.Int64, "c": pl.Int64}),
        "t": pl.String,
    }
    assert frame["s"].to_list() == [{"b": 1, "c": None}, {"b": None, "c": 2}]
