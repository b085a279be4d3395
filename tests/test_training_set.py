"""Training sets never look past a label's time, and equal a brute-force point-in-time join."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.errors import ConfigError
from headwater.training import training_set

rows = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 100)), max_size=30)


def oracle(
    labels: list[tuple[str, int]],
    features: list[tuple[str, int, int]],
    inclusive: bool,
    tol: int | None,
) -> list[int | None]:
    answers: list[int | None] = []
    for entity, at in labels:
        seen = [
            (t, i, v)
            for i, (e, t, v) in enumerate(features)
            if e == entity and (t <= at if inclusive else t < at) and (tol is None or at - t <= tol)
        ]
        answers.append(max(seen)[2] if seen else None)  # latest; ties: the later row
    return answers


@settings(max_examples=200, deadline=None)
@given(
    labels=rows,
    feature_rows=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 100)), max_size=30),
    inclusive=st.booleans(),
    tolerance=st.one_of(st.none(), st.integers(0, 30)),
)
def test_the_join_equals_a_brute_force_point_in_time_lookup(
    labels: list[tuple[str, int]],
    feature_rows: list[tuple[str, int]],
    inclusive: bool,
    tolerance: int | None,
) -> None:
    # Distinct times per entity: with ties the "latest" row is ambiguous in any system.
    unique = list({(e, t): (e, t) for e, t in feature_rows}.values())
    features = [(e, t, n) for n, (e, t) in enumerate(unique)]
    left = pl.DataFrame(labels, schema={"card": pl.String, "at": pl.Int64}, orient="row")
    right = pl.DataFrame(
        features, schema={"card": pl.String, "known": pl.Int64, "value": pl.Int64}, orient="row"
    )
    result = training_set(left, right, "card", "at", "known", tolerance, inclusive)
    assert result["card"].to_list() == [e for e, _ in labels]  # the labels, in their order
    assert result["value"].to_list() == oracle(labels, features, inclusive, tolerance)


def test_pandas_labels_and_datetimes() -> None:
    labels = pl.DataFrame(
        {"card": ["a", "b"], "at": ["2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z"], "y": [1, 0]}
    ).to_pandas()
    features = pl.DataFrame(
        {
            "card": ["a", "a", "b"],
            "known": pl.Series(
                ["2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z", "2026-12-01T10:00:00Z"]
            ).str.to_datetime(time_zone="UTC"),
            "orders_1h": [3, 99, 5],
        }
    )
    result = training_set(labels, features, "card", "at", "known")
    assert result["orders_1h"].to_list() == [3, 5]
    strict = training_set(labels, features, "card", "at", "known", inclusive=False)
    assert strict["orders_1h"].to_list() == [3, None]


def test_bad_arguments_name_the_column() -> None:
    labels = pl.DataFrame({"card": ["a"], "at": [1], "spend": [1.0]})
    features = pl.DataFrame({"card": ["a"], "known": [1], "spend": [2.0]})
    with pytest.raises(ConfigError, match=r"labels lack column\(s\) \['when'\]"):
        training_set(labels, features, "card", "when", "known")
    with pytest.raises(ConfigError, match=r"both have \['spend'\]"):
        training_set(labels, features, "card", "at", "known")
