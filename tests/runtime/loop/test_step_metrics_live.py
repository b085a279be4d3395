"""A live app on Apache Kafka serves each step's records in and out when run with --metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from kafka_helpers import FAST_GROUP, wait_until
from prometheus_client.parser import text_string_to_metric_families

from headwater.runtime.loop.status import STATUS_FILE_ENV

APP = """
from headwater import App, agg

app = App({group!r}, consumer_config={fast!r})
orders = app.dataframe(app.topic({source!r}))
big = orders[orders["amount"] >= 10]
counts = big.group_by("customer").agg_running(n=agg.count())
counts.to_topic(app.topic({sink!r}))
"""


def _scrape(address: str) -> dict[tuple[str, str], float]:
    """(counter, step) -> value of the app's step counters."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, sample.labels["step"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("headwater_step_records_")
    }


def test_a_running_app_serves_its_steps_counters(
    tmp_path: Path,
    bootstrap: str,
    make_topic: Callable[..., str],
    produce: Callable[..., None],
    read: Callable[..., list[Any]],
    unique: Callable[[str], str],
) -> None:
    source, sink = make_topic("steps-in", partitions=2), make_topic("steps-out")
    app_file = tmp_path / "app.py"
    app_file.write_text(
        textwrap.dedent(
            APP.format(group=unique("steps-app"), fast=FAST_GROUP, source=source, sink=sink)
        )
    )
    status = tmp_path / "status.json"
    # 30 orders of 3 customers; the 20 of amount >= 10 go on to the counts.
    produce(
        source,
        [
            (f"c{i % 3}".encode(), orjson.dumps({"customer": f"c{i % 3}", "amount": i}))
            for i in range(30)
        ],
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "headwater.cli",
            "run",
            str(app_file),
            "--broker",
            bootstrap,
            "--metrics",
            "127.0.0.1:0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, STATUS_FILE_ENV: str(status)},
    )
    try:
        report = wait_until(lambda: status.exists() and json.loads(status.read_text()), 60)
        address = report["metrics"]
        assert address.startswith("127.0.0.1:") and not address.endswith(":0")
        kinds = [s["kind"] for s in report["steps"]]
        assert kinds == ["source", "filter", "group_by", "source", "agg_running", "to_topic"]
        ids = [s["id"] for s in report["steps"]]
        expected = {
            ids[0]: (30, 30),  # the orders read
            ids[1]: (30, 20),  # the filter keeps amounts of 10 and more
            ids[2]: (20, 20),  # re-keyed to the repartition topic
            ids[3]: (20, 20),  # read back from it
            ids[4]: (20, 20),  # a running count per record
            ids[5]: (20, 20),
        }

        def counted() -> dict[str, tuple[float, float]] | None:
            found = _scrape(address)
            totals = {
                step: (
                    found[("headwater_step_records_in_total", step)],
                    found[("headwater_step_records_out_total", step)],
                )
                for step in ids
            }
            return totals if totals == expected else None

        try:
            wait_until(counted, timeout=60, interval=0.5)
        except AssertionError:
            raise AssertionError(f"counters: {_scrape(address)}; expected {expected}") from None
        assert len(read(sink)) == 20
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""
    finally:
        process.kill()
