"""Windows in local runs: every window kind and aggregation against pandas, late data, emit
modes, and configuration mistakes."""

from __future__ import annotations

import pandas as pd
import pytest
from window_oracle import (
    CLOSER,
    assert_matches,
    by_time,
    closers,
    expected,
    records,
    windowed_app,
)

from headwater import App, ConfigError, agg, windows


def test_every_window_kind_and_aggregation_equals_pandas_in_a_local_run() -> None:
    data = records(300, seed=4)
    app, outputs, late = windowed_app("local-windows", max_batch_records=17)
    stream = data["main"] + data["late"] + closers([CLOSER], 10_000)
    result = app.test({"orders": stream})
    assert result.dead_letters.empty
    for kind, topic in outputs.items():
        got = result.outputs[topic]
        got = got[got["customer"] != CLOSER]
        assert_matches(got, expected(kind, by_time(kind, data)))
    for topic in late.values():  # late records in the side outputs, and only there
        assert sorted(result.outputs[topic]["id"]) == [r["id"] for r in data["late"]]


def test_windows_close_in_order_with_their_key_and_window_columns() -> None:
    app = App("order", max_batch_records=2)
    sdf = app.dataframe(app.topic("clicks", timestamp="ts"))
    out = sdf.group_by("user").window(windows.tumbling("10s")).agg(n=agg.count())
    result = out.test(
        [
            {"user": "a", "ts": 1_000},
            {"user": "b", "ts": 2_000},
            {"user": "a", "ts": 12_000},
            {"user": "a", "ts": 25_000},
        ]
    )
    assert result[["user", "window_start", "window_end", "n"]].values.tolist() == [
        ["a", 0, 10_000, 1],
        ["b", 0, 10_000, 1],
        ["a", 10_000, 20_000, 1],
        ["a", 20_000, 30_000, 1],  # closed by the end of the input
    ]
    assert result["_key"].tolist() == ["a", "b", "a", "a"]
    assert result["_timestamp"].tolist() == [1_000, 2_000, 12_000, 25_000]  # latest record


def test_emit_update_sends_a_window_after_every_batch_that_changed_it() -> None:
    app = App("updates", max_batch_records=1)
    sdf = app.dataframe(app.topic("clicks", timestamp="ts"))
    out = sdf.group_by("user").window(windows.tumbling("10s"), emit="update").agg(n=agg.count())
    result = out.test([{"user": "a", "ts": t} for t in (1_000, 2_000, 3_000, 11_000)])
    assert result[["window_start", "n"]].values.tolist() == [[0, 1], [0, 2], [0, 3], [10_000, 1]]


def test_session_windows_merge_when_a_record_bridges_them() -> None:
    app = App("sessions", max_batch_records=1)
    sdf = app.dataframe(app.topic("clicks", timestamp="ts")).with_watermarks("10s")
    out = sdf.group_by("user").window(windows.session("3s")).agg(n=agg.count())
    result = out.test([{"user": "a", "ts": t} for t in (1_000, 6_000, 3_500, 30_000)])
    # 1s and 6s are two sessions until 3.5s arrives, within 3s of both: one session.
    assert result[["window_start", "window_end", "n"]].values.tolist() == [
        [1_000, 9_000, 3],
        [30_000, 33_000, 1],
    ]


@pytest.mark.parametrize("per_batch", [1, 10])
def test_records_exactly_one_gap_apart_share_a_session(per_batch: int) -> None:
    # Flink and Kafka Streams: [1s, 4s) and [4s, 7s) touch, so 1s and 4s are one session, in
    # one batch or across batches; 7.001s is more than the gap after 4s: a session of its own.
    app = App("session-edges", max_batch_records=per_batch)
    sdf = app.dataframe(app.topic("clicks", timestamp="ts")).with_watermarks("10s")
    out = sdf.group_by("user").window(windows.session("3s")).agg(n=agg.count())
    result = out.test([{"user": "a", "ts": t} for t in (1_000, 4_000, 7_001, 40_000)])
    assert result[["window_start", "window_end", "n"]].values.tolist() == [
        [1_000, 7_000, 2],
        [7_001, 10_001, 1],
        [40_000, 43_000, 1],
    ]


def test_late_records_are_dead_letters_without_a_late_branch() -> None:
    app = App("late-dlq", max_batch_records=1)
    sdf = app.dataframe(app.topic("clicks", timestamp="ts"))
    windowed = sdf.group_by("user").window(windows.tumbling("1s"))
    out = windowed.agg(n=agg.count())
    result = out.test([{"user": "a", "ts": 5_000}, {"user": "a", "ts": 1_000}])
    assert result["n"].tolist() == [1]
    dead = result.attrs["dead_letters"]
    assert len(dead) == 1 and "late record" in dead["reason"][0]
    assert windowed.late_records == 1


def test_allowed_lateness_keeps_windows_open() -> None:
    app = App("lateness", max_batch_records=1)
    sdf = app.dataframe(app.topic("clicks", timestamp="ts"))
    windowed = sdf.group_by("user").window(windows.tumbling("1s"), allowed_lateness="5s")
    out = windowed.agg(n=agg.count())
    late = windowed.late()
    data = [{"user": "a", "ts": t} for t in (500, 4_000, 700, 7_000, 800)]
    assert out.test(data)[["window_start", "n"]].values.tolist() == [
        [0, 2],
        [4_000, 1],
        [7_000, 1],
    ]
    assert late.test(data)["ts"].tolist() == [800]  # 7s - 5s passed the end of [0, 1s)


def test_apply_window_receives_the_records_as_pandas() -> None:
    seen: list[pd.DataFrame] = []

    def spread(df: pd.DataFrame) -> float:
        seen.append(df)
        return float(df["price"].max() - df["price"].min())

    app = App("apply")
    sdf = app.dataframe(app.topic("orders", timestamp="ts"))
    out = sdf.group_by("sku").window(windows.tumbling_count(2)).apply_window(spread)
    result = out.test([{"sku": "x", "price": p, "ts": i} for i, p in enumerate([3.0, 5.0, 1.0])])
    assert result["result"].tolist() == [2.0]
    assert list(seen[0].columns) == ["price", "ts"] and seen[0]["price"].tolist() == [3.0, 5.0]


def test_a_failing_window_function_is_a_dead_letter() -> None:
    app = App("apply-fails")
    sdf = app.dataframe(app.topic("orders", timestamp="ts"))
    out = sdf.group_by("sku").window(windows.tumbling("1s")).apply_window(lambda df: 1 / 0)
    result = out.test([{"sku": "x", "ts": 10}])
    assert result.empty
    assert result.attrs["dead_letters"]["error_type"].tolist() == ["ZeroDivisionError"]


def test_window_configuration_mistakes_are_named() -> None:
    app = App("mistakes")
    grouped = app.dataframe(app.topic("t")).group_by("k")
    with pytest.raises(ConfigError, match="is not a duration"):
        windows.tumbling(10)
    with pytest.raises(ConfigError, match="step must not exceed size"):
        windows.hopping("1s", step="2s")
    with pytest.raises(ConfigError, match="an int >= 1"):
        windows.tumbling_count(0)
    with pytest.raises(ConfigError, match="takes a window"):
        grouped.window("1m")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="use 'close' or 'update'"):
        grouped.window(windows.tumbling("1s"), emit="sometimes")
    with pytest.raises(ConfigError, match="not available for sliding"):
        grouped.window(windows.sliding("1s"), emit="update")
    with pytest.raises(ConfigError, match="not tumbling_count"):
        grouped.window(windows.tumbling_count(3), early_every="1s")
    with pytest.raises(ConfigError, match="early_every"):
        grouped.window(windows.tumbling("1s"), early_every="0s")
    with pytest.raises(ConfigError, match="allowed_lateness"):
        grouped.window(windows.tumbling("1s"), allowed_lateness="soon")
    with pytest.raises(ConfigError, match="windows only"):
        grouped.agg_running(s=agg.std("x"))
    with pytest.raises(ConfigError, match="q must be between 0 and 1"):
        agg.quantile("x", 1.5)
    windowed = grouped.window(windows.tumbling("1s"))
    with pytest.raises(ConfigError, match="after agg"):
        windowed.late()
    windowed.agg(n=agg.count())
    with pytest.raises(ConfigError, match="already has a tumbling window"):
        grouped.window(windows.tumbling("2s")).agg(n=agg.count())
    with pytest.raises(ConfigError, match="max_out_of_orderness"):
        app.dataframe(app.topic("u")).with_watermarks("-1s")
