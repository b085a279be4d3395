"""An app with an as-of join and an interval join of the same two streams, under exactly-once,
SIGKILLed mid-stream and restarted twice: the read_committed results of both joins equal those
of an uninterrupted run (the batch joins over the input), each result once."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from asof_oracle import asof_join
from crash_harness import AppProcess
from integration_helpers import FAST_GROUP, committed_offsets, produce_records, wait_until
from join_oracle import canonical, interval_join
from kafka_helpers import read_all, skip_on_tansu

pytestmark = pytest.mark.broker

RECORDS = 3_000  # per input
USERS = 30
PARTITIONS = 3
BOUND_MS = 1_000
TOLERANCE_MS = 400
LOWER_MS, UPPER_MS = -1_500, 1_000  # the join oracle's interval
BASE_TS = 1_700_000_000_000
CLOSER = "zz-closer"
COLUMNS = ["id", "user", "ts", "id_right", "ts_right"]

APP_SCRIPT = """
import json
import logging
import sys
import time

from headwater import App

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
config = json.loads(sys.argv[1])
app = App(
    config["group"],
    config["bootstrap"],
    guarantee="exactly-once",
    state_dir=config["state_dir"],
    commit_interval=0.3,
    max_batch_records=100,
    consumer_config=config["consumer_config"],
)


def work(batch):
    time.sleep(0.02)  # stands for real per-batch work: kills land mid-stream
    return batch


trades, quotes = (
    app.dataframe(app.topic(t, timestamp="ts", partitions=3))
    .with_watermarks(config["bound"])
    .map_batches(work, format="polars")
    for t in (config["left"], config["right"])
)
trades.join_asof(quotes, tolerance=config["tolerance"], name="asof").to_topic(
    app.topic(config["asof_out"])
)
trades.join_interval(
    quotes, lower=config["lower"], upper=config["upper"], name="interval"
).to_topic(app.topic(config["interval_out"]))
app.run()
"""


def _records(seed: int, first_id: int) -> list[dict[str, Any]]:
    """Keyed records, out of order within the watermark bound: none is late."""
    rng = random.Random(seed)
    return [
        {
            "id": first_id + i,
            "user": f"u{rng.randrange(USERS):02d}",
            "ts": BASE_TS + i * 7 - rng.randrange(0, int(BOUND_MS * 0.9)),
        }
        for i in range(RECORDS)
    ]


def _found(bootstrap: str, topic: str) -> pd.DataFrame:
    try:
        messages = read_all(bootstrap, [topic], **{"isolation.level": "read_committed"})
    except KeyError:  # not created yet
        return pd.DataFrame()
    frame = pd.DataFrame([orjson.loads(m.value()) for m in messages])
    return frame[~frame["user"].str.startswith(CLOSER)] if len(frame) else frame


def test_asof_and_interval_join_results_are_exact_across_sigkills_under_exactly_once(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    skip_on_tansu(broker_kind, "shows a killed transaction's records to read_committed readers")
    left, right = (make_topic(n, partitions=PARTITIONS) for n in ("jcrash-l", "jcrash-r"))
    group = unique("jcrash")
    asof_out, interval_out = f"{group}-asof", f"{group}-interval"
    data = {"left": _records(5, 0), "right": _records(6, 100_000)}
    for topic, side in ((left, "left"), (right, "right")):
        produce_records(
            bootstrap,
            topic,
            [(r["user"].encode(), orjson.dumps(r), None, None) for r in data[side]],
        )
    want_asof = canonical(asof_join(data["left"], data["right"], TOLERANCE_MS), COLUMNS)
    want_interval = canonical(interval_join(data["left"], data["right"], "inner"), COLUMNS)
    config = {
        "bootstrap": bootstrap,
        "group": group,
        "left": left,
        "right": right,
        "asof_out": asof_out,
        "interval_out": interval_out,
        "state_dir": str(tmp_path / "state"),
        "consumer_config": FAST_GROUP,
        "bound": f"{BOUND_MS}ms",
        "tolerance": f"{TOLERANCE_MS}ms",
        "lower": f"-{-LOWER_MS}ms",
        "upper": f"{UPPER_MS}ms",
    }
    script = tmp_path / "app.py"
    script.write_text(APP_SCRIPT)
    total = 2 * (RECORDS + PARTITIONS)

    def progress() -> int:
        return sum(
            max(o, 0)
            for topic in (left, right)
            for o in committed_offsets(bootstrap, group, topic, PARTITIONS).values()
        )

    apps: list[AppProcess] = []

    def start() -> AppProcess:
        apps.append(AppProcess(script, config, tmp_path / f"run-{len(apps) + 1}.log"))
        return apps[-1]

    killed_at = []
    try:
        app = start()
        for fraction in (0.25, 0.6):

            def reached(app: AppProcess = app, target: float = fraction * total) -> bool:
                app.check_alive()
                return progress() >= target

            wait_until(reached, timeout=90, interval=0.05)
            killed_at.append(progress())
            assert killed_at[-1] < 2 * RECORDS, "the input was done before the kill: slow it down"
            app.kill()
            app = start()

        # A record far ahead on every partition, once the last run is up: the watermark
        # passes everything. (Sent earlier, a partition read to its end before a kill would
        # have nothing left to read after the restart, and its watermark would not be known.)
        for topic in (left, right):
            for p in range(PARTITIONS):
                closer = {"id": -1 - p, "user": f"{CLOSER}-{p}", "ts": BASE_TS + 3_600_000}
                record = (closer["user"].encode(), orjson.dumps(closer), None, None)
                produce_records(bootstrap, topic, [record], p)
        last: dict[str, int] = {}

        def done(app: AppProcess = app) -> bool:
            app.check_alive()
            last.update(
                progress=progress(),
                asof=len(_found(bootstrap, asof_out)),
                interval=len(_found(bootstrap, interval_out)),
            )
            return (
                last["progress"] == total
                and last["asof"] >= len(want_asof)
                and last["interval"] >= len(want_interval)
            )

        try:
            wait_until(done, timeout=120, interval=0.5)
        except AssertionError:
            raise AssertionError(
                f"after the kills at {killed_at}: {last} of {total} records and "
                f"{len(want_asof)} as-of, {len(want_interval)} interval results"
            ) from None
        app.terminate()
    finally:
        for process in apps:
            if process.alive:
                process.kill()
    assert len(set(killed_at)) == 2 and all(0 < k < total for k in killed_at), killed_at
    assert canonical(_found(bootstrap, asof_out), COLUMNS) == want_asof
    assert canonical(_found(bootstrap, interval_out), COLUMNS) == want_interval
