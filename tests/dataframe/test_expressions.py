"""Every expression of the DataFrame API, run through the real executor with ``sdf.test``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from headwater import App, Column, ConfigError, StreamingDataFrame, col, lit


def _sdf() -> StreamingDataFrame:
    app = App("expressions")
    return app.dataframe(app.topic("in"))


def values(frame: pd.DataFrame, name: str) -> list[Any]:
    """A column as Python values, with pandas' NaN placeholders read back as None (null)."""
    out = []
    for v in frame[name].tolist():
        v = v.item() if hasattr(v, "item") else v
        out.append(None if isinstance(v, float) and math.isnan(v) else v)
    return out


def assign(records: list[dict[str, Any]], build: Callable[[StreamingDataFrame], Any]) -> list[Any]:
    """Assign ``build(sdf)`` to column ``out`` and return its values, one per record."""
    sdf = _sdf()
    sdf["out"] = build(sdf)
    result = sdf.test(records)
    assert result.attrs["dead_letters"].empty, result.attrs["dead_letters"]["reason"].tolist()
    return values(result, "out")


def kept(records: list[dict[str, Any]], build: Callable[[StreamingDataFrame], Any]) -> list[Any]:
    """The ``id`` of the records that ``sdf[build(sdf)]`` keeps."""
    sdf = _sdf()
    result = sdf[build(sdf)].test(records)
    assert result.attrs["dead_letters"].empty, result.attrs["dead_letters"]["reason"].tolist()
    return values(result, "id") if len(result) else []


NUMS = [{"a": 7, "b": 2}, {"a": -7, "b": 2}, {"a": 3, "b": 0}, {"a": None, "b": 1}, {"b": 4}]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda s: s["a"] + s["b"], [9, -5, 3, None, None]),
        (lambda s: s["a"] - 1, [6, -8, 2, None, None]),
        (lambda s: 10 - s["a"], [3, 17, 7, None, None]),
        (lambda s: s["a"] * s["b"], [14, -14, 0, None, None]),
        (lambda s: s["a"] / s["b"], [3.5, -3.5, None, None, None]),
        (lambda s: s["a"] // s["b"], [3, -4, None, None, None]),
        (lambda s: s["a"] % s["b"], [1, 1, None, None, None]),
        (lambda s: s["a"] ** 2, [49, 49, 9, None, None]),
        (lambda s: 2 ** s["b"], [4, 4, 1, 2, 16]),
        (lambda s: 12 / s["b"], [6.0, 6.0, None, 12.0, 3.0]),
        (lambda s: 7 // s["b"], [3, 3, None, 7, 1]),
        (lambda s: 7 % s["b"], [1, 1, None, 0, 3]),
        (lambda s: -s["a"], [-7, 7, -3, None, None]),
        (lambda s: s["a"].abs(), [7, 7, 3, None, None]),
        (lambda s: abs(s["a"]), [7, 7, 3, None, None]),
    ],
)
def test_arithmetic_follows_python_and_null_propagates(
    build: Callable[[StreamingDataFrame], Any], expected: list[Any]
) -> None:
    assert assign(NUMS, build) == expected


def test_float_division_by_zero_and_not_a_number_are_null() -> None:
    records = [{"x": 1.5, "y": 0.0}, {"x": 0.0, "y": 0.0}, {"x": -2.0, "y": 4.0}]
    assert assign(records, lambda s: s["x"] / s["y"]) == [None, None, -0.5]
    assert assign(records, lambda s: s["x"] // s["y"]) == [None, None, -1.0]
    assert assign(records, lambda s: s["x"] % s["y"]) == [None, None, 2.0]
    assert assign(records, lambda s: s["x"] ** 0.5) == [math.sqrt(1.5), 0.0, None]


def test_float_floor_division_floors_the_quotient() -> None:
    records = [{"x": 7.5, "y": 2.0}, {"x": -7.5, "y": 2.0}, {"x": 7.0, "y": 0.1}]
    assert assign(records, lambda s: s["x"] // s["y"]) == [3.0, -4.0, 70.0]
    assert assign(records, lambda s: s["x"] % s["y"])[:2] == [1.5, 0.5]


def test_int_to_a_negative_int_power_is_a_dead_letter_but_float_power_works() -> None:
    sdf = _sdf()
    sdf["out"] = sdf["a"] ** -1
    result = sdf.test([{"a": 2}])
    assert len(result) == 0
    assert result.attrs["dead_letters"]["operator"].tolist() == ["assign out"]
    assert assign([{"a": 2}], lambda s: s["a"] ** -1.0) == [0.5]


def test_round_is_half_to_even_and_keeps_ints() -> None:
    records = [{"x": 0.5, "i": 3}, {"x": 1.5, "i": -4}, {"x": 2.5, "i": None}, {"x": -1.26}]
    assert assign(records, lambda s: s["x"].round()) == [0.0, 2.0, 2.0, -1.0]
    assert assign(records, lambda s: s["x"].round(1)) == [0.5, 1.5, 2.5, -1.3]
    assert assign(records, lambda s: round(s["x"])) == [0.0, 2.0, 2.0, -1.0]
    assert assign(records, lambda s: s["i"].round()) == [3, -4, None, None]
    with pytest.raises(ConfigError, match="decimals"):
        _sdf()["x"].round(-1)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda s: s["a"] == 7, [True, False, False, None, None]),
        (lambda s: s["a"] != 7, [False, True, True, None, None]),
        (lambda s: s["a"] < s["b"], [False, True, False, None, None]),
        (lambda s: s["a"] <= 3, [False, True, True, None, None]),
        (lambda s: s["a"] > 3, [True, False, False, None, None]),
        (lambda s: s["a"] >= -7, [True, True, True, None, None]),
        (lambda s: 3 < s["b"], [False, False, False, False, True]),  # noqa: SIM300
    ],
)
def test_comparisons_give_null_for_null(
    build: Callable[[StreamingDataFrame], Any], expected: list[Any]
) -> None:
    assert assign(NUMS, build) == expected


BOOLS = [
    {"id": i, "p": p, "q": q}
    for i, (p, q) in enumerate([(p, q) for p in (True, False, None) for q in (True, False, None)])
]


def test_and_or_not_are_three_valued() -> None:
    t, f, n = True, False, None
    assert assign(BOOLS, lambda s: s["p"] & s["q"]) == [t, f, n, f, f, f, n, f, n]
    assert assign(BOOLS, lambda s: s["p"] | s["q"]) == [t, t, t, t, f, n, t, n, n]
    assert assign(BOOLS, lambda s: ~s["p"]) == [f, f, f, t, t, t, n, n, n]
    assert assign(BOOLS, lambda s: s["p"] & True) == [t, t, t, f, f, f, n, n, n]
    assert assign(BOOLS, lambda s: False | s["q"]) == [t, f, n] * 3


def test_a_filter_keeps_only_true_rows() -> None:
    assert kept(BOOLS, lambda s: s["p"] | s["q"]) == [0, 1, 2, 3, 6]
    assert kept(BOOLS, lambda s: ~(s["p"] & s["q"])) == [1, 3, 4, 5, 7]
    assert kept(BOOLS, lambda s: s["p"]) == [0, 1, 2]


def test_a_column_is_not_a_python_bool() -> None:
    sdf = _sdf()
    with pytest.raises(TypeError, match="no truth value"):
        bool(sdf["a"] > 1)


def test_isin_compares_numbers_across_int_and_float() -> None:
    records = [{"id": 0, "x": 1.0}, {"id": 1, "x": 2.5}, {"id": 2, "x": None}, {"id": 3}]
    assert assign(records, lambda s: s["x"].isin([1, 2])) == [True, False, None, None]
    assert assign(records, lambda s: s["x"].isin([2.5])) == [False, True, None, None]
    assert assign(records, lambda s: s["id"].isin([1.0, 3.5])) == [False, True, False, False]
    assert assign(records, lambda s: s["id"].isin([])) == [False, False, False, False]
    assert kept(records, lambda s: ~s["x"].isin([1])) == [1]


def test_isin_on_strings_and_on_a_field_no_record_has() -> None:
    records = [{"c": "eu"}, {"c": "us"}, {"c": None}]
    assert assign(records, lambda s: s["c"].isin(["eu", "uk"])) == [True, False, None]
    assert assign(records, lambda s: s["nothing"].isin(["eu"])) == [None, None, None]


def test_null_checks_and_fill_null() -> None:
    records = [{"x": 1}, {"x": None}, {}]
    assert assign(records, lambda s: s["x"].is_null()) == [False, True, True]
    assert assign(records, lambda s: s["x"].is_not_null()) == [True, False, False]
    assert assign(records, lambda s: s["x"].fill_null(0)) == [1, 0, 0]
    assert assign(records, lambda s: s["x"].fill_null(s["x"] + 1)) == [1, None, None]
    assert assign(records, lambda s: s["y"].fill_null("none")) == ["none"] * 3


@pytest.mark.parametrize(
    ("target", "raw", "expected"),
    [
        (int, [3.9, -3.9, 1e19, None], [3, -3, None, None]),
        (int, ["12", "+4", "1.5", "abc", " 7"], [12, 4, None, None, None]),
        (int, [True, False], [1, 0]),
        ("int", [2.0], [2]),
        (float, [3, None], [3.0, None]),
        (float, ["1.5", "1e3", "nan", "x"], [1.5, 1000.0, None, None]),
        (float, [True], [1.0]),
        (str, [3, -1], ["3", "-1"]),
        (str, [True, False], ["true", "false"]),
        (str, [1.5], ["1.5"]),
        (bool, [0, 2, None], [False, True, None]),
        (bool, [0.0, -0.5], [False, True]),
        (bool, ["true", "FALSE", "yes", ""], [True, False, None, None]),
        ("bool", [True], [True]),
    ],
)
def test_astype_casts_or_gives_null(target: Any, raw: list[Any], expected: list[Any]) -> None:
    records = [{"v": v} for v in raw]
    assert assign(records, lambda s: s["v"].astype(target)) == expected
    assert assign(records, lambda s: s["v"].cast(target)) == expected


def test_astype_of_a_field_no_record_has_is_null() -> None:
    for target in (int, float, str, bool):
        assert assign([{"a": 1}], lambda s, t=target: s["v"].astype(t)) == [None]


STRINGS = [{"s": "Hello World"}, {"s": "hello"}, {"s": None}, {}]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda s: s["s"].str.contains("llo"), [True, True, None, None]),
        (lambda s: s["s"].str.contains("W.r", regex=True), [True, False, None, None]),
        (lambda s: s["s"].str.contains("W.r"), [False, False, None, None]),
        (lambda s: s["s"].str.lower(), ["hello world", "hello", None, None]),
        (lambda s: s["s"].str.upper(), ["HELLO WORLD", "HELLO", None, None]),
        (lambda s: s["s"].str.startswith("He"), [True, False, None, None]),
        (lambda s: s["s"].str.endswith("lo"), [False, True, None, None]),
        (lambda s: s["s"].str.len(), [11, 5, None, None]),
        (lambda s: s["s"] + "!", ["Hello World!", "hello!", None, None]),
        (lambda s: s["s"] < "b", [True, False, None, None]),
    ],
)
def test_string_methods(build: Callable[[StreamingDataFrame], Any], expected: list[Any]) -> None:
    assert assign(STRINGS, build) == expected


def test_every_operation_on_a_field_no_record_has_gives_null() -> None:
    ops: list[Callable[[Column], Any]] = [
        lambda c: -c,
        lambda c: c.abs(),
        lambda c: c.round(),
        lambda c: c**2,
        lambda c: c / 2,
        lambda c: c // 2,
        lambda c: c % 2,
        lambda c: c + 1,
        lambda c: ~c,
        lambda c: c & c,
        lambda c: c | c,
        lambda c: c.str.lower(),
        lambda c: c.str.contains("a"),
        lambda c: c > 1,
        lambda c: c["inner"],
    ]
    for op in ops:
        assert assign([{"a": 1}, {"a": 2}], lambda s, op=op: op(s["gone"])) == [None, None]
        # Present in the data but null in every record of the batch: the same.
        assert assign([{"gone": None}], lambda s, op=op: op(s["gone"])) == [None]


def test_nested_fields_read_objects_and_missing_parts_are_null() -> None:
    records = [
        {"id": 0, "user": {"id": 7, "name": "ann", "geo": {"cc": "fr"}}},
        {"id": 1, "user": {"id": 8}},
        {"id": 2, "user": None},
        {"id": 3},
    ]
    assert assign(records, lambda s: s["user"]["id"]) == [7, 8, None, None]
    assert assign(records, lambda s: s["user"]["name"].str.upper()) == ["ANN", None, None, None]
    assert assign(records, lambda s: s["user"]["geo"]["cc"]) == ["fr", None, None, None]
    assert assign(records, lambda s: s["user"]["nope"]) == [None] * 4
    assert kept(records, lambda s: s["user"]["id"] > 7) == [1]


def test_assignment_of_constants_and_expressions() -> None:
    sdf = _sdf()
    sdf["one"] = 1
    sdf["tag"] = "x"
    sdf["total"] = sdf["price"] * sdf["qty"]
    sdf["big"] = sdf["total"] > 10
    result = sdf.test([{"price": 2.5, "qty": 2}, {"price": 4.0, "qty": 3}])
    assert values(result, "one") == [1, 1]
    assert values(result, "tag") == ["x", "x"]
    assert values(result, "total") == [5.0, 12.0]
    assert values(result, "big") == [False, True]


def test_filter_then_assign_then_filter() -> None:
    sdf = _sdf()
    sdf = sdf[sdf["a"] > 0]
    sdf["double"] = sdf["a"] * 2
    sdf = sdf.filter(sdf["double"] < 10)
    result = sdf.test([{"a": -1}, {"a": 2}, {"a": 4}, {"a": 6}, {}])
    assert values(result, "double") == [4, 8]


def test_with_columns_select_drop_rename() -> None:
    records = [{"a": 1, "b": 2, "c": 3}]
    sdf = _sdf()
    out = sdf.with_columns(s=sdf["a"] + sdf["b"], k=lit(5), t=col("c") * 10)
    result = out.test(records)
    assert (values(result, "s"), values(result, "k"), values(result, "t")) == ([3], [5], [30])

    sdf = _sdf()
    result = sdf.select("a", "c").test(records)
    assert [c for c in result.columns if not c.startswith("_")] == ["a", "c"]
    sdf = _sdf()
    result = sdf[["b"]].test(records)
    assert [c for c in result.columns if not c.startswith("_")] == ["b"]
    sdf = _sdf()
    result = sdf.drop("a").test(records)
    assert [c for c in result.columns if not c.startswith("_")] == ["b", "c"]
    sdf = _sdf()
    result = sdf.rename({"a": "x"}).test(records)
    assert [c for c in result.columns if not c.startswith("_")] == ["x", "b", "c"]


def test_col_and_lit_build_expressions_away_from_a_dataframe() -> None:
    condition = (col("a") > lit(1)) & col("tag").isin(["x"])
    total = col("a") * lit(2) + 1
    sdf = _sdf()
    sdf = sdf[condition]
    sdf["total"] = total
    result = sdf.test([{"a": 1, "tag": "x"}, {"a": 2, "tag": "x"}, {"a": 3, "tag": "y"}])
    assert values(result, "total") == [5]


def test_a_polars_expression_is_accepted_too() -> None:
    import polars as pl

    assert assign([{"a": 3}], lambda s: pl.col("a").cum_sum() + s["a"].expr) == [6]


def test_app_test_runs_expressions_to_an_output_topic() -> None:
    app = App("expressions-app")
    sdf = app.dataframe(app.topic("orders"))
    sdf = sdf[sdf["amount"].fill_null(0) >= 10]
    sdf["eur"] = (sdf["amount"] * 0.5).round(2)
    sdf.to_topic(app.topic("big"))
    result = app.test({"orders": [{"amount": 5}, {"amount": 25}, {}, {"amount": 10.25}]})
    assert result.outputs["big"]["eur"].tolist() == [12.5, 5.12]
    assert result.dead_letters.empty


def test_a_type_error_dead_letters_the_records_it_hits() -> None:
    sdf = _sdf()
    sdf["out"] = sdf["s"] * 2 - 1
    result = sdf.test([{"s": "abc"}])
    assert len(result) == 0
    assert result.attrs["dead_letters"]["operator"].tolist() == ["assign out"]


def test_int_constants_are_64_bit() -> None:
    assert assign([{"a": 1}], lambda s: lit(100_000) * 100_000 + s["a"]) == [10**10 + 1]
