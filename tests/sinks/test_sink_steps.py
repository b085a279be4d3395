"""Sink steps in a live pipeline: ``sdf.to_sink(...)`` writes Parquet files, PostgreSQL rows and
Redis hashes at each checkpoint; an app SIGKILLed in the middle of writing a Parquet file leaves
no partial file and, once restarted, every sink holds exactly the rows of the input, none twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import psycopg
import pytest
import redis
from integration_helpers import FAST_GROUP, produce_records, wait_until
from service_helpers import POSTGRES_URL, REDIS_URL, redis_key_prefix

from headwater import App, agg
from headwater.errors import ConfigError
from headwater.sinks import ParquetSink

pytestmark = pytest.mark.broker

PARTITIONS = 3

APP = """
import json
import os
import sys
import time
from pathlib import Path

import polars as pl

from headwater import App, agg
from headwater.sinks import ParquetSink, PostgresSink, RedisSink

config = json.loads(sys.argv[1])
if os.environ.get("KILL_MID_WRITE"):
    # The 40th Parquet file (a few checkpoints in) is written halfway; then the app waits.
    real_write = pl.DataFrame.write_parquet
    calls = []

    def half_written(frame, path, **kwargs):
        calls.append(path)
        real_write(frame, path, **kwargs)
        if len(calls) == 40:
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
            Path(config["flag"]).write_text(str(path))
            time.sleep(600)

    pl.DataFrame.write_parquet = half_written

app = App(
    config["group"],
    config["bootstrap"],
    commit_interval=0.2,
    max_batch_records=150,
    guarantee=config["guarantee"],
    state_dir=config["state_dir"],
    consumer_config=config["consumer_config"],
)
orders = app.dataframe(app.topic(config["source"], partitions=3))
totals = orders.group_by("customer", repartition=False).agg_running(
    n=agg.count(), total=agg.sum("amount")
)
totals.to_sink(ParquetSink(config["folder"], partition_by=["customer"], max_file_bytes=600))
totals.to_sink(PostgresSink(config["dsn"], config["table"], key=["customer"]))
totals.to_sink(RedisSink(config["redis"], key="customer", prefix=config["prefix"]))
app.run(until="end")
"""


@pytest.fixture
def table() -> Iterator[str]:
    name = f"totals_{os.urandom(4).hex()}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(f"CREATE TABLE {name} (customer text PRIMARY KEY, n bigint, total bigint)")
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(f"DROP TABLE {name}")


def _orders(count: int) -> list[dict[str, Any]]:
    return [{"customer": f"k{(i * 7) % 12:02d}", "amount": i % 97} for i in range(count)]


def _running(rows: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """Per record, its customer's count and sum so far: what the running aggregate writes."""
    so_far: dict[str, tuple[int, int]] = {}
    out = []
    for r in rows:
        n, total = so_far.get(r["customer"], (0, 0))
        so_far[r["customer"]] = (n + 1, total + r["amount"])
        out.append((r["customer"], n + 1, total + r["amount"]))
    return sorted(out)


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_a_kill_mid_write_leaves_no_partial_file_and_no_wrong_row(
    guarantee: str,
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    table: str,
    tmp_path: Path,
) -> None:
    source = make_topic("sink-orders", partitions=PARTITIONS)
    rows = _orders(3_000)
    produce_records(
        bootstrap, source, [(r["customer"].encode(), orjson.dumps(r), None, None) for r in rows]
    )
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(APP))
    folder = tmp_path / "totals"
    with redis_key_prefix() as prefix:
        config = {
            "group": unique("sinks"),
            "guarantee": guarantee,
            "bootstrap": bootstrap,
            "source": source,
            "state_dir": str(tmp_path / "state"),
            "consumer_config": FAST_GROUP,
            "folder": str(folder),
            "dsn": POSTGRES_URL,
            "table": table,
            "redis": REDIS_URL,
            "prefix": prefix,
            "flag": str(tmp_path / "killed-here"),
        }
        command = [sys.executable, str(script), json.dumps(config)]
        first = subprocess.Popen(
            command,
            env={**os.environ, "KILL_MID_WRITE": "1"},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until(lambda: (tmp_path / "killed-here").exists() or first.poll(), timeout=120)
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        finally:
            first.kill()
        partial = Path((tmp_path / "killed-here").read_text())
        assert partial.name.endswith(".tmp") and partial.exists()  # killed mid-file
        # Restarted: replays from the committed offsets, rewriting what the kill interrupted.
        second = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-3000:]

        assert not list(folder.rglob("*.tmp"))
        written = pl.read_parquet(folder / "**/*.parquet", hive_partitioning=True)
        got = sorted(written.select("customer", "n", "total").iter_rows())
        assert got == _running(rows)  # every update once: none lost, none twice, none wrong
        final = {c: (n, t) for c, n, t in _running(rows)}
        with psycopg.connect(POSTGRES_URL) as db:
            in_table = db.execute(f"SELECT customer, n, total FROM {table}").fetchall()
        assert {c: (n, t) for c, n, t in in_table} == final
        client = redis.Redis.from_url(REDIS_URL)
        hashes = {
            key.decode().removeprefix(prefix): client.hgetall(key)
            for key in client.scan_iter(f"{prefix}*")
        }
        assert {c: (int(h[b"n"]), int(h[b"total"])) for c, h in hashes.items()} == final


def test_history_runs_write_the_same_sink_steps(tmp_path: Path) -> None:
    app = App("sink-history")
    orders = app.dataframe(app.topic("orders", timestamp="at"))
    totals = orders.group_by("customer").agg_running(n=agg.count(), total=agg.sum("amount"))
    sink = ParquetSink(tmp_path / "totals", max_file_bytes=300)
    totals.to_sink(sink)
    rows = _orders(500)
    frame = pl.DataFrame(rows).with_row_index("at").with_columns(pl.col("at").cast(pl.Int64))
    app.run_history({"orders": frame})
    assert sorted(sink.read().select("customer", "n", "total").iter_rows()) == _running(rows)
    assert [s["kind"] for s in app.topology()["steps"]][-1] == "to_sink"


def test_to_sink_needs_a_sink() -> None:
    app = App("sink-checks")
    with pytest.raises(ConfigError, match=r"to_sink\(\) needs a sink with write"):
        app.dataframe(app.topic("orders")).to_sink(object())
