"""History mode: a pipeline written against topics runs over files and DataFrames without a
broker, its code unchanged, and its results equal an independent pandas computation."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import polars as pl
import pytest
from window_oracle import assert_matches, by_time, expected, records, windowed_app

from headwater import App, agg
from headwater.errors import ConfigError
from headwater.sinks import ParquetSink
from headwater.sources import FileSource, FrameSource


@pytest.fixture(scope="module")
def orders() -> dict[str, list[dict]]:
    return records(400, seed=17, late=0)


def test_a_windowed_pipeline_over_files_and_frames_equals_pandas(
    orders: dict[str, list[dict]], tmp_path: Path
) -> None:
    frame = pl.DataFrame(orders["main"])
    folder = tmp_path / "orders"
    folder.mkdir()
    frame.slice(0, 150).write_parquet(folder / "part-1.parquet")
    frame.slice(150).write_parquet(folder / "part-2.parquet")
    frame.write_ndjson(tmp_path / "orders.jsonl")
    sources = {
        "parquet folder": FileSource(folder, time="ts", chunk_rows=64),
        "json lines": FileSource(tmp_path / "orders.jsonl", time="ts", chunk_rows=1_000),
        "pandas": FrameSource(frame.to_pandas(), time="ts", chunk_rows=50),
        "bare frame": frame,  # the topic's timestamp field is the time column
    }
    for label, source in sources.items():
        app, outputs, late = windowed_app(f"history-{label.replace(' ', '-')}")
        result = app.run_history({"orders": source})
        for kind, topic in outputs.items():
            got = result.outputs[topic].to_pandas()
            assert_matches(got, expected(kind, by_time(kind, orders)))
        assert all(topic not in result.outputs for topic in late.values()), label
        assert result.dead_letters.is_empty()


def test_records_without_an_event_time_are_dead_letters(tmp_path: Path) -> None:
    app = App("history-dead")
    sdf = app.dataframe(app.topic("orders", timestamp="ts"))
    totals = sdf.group_by("customer").agg_running(n=agg.count())
    totals.to_topic(app.topic("totals"))
    rows = pl.DataFrame({"customer": ["a", "b", "a"], "ts": [1_000, None, 3_000]})
    result = app.run_history({"orders": FrameSource(rows, time="ts")})
    assert result.outputs["totals"]["n"].to_list() == [1, 2]
    dead = result.dead_letters
    assert dead["offset"].to_list() == [1]
    assert orjson.loads(dead["value"][0]) == {"customer": "b", "ts": None}


def test_outputs_can_go_to_a_sink_instead(orders: dict[str, list[dict]], tmp_path: Path) -> None:
    app, outputs, _ = windowed_app("history-sink")
    sink = ParquetSink(tmp_path / "tumbling", partition_by=["customer"])
    result = app.run_history(
        {"orders": FrameSource(pl.DataFrame(orders["main"]), time="ts", chunk_rows=100)},
        sinks={outputs["tumbling"]: sink},
    )
    assert outputs["tumbling"] not in result.outputs and outputs["hopping"] in result.outputs
    written = sink.read().to_pandas()
    assert_matches(written, expected("tumbling", orders["main"]))
    assert not list((tmp_path / "tumbling").rglob("*.tmp"))


def test_inputs_and_sinks_are_checked() -> None:
    app = App("history-checks")
    sdf = app.dataframe(app.topic("clicks"))
    sdf.to_topic(app.topic("out"))
    clicks = pd.DataFrame({"user": ["a"], "at": [1]})
    with pytest.raises(ConfigError, match=r"no source for input topic\(s\) \['clicks'\]"):
        app.run_history({})
    with pytest.raises(ConfigError, match="reads no topic 'views'"):
        app.run_history({"views": FrameSource(clicks, time="at")})
    with pytest.raises(ConfigError, match=r"declares no timestamp field.*FrameSource"):
        app.run_history({"clicks": clicks})
    with pytest.raises(ConfigError, match=r"\['elsewhere'\] are not output topics"):
        app.run_history({"clicks": FrameSource(clicks, time="at")}, sinks={"elsewhere": object()})


def test_global_tables_are_refused_with_the_way_out() -> None:
    app = App("history-table")
    clicks = app.dataframe(app.topic("clicks", timestamp="ts"))
    users = app.global_table(app.topic("users"))
    clicks.join_table(users, on="user").to_topic(app.topic("out"))
    rows = pl.DataFrame({"user": ["a"], "ts": [1_000]})
    with pytest.raises(ConfigError, match=r"global tables .*app.run\(until='end'\)"):
        app.run_history({"clicks": rows})
