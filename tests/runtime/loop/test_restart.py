"""SIGTERM mid-stream and a restart lose nothing (at-least-once) and commit to the end."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from integration_helpers import (
    FAST_GROUP,
    AppThread,
    approximate_count,
    committed_offsets,
    produce_records,
    read_topic,
    wait_until,
)

from headwater import App

pytestmark = pytest.mark.broker

N = 20_000
PARTITIONS = 2

APP_SCRIPT = """
import json
import logging
import sys
import time

import pandas as pd

from headwater import App

bootstrap, source, out, group, consumer_config = sys.argv[1:6]
app = App(
    group,
    bootstrap,
    consumer_config=json.loads(consumer_config),
    commit_interval=0.5,
    max_batch_records=500,
)


def work(df: pd.DataFrame) -> pd.DataFrame:
    time.sleep(0.1)  # stands for real per-batch work, so a stop lands mid-stream
    df["seen"] = True
    return df


sdf = app.dataframe(app.topic(source, partitions=2))
sdf["double"] = sdf["n"] * 2
sdf.map_batches(work).to_topic(app.topic(out))
app.run()
"""


def _start(script: Path, log: Path, args: list[str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, str(script), *args], stdout=sink, stderr=subprocess.STDOUT
        )


def _terminate(process: subprocess.Popen[bytes], log: Path, deadline: float = 30.0) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"the app did not stop within {deadline}s:\n{log.read_text()}"
        ) from None
    assert code == 0, f"the app exited with {code}:\n{log.read_text()[-3000:]}"


def test_sigterm_then_restart_loses_nothing(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    source = make_topic("stream", partitions=PARTITIONS)
    out, group = unique("stream-out"), unique("restart-app")
    produce_records(
        bootstrap,
        source,
        [(b"k%d" % n, orjson.dumps({"n": n}), None, None) for n in range(N)],
    )
    # Where each input landed, to check that every committed input has its output.
    position = {}
    for m in read_topic(bootstrap, source):
        position[orjson.loads(m.value())["n"]] = (m.partition(), m.offset())
    assert len(position) == N
    ends = {p: 1 + max(o for q, o in position.values() if q == p) for p in range(PARTITIONS)}

    script = tmp_path / "app.py"
    script.write_text(APP_SCRIPT)
    log = tmp_path / "app.log"
    args = [bootstrap, source, out, group, json.dumps(FAST_GROUP)]

    first = _start(script, log, args)
    try:
        wait_until(lambda: approximate_count(bootstrap, out) >= 1_000, timeout=60)
    finally:
        _terminate(first, log)
    after_first = {orjson.loads(m.value())["n"] for m in read_topic(bootstrap, out)}
    assert len(after_first) < N, "the first run finished before SIGTERM; nothing was tested"
    committed = committed_offsets(bootstrap, group, source, PARTITIONS)
    assert sum(max(o, 0) for o in committed.values()) > 0, "the graceful stop committed nothing"
    # At-least-once: every input below the committed offset has its output already.
    lost = [n for n, (p, o) in position.items() if o < committed[p] and n not in after_first]
    assert not lost, f"{len(lost)} committed inputs have no output, e.g. {lost[:5]}"

    second = _start(script, log, args)
    try:

        def all_outputs() -> bool:
            seen = {orjson.loads(m.value())["n"] for m in read_topic(bootstrap, out)}
            return len(seen) == N

        wait_until(all_outputs, timeout=90, interval=0.5)
    finally:
        _terminate(second, log)

    outputs = [orjson.loads(m.value()) for m in read_topic(bootstrap, out)]
    assert {v["n"] for v in outputs} == set(range(N))
    assert all(v["double"] == 2 * v["n"] and v["seen"] is True for v in outputs)
    assert committed_offsets(bootstrap, group, source, PARTITIONS) == ends


def test_a_member_joining_and_leaving_loses_nothing(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="headwater.runner")
    partitions = 4
    source = make_topic("shared", partitions=partitions)
    out, group = unique("shared-out"), unique("shared-app")

    def member() -> App:
        app = App(group, bootstrap, consumer_config=FAST_GROUP, commit_interval=0.5)
        sdf = app.dataframe(app.topic(source, partitions=partitions))
        sdf["double"] = sdf["n"] * 2
        sdf.to_topic(app.topic(out))
        return app

    def batch(start: int, stop: int) -> None:
        produce_records(
            bootstrap,
            source,
            [(b"k%d" % n, orjson.dumps({"n": n}), None, None) for n in range(start, stop)],
        )

    def outputs() -> set[int]:
        return {orjson.loads(m.value())["n"] for m in read_topic(bootstrap, out)}

    def ends() -> dict[int, int]:
        counts = {p: 0 for p in range(partitions)}
        for m in read_topic(bootstrap, source):
            counts[m.partition()] += 1
        return counts

    def assignments() -> list[str]:
        messages = (r.getMessage() for r in caplog.records)
        return [m for m in messages if m.startswith("assigned") and m != "assigned nothing"]

    batch(0, 2_000)
    first = AppThread(member()).start()
    try:
        wait_until(lambda: len(outputs()) == 2_000, timeout=30, interval=0.3)
        second = AppThread(member()).start()  # the group rebalances: partitions move over
        try:
            wait_until(lambda: len(assignments()) >= 2, timeout=30, interval=0.2)
            batch(2_000, 4_000)
            wait_until(lambda: len(outputs()) == 4_000, timeout=30, interval=0.3)
            batch(4_000, 5_000)
        finally:
            second.stop()  # the group rebalances again: the first member takes all back
        assert second.error is None, second.error
        wait_until(lambda: len(outputs()) == 5_000, timeout=30, interval=0.3)
        expected = ends()
        wait_until(
            lambda: committed_offsets(bootstrap, group, source, partitions) == expected,
            timeout=15,
            interval=0.3,
        )
    finally:
        first.stop()
    assert first.error is None, first.error
    assert outputs() == set(range(5_000))
    # Partitions really moved: to the second member and back.
    moves = [r.getMessage() for r in caplog.records if r.getMessage().startswith("revoked")]
    assert len(moves) >= 2, moves
