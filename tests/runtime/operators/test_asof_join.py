"""The as-of join: equal to ``pandas.merge_asof`` over the same records, locally in batches of
every size and whichever input comes first, and live through the broker with several
partitions, where late records go only to the side output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import polars as pl
import pytest
from asof_oracle import COLUMNS, asof_join, with_ties
from integration_helpers import FAST_GROUP, produce_records, read_topic, running, wait_until
from join_oracle import BOUND_MS, CLOSER, canonical, closers, streams

from headwater import App
from headwater.runtime.operators.asof_match import match_asof

PARTITIONS = 4
TOLERANCE_MS = 1_500


def _app(name: str, how: str = "left", tolerance: int | None = None, **settings: Any) -> App:
    app = App(name, **settings)
    left, right = (
        app.dataframe(app.topic(t, timestamp="ts", partitions=PARTITIONS)).with_watermarks(
            f"{BOUND_MS}ms"
        )
        for t in (f"{name}-trades", f"{name}-quotes")
    )
    joined = left.join_asof(
        right,
        tolerance=None if tolerance is None else f"{tolerance}ms",
        how=how,  # type: ignore[arg-type]
    )
    joined.to_topic(app.topic(f"{name}-out"))
    joined.late().to_topic(app.topic(f"{name}-late"))
    return app


def _local(app: App, data: dict[str, list[dict[str, Any]]], first: str) -> dict[str, pd.DataFrame]:
    name = app.name
    inputs = {
        f"{name}-trades": (data["left"], [r["user"] for r in data["left"]], None),
        f"{name}-quotes": (data["right"], [r["user"] for r in data["right"]], None),
    }
    if first == "right":
        inputs = dict(reversed(list(inputs.items())))
    return app.run_local(inputs).outputs


@pytest.mark.parametrize(
    ("how", "tolerance", "batch", "first"),
    [
        ("left", None, 1, "left"),
        ("left", TOLERANCE_MS, 17, "right"),
        ("inner", TOLERANCE_MS, 500, "left"),
        ("inner", None, 64, "right"),
    ],
)
def test_the_asof_join_equals_pandas_merge_asof(
    how: str, tolerance: int | None, batch: int, first: str
) -> None:
    data = streams(150, seed=batch)
    data["right"] = with_ties(data["right"], 7, 50_000)
    app = _app("asof", how, tolerance, max_batch_records=batch)
    outputs = _local(app, data, first)
    want = asof_join(data["left"], data["right"], tolerance, how)
    assert canonical(outputs["asof-out"], COLUMNS) == canonical(want, COLUMNS)
    assert "asof-late" not in outputs


def test_a_right_record_at_the_left_records_time_matches_and_the_later_of_a_tie_wins() -> None:
    left = [{"id": 1, "user": "u", "ts": 1_000}]
    right = [
        {"id": 10, "user": "u", "ts": 1_000},
        {"id": 11, "user": "u", "ts": 1_000},  # the same time, produced later: it wins
        {"id": 12, "user": "u", "ts": 1_001},  # after the left record: never met
    ]
    out = _local(_app("tie"), {"left": left, "right": right}, "left")["tie-out"]
    assert out[["id", "id_right"]].to_dict("records") == [{"id": 1, "id_right": 11}]


def test_the_match_is_polars_join_asof_backward_within_the_tolerance() -> None:
    left = pl.DataFrame({"k": ["a", "a", "b"], "t": [10, 20, 10], "x": [1, 2, 3]})
    right = pl.DataFrame({"k": ["a", "b"], "t": [5, 11], "v": ["five", "eleven"]})
    got = match_asof(left, right, "k", "t", tolerance=10)
    assert got["v"].to_list() == ["five", None, None]  # 20 - 5 > 10; b's only version is later


def _send(bootstrap: str, topic: str, rows: list[dict[str, Any]]) -> None:
    produce_records(
        bootstrap, topic, [(r["user"].encode(), orjson.dumps(r), None, None) for r in rows]
    )


def _frame(bootstrap: str, topic: str) -> pd.DataFrame:
    return pd.DataFrame([orjson.loads(m.value()) for m in read_topic(bootstrap, topic)])


@pytest.mark.broker
@pytest.mark.parametrize(
    ("order", "guarantee"), [("alternating", "at-least-once"), ("right-first", "exactly-once")]
)
def test_live_the_asof_join_equals_merge_asof_and_late_records_go_aside(
    bootstrap: str,
    admin: Any,
    unique: Callable[[str], str],
    tmp_path: Path,
    order: str,
    guarantee: str,
) -> None:
    from headwater import Topic

    name = unique("asof")
    trades, quotes = f"{name}-trades", f"{name}-quotes"
    admin.create([Topic(trades, partitions=PARTITIONS), Topic(quotes, partitions=PARTITIONS)])
    data = streams(240, seed=23)
    data["right"] = with_ties(data["right"], 7, 50_000)
    app = _app(
        name,
        "left",
        TOLERANCE_MS,
        broker=bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        max_batch_records=20,
        state_dir=tmp_path / "state",
        guarantee=guarantee,
    )
    want = asof_join(data["left"], data["right"], TOLERANCE_MS)
    if order == "right-first":
        _send(bootstrap, quotes, data["right"])
        _send(bootstrap, trades, data["left"])
    else:
        for start in range(0, len(data["right"]), 30):
            _send(bootstrap, trades, data["left"][start : start + 30])
            _send(bootstrap, quotes, data["right"][start : start + 30])
    with running(app):
        # Closers far ahead on every partition of both inputs: the watermark passes every
        # record, so each left record is joined, and the records far behind are late.
        for partition, row in closers(PARTITIONS, 90_000):
            for topic in (trades, quotes):
                record = (row["user"].encode(), orjson.dumps(row), None, None)
                produce_records(bootstrap, topic, [record], partition=partition)
        wait_until(lambda: len(_frame(bootstrap, f"{name}-out")) >= len(want), timeout=90)
        _send(bootstrap, trades, data["late_left"])
        _send(bootstrap, quotes, data["late_right"])
        late_ids = sorted(r["id"] for r in data["late_left"] + data["late_right"])
        wait_until(lambda: len(_frame(bootstrap, f"{name}-late")) >= len(late_ids), timeout=60)
    got = _frame(bootstrap, f"{name}-out")
    assert not got["user"].str.startswith(CLOSER).any()  # the closers are never passed
    assert canonical(got, COLUMNS) == canonical(want, COLUMNS)
    assert sorted(_frame(bootstrap, f"{name}-late")["id"]) == late_ids
    assert read_topic(bootstrap, f"{name}.dlq") == []
