"""A tumbling-window app under exactly-once, SIGKILLed mid-stream and restarted twice: the
read_committed window results equal a direct computation over the input, each window once."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from crash_harness import AppProcess
from integration_helpers import (
    FAST_GROUP,
    committed_offsets,
    end_offsets,
    produce_records,
    wait_until,
)
from kafka_helpers import read_all, skip_on_tansu

pytestmark = pytest.mark.broker

RECORDS = 12_000
KEYS = 40
PARTITIONS = 3
WINDOW_MS = 1_000
BOUND_MS = 1_000
BASE_TS = 1_700_000_000_000
CLOSER = "zz-closer"

APP_SCRIPT = """
import json
import logging
import sys
import time

from headwater import App, agg, windows

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
config = json.loads(sys.argv[1])
app = App(
    config["group"],
    config["bootstrap"],
    guarantee="exactly-once",
    state_dir=config["state_dir"],
    commit_interval=0.3,
    max_batch_records=200,
    consumer_config=config["consumer_config"],
)


def work(batch):
    time.sleep(0.03)  # stands for real per-batch work: kills land mid-stream
    return batch


orders = app.dataframe(app.topic(config["source"], timestamp="ts", partitions=3))
orders = orders.with_watermarks(config["bound"]).map_batches(work, format="polars")
per_window = orders.group_by("customer").window(windows.tumbling(config["window"]))
per_window.agg(n=agg.count(), total=agg.sum("v")).to_topic(app.topic(config["sink"]))
app.run()
"""


def _records(seed: int) -> list[dict[str, Any]]:
    """Keyed records, out of order within the watermark bound: none is late."""
    rng = random.Random(seed)
    return [
        {
            "customer": f"c{rng.randrange(KEYS):02d}",
            "ts": BASE_TS + i * 5 - rng.randrange(0, int(BOUND_MS * 0.9)),
            "v": rng.randrange(1, 1_000),
        }
        for i in range(RECORDS)
    ]


def _expected(rows: list[dict[str, Any]]) -> list[tuple[str, int, int, int, int]]:
    """Per customer and tumbling window: (customer, start, end, count, sum), computed
    directly from the records."""
    windows: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        window = windows[(r["customer"], r["ts"] // WINDOW_MS * WINDOW_MS)]
        window[0] += 1
        window[1] += r["v"]
    return sorted((c, s, s + WINDOW_MS, n, t) for (c, s), (n, t) in windows.items())


def _found(bootstrap: str, sink: str) -> list[tuple[str, int, int, int, int]]:
    rows = [
        orjson.loads(m.value())
        for m in read_all(bootstrap, [sink], **{"isolation.level": "read_committed"})
    ]
    return sorted(
        (r["customer"], r["window_start"], r["window_end"], r["n"], int(r["total"]))
        for r in rows
        if not r["customer"].startswith(CLOSER)
    )


def _dead_letters(bootstrap: str, group: str) -> str:
    """What the app's dead-letter topic holds (late records show here), for a failure message."""
    try:
        letters = read_all(bootstrap, [f"{group}.dlq"], **{"isolation.level": "read_committed"})
    except KeyError:  # no dead-letter topic: nothing was ever sent there
        return "no dead letters"
    reasons = sorted(
        {dict(m.headers() or []).get("headwater.error.reason", b"?")[:80] for m in letters}
    )
    return f"{len(letters)} dead letters, reasons {reasons[:3]}"


def test_window_results_are_exact_across_sigkills_under_exactly_once(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    skip_on_tansu(broker_kind, "shows a killed transaction's records to read_committed readers")
    source = make_topic("wcrash-in", partitions=PARTITIONS)
    group = unique("wcrash")
    sink = f"{group}-out"
    rows = _records(seed=11)
    produce_records(
        bootstrap, source, [(r["customer"].encode(), orjson.dumps(r), None, None) for r in rows]
    )
    # A record far ahead at the end of every partition: the watermark passes every window.
    for p in range(PARTITIONS):
        closer = {"customer": f"{CLOSER}-{p}", "ts": BASE_TS + 3_600_000, "v": 0}
        produce_records(
            bootstrap, source, [(f"{CLOSER}-{p}".encode(), orjson.dumps(closer), None, None)], p
        )
    wanted = _expected(rows)
    config = {
        "bootstrap": bootstrap,
        "group": group,
        "source": source,
        "sink": sink,
        "state_dir": str(tmp_path / "state"),
        "consumer_config": FAST_GROUP,
        "bound": f"{BOUND_MS}ms",
        "window": f"{WINDOW_MS}ms",
    }
    script = tmp_path / "app.py"
    script.write_text(APP_SCRIPT)

    def progress() -> int:
        return sum(max(o, 0) for o in committed_offsets(bootstrap, group, source, 3).values())

    apps: list[AppProcess] = []

    def start() -> AppProcess:
        apps.append(AppProcess(script, config, tmp_path / f"run-{len(apps) + 1}.log"))
        return apps[-1]

    total = RECORDS + PARTITIONS
    killed_at = []
    try:
        app = start()
        for fraction in (0.25, 0.6):

            def reached(app: AppProcess = app, target: float = fraction * total) -> bool:
                app.check_alive()
                return progress() >= target

            wait_until(reached, timeout=60, interval=0.05)
            killed_at.append(progress())
            assert killed_at[-1] < total, "the input was done before the kill: slow the app down"
            app.kill()
            app = start()

        last: dict[str, int] = {}

        def done(app: AppProcess = app) -> bool:
            app.check_alive()
            last.update(progress=progress(), found=len(_found(bootstrap, sink)))
            return last["progress"] == total and last["found"] >= len(wanted)

        try:
            wait_until(done, timeout=90, interval=0.5)
        except AssertionError:
            repartition = f"{group}-customer-repartition"
            raise AssertionError(
                f"after the kills at {killed_at}: {last['progress']} of {total} records "
                f"committed, {last['found']} of {len(wanted)} window results; on "
                f"{repartition}, committed "
                f"{committed_offsets(bootstrap, group, repartition, PARTITIONS)} of "
                f"{end_offsets(bootstrap, repartition, PARTITIONS)}; "
                f"{_dead_letters(bootstrap, group)}"
            ) from None
        app.terminate()
    finally:
        for process in apps:
            if process.alive:
                process.kill()
    found = _found(bootstrap, sink)
    # Both kills landed mid-stream, at different points of it.
    assert len(set(killed_at)) == 2 and all(0 < k < total for k in killed_at), killed_at
    assert found == wanted, _differences(found, wanted, killed_at)


def _differences(found: list[Any], wanted: list[Any], killed_at: list[int]) -> str:
    return (
        f"{len(found)} window results, expected {len(wanted)}; killed at {killed_at}; only "
        f"found {sorted(set(found) - set(wanted))[:5]}; only expected "
        f"{sorted(set(wanted) - set(found))[:5]}"
    )
