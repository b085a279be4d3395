"""Joins of two streams in local runs: results equal to pandas, the topology, build-time errors."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from join_oracle import (
    BOUND_MS,
    LOWER_MS,
    UPPER_MS,
    canonical,
    interval_join,
    session_join,
    streams,
    window_join,
)

from headwater import App, windows
from headwater.errors import ConfigError
from headwater.runtime.loop.step_metrics import topology_steps

COLUMNS = ["id", "user", "ts", "id_right", "ts_right"]


def _interval_app(how: str, batch: int = 25, on: str | None = "user") -> App:
    app = App("joins", max_batch_records=batch)
    left = app.dataframe(app.topic("left", timestamp="ts")).with_watermarks(f"{BOUND_MS}ms")
    right = app.dataframe(app.topic("right", timestamp="ts")).with_watermarks(f"{BOUND_MS}ms")
    joined = left.join_interval(
        right,
        on=on,
        lower=f"-{-LOWER_MS}ms",
        upper=f"{UPPER_MS}ms",
        how=how,  # type: ignore[arg-type]
    )
    joined.to_topic(app.topic("joined"))
    joined.late().to_topic(app.topic("late"))
    return app


@pytest.mark.parametrize("how", ["inner", "left"])
@pytest.mark.parametrize("batch", [7, 40])
def test_interval_join_equals_pandas_merge_and_late_records_go_to_the_side_output(
    how: str, batch: int
) -> None:
    data = streams(300, seed=3)
    app = _interval_app(how, batch)
    result = app.test(
        {"left": data["left"] + data["late_left"], "right": data["right"] + data["late_right"]}
    )
    want = interval_join(data["left"], data["right"], how)
    got = result.outputs["joined"]
    assert len(want) > 100  # the data makes pairs, and (for a left join) rows alone
    assert canonical(got, COLUMNS) == canonical(want, COLUMNS)
    late = sorted(result.outputs["late"]["id"])
    assert late == sorted(r["id"] for r in data["late_left"] + data["late_right"])
    assert result.dead_letters.empty


def test_interval_join_without_on_joins_the_record_keys() -> None:
    app = _interval_app("inner", on=None)
    data = streams(60, seed=5, late=0)
    result = app.run_local(
        {
            "left": (data["left"], [r["user"] for r in data["left"]], None),
            "right": (data["right"], [r["user"] for r in data["right"]], None),
        }
    )
    want = interval_join(data["left"], data["right"], "inner")
    assert canonical(result.outputs["joined"], COLUMNS[:1] + COLUMNS[3:]) == canonical(
        want, COLUMNS[:1] + COLUMNS[3:]
    )
    assert list(result.outputs["joined"]["_key"]) == list(result.outputs["joined"]["user"])


def test_a_join_is_one_node_with_both_inputs_in_the_topology() -> None:
    app = _interval_app("inner")
    topology = app.describe()
    joins = [n for n in topology["nodes"] if n["kind"] == "join_interval"]
    assert len(joins) == 1
    join = joins[0]
    assert len(join["parents"]) == 2 and join["parent"] == join["parents"][0]
    by_id = {n["id"]: n for n in topology["nodes"]}
    assert len(by_id) == len(topology["nodes"])  # each node once
    assert all(join["id"] in by_id[p]["children"] for p in join["parents"])
    # Both inputs are repartitioned by the join key, and the topology says so.
    assert [n["kind"] for n in topology["nodes"]].count("group_by") == 2
    internal = [i["topic"] for i in topology["inputs"] if i.get("internal")]
    assert sorted(internal) == [
        "joins-left-right-left-repartition",
        "joins-left-right-right-repartition",
    ]
    assert join["params"]["stores"] == ["left-right-interval-left", "left-right-interval-right"]
    steps = {s["id"]: s for s in topology_steps(topology)}
    assert steps[join["id"]]["inputs"] == join["parents"]
    assert sorted(app.stores) == ["left-right-interval-left", "left-right-interval-right"]
    assert {t.name for t in app.stores.values()} == set(internal)


def test_joining_topics_with_different_partition_counts_is_an_error_naming_both() -> None:
    app = App("joins")
    left = app.dataframe(app.topic("clicks", partitions=3))
    right = app.dataframe(app.topic("views", partitions=2))
    with pytest.raises(ConfigError, match=r"'clicks' has 3 .* 'views' has 2.*partitions=3"):
        left.join_interval(right, on="user", lower="-1s", upper="1s")


def test_a_left_join_sends_a_record_alone_only_once_no_record_can_meet_it() -> None:
    app = App("joins", max_batch_records=1)
    left = app.dataframe(app.topic("left", timestamp="ts"))
    right = app.dataframe(app.topic("right", timestamp="ts"))
    left.join_interval(right, on="k", lower="0s", upper="5s", how="left").to_topic(app.topic("out"))
    result = app.test(
        {
            "left": [{"k": "a", "ts": 1_000, "x": 1}, {"k": "b", "ts": 1_000, "x": 2}],
            "right": [{"k": "a", "ts": 6_000, "y": 1}, {"k": "b", "ts": 6_001, "y": 2}],
        }
    )
    out = result.outputs["out"].sort_values("x")
    assert out["x"].tolist() == [1, 2]
    assert out["y"].tolist()[0] == 1 and pd.isna(out["y"].tolist()[1])
    assert out["_timestamp"].tolist() == [6_000, 1_000]


def _window_app(how: str, window: Any, batch: int = 25) -> App:
    app = App("wjoins", max_batch_records=batch)
    left = app.dataframe(app.topic("left", timestamp="ts")).with_watermarks(f"{BOUND_MS}ms")
    right = app.dataframe(app.topic("right", timestamp="ts")).with_watermarks(f"{BOUND_MS}ms")
    joined = left.join_window(right, window, on="user", how=how)  # type: ignore[arg-type]
    joined.to_topic(app.topic("joined"))
    joined.late().to_topic(app.topic("late"))
    return app


WINDOW_COLUMNS = [*COLUMNS, "window_start", "window_end"]


@pytest.mark.parametrize(
    ("window", "size", "step"),
    [(windows.tumbling("3s"), 3_000, None), (windows.hopping("4s", step="1s"), 4_000, 1_000)],
)
@pytest.mark.parametrize("how", ["inner", "left"])
def test_window_join_equals_a_merge_per_window_and_late_records_go_aside(
    window: Any, size: int, step: int | None, how: str
) -> None:
    data = streams(300, seed=8)
    app = _window_app(how, window, batch=13)
    result = app.test(
        {"left": data["left"] + data["late_left"], "right": data["right"] + data["late_right"]}
    )
    want = window_join(data["left"], data["right"], size, step, how)
    got = result.outputs["joined"]
    assert len(want) > 100
    assert canonical(got, WINDOW_COLUMNS) == canonical(want, WINDOW_COLUMNS)
    assert (got["_timestamp"] == got["window_end"] - 1).all()
    late = sorted(result.outputs["late"]["id"])
    assert late == sorted(r["id"] for r in data["late_left"] + data["late_right"])
    assert result.dead_letters.empty


def test_window_join_takes_tumbling_hopping_and_session_windows_only() -> None:
    app = App("wjoins")
    left = app.dataframe(app.topic("a"))
    right = app.dataframe(app.topic("b"))
    with pytest.raises(ConfigError, match="tumbling, hopping or session"):
        left.join_window(right, windows.sliding("1m"))


@pytest.mark.parametrize("how", ["inner", "left"])
def test_session_join_equals_a_merge_per_session_of_both_inputs(how: str) -> None:
    data = streams(300, seed=12, users=12)
    app = _window_app(how, windows.session("400ms"), batch=11)
    result = app.test(
        {"left": data["left"] + data["late_left"], "right": data["right"] + data["late_right"]}
    )
    want = session_join(data["left"], data["right"], 400, how)
    got = result.outputs["joined"]
    assert len(want) > 50 and want["window_end"].nunique() > 20
    assert canonical(got, WINDOW_COLUMNS) == canonical(want, WINDOW_COLUMNS)
    late = sorted(result.outputs["late"]["id"])
    assert late == sorted(r["id"] for r in data["late_left"] + data["late_right"])


def test_a_history_run_of_the_joins_equals_the_batch_joins() -> None:
    data = streams(300, seed=4, late=0)
    app = App("joins-history", max_batch_records=30)
    left = app.dataframe(app.topic("left", timestamp="ts")).with_watermarks(f"{BOUND_MS}ms")
    right = app.dataframe(app.topic("right", timestamp="ts")).with_watermarks(f"{BOUND_MS}ms")
    interval = left.join_interval(
        right, on="user", lower=f"-{-LOWER_MS}ms", upper=f"{UPPER_MS}ms", how="left"
    )
    interval.to_topic(app.topic("by-interval"))
    hopping = left.join_window(right, windows.hopping("4s", step="1s"), on="user", name="w")
    hopping.to_topic(app.topic("by-window"))
    frames = {side: pd.DataFrame(data[side]) for side in ("left", "right")}
    result = app.run_history(frames)
    got_interval = result.outputs["by-interval"].to_pandas()
    want_interval = interval_join(data["left"], data["right"], "left")
    assert canonical(got_interval, COLUMNS) == canonical(want_interval, COLUMNS)
    got_window = result.outputs["by-window"].to_pandas()
    want_window = window_join(data["left"], data["right"], 4_000, 1_000)
    assert canonical(got_window, WINDOW_COLUMNS) == canonical(want_window, WINDOW_COLUMNS)
