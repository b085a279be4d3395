"""Replicas of a stateful app joining mid-stream, and one SIGKILLed: state moves with its
partitions, and under exactly-once the output is still exact."""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from crash_harness import (
    AppProcess,
    CrashHarness,
    Workload,
    changelog_state,
    exactly_once_problems,
    read_updates,
)
from integration_helpers import wait_until

pytestmark = pytest.mark.broker

RECORDS = 80_000
KEYS = 1_000
PARTITIONS = 6
ASSIGNED = re.compile(r"assigned .*\[\d+\]")


def _owns_partitions(app: AppProcess) -> bool:
    app.check_alive()
    return bool(ASSIGNED.search(app.log_text()))


def test_replicas_join_and_one_is_killed_output_stays_exact(
    bootstrap: str, make_topic: Callable[..., str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crash_harness")
    source = make_topic("rebalance-in", partitions=PARTITIONS)
    workload = Workload(RECORDS, KEYS, seed=5)
    # Input arrives in four steps; the third is big, so a kill right after it lands mid-stream.
    bounds = [0, 5_000, 10_000, 60_000, RECORDS]
    harness = CrashHarness(
        bootstrap,
        tmp_path,
        source=source,
        partitions=PARTITIONS,
        guarantee="exactly-once",
        max_batch_records=500,
        batch_work=0.1,  # at most 5k records/s a replica: each step takes seconds
    )
    try:
        workload.produce(bootstrap, source, bounds[0], bounds[1])
        first = harness.start("a")
        wait_until(lambda: harness.progress() >= bounds[1] // 2, timeout=60, interval=0.1)

        second = harness.start("b")  # a second replica: partitions (and their state) move
        wait_until(lambda: _owns_partitions(second), timeout=60, interval=0.1)
        workload.produce(bootstrap, source, bounds[1], bounds[2])

        third = harness.start("c")
        wait_until(lambda: _owns_partitions(third), timeout=60, interval=0.1)
        before = harness.output_end()
        workload.produce(bootstrap, source, bounds[2], bounds[3])
        # The third step's outputs start flowing: kill now, with most of the step in flight.
        wait_until(lambda: harness.output_end() > before, timeout=60, interval=0.02)
        second.check_alive()
        done_before_kill = harness.progress()
        second.kill()  # SIGKILL mid-stream: its partitions go to the others after the timeout
        workload.produce(bootstrap, source, bounds[3], bounds[4])
        # Records of the third step were still waiting: the kill hit a working replica.
        assert done_before_kill < bounds[3], "step 3 was done before the kill; nothing tested"
        harness.wait_done(workload.ends, [first, third], timeout=120)
        harness.wait_visible(RECORDS)
        first.terminate()
        third.terminate()
    finally:
        harness.close()

    # Every replica processed part of the stream, and the killed one's partitions moved on.
    for app in (first, second, third):
        assert "recovering store" in app.log_text(), app.log_path.name
    assert "revoked" in first.log_text()

    found = read_updates(bootstrap, harness.sink)
    problems = exactly_once_problems(found, workload.expected())
    assert not problems, f"{len(problems)} keys differ from the exact output:\n" + "\n".join(
        problems[:10]
    )
    expected = workload.final_state()
    logged = changelog_state(bootstrap, harness.group)
    wrong = {k: (logged.get(k), v) for k, v in expected.items() if logged.get(k) != v}
    assert not wrong, f"{len(wrong)} keys with a wrong state, e.g. {list(wrong.items())[:3]}"


def test_a_frozen_replica_cannot_write_when_it_resumes_and_the_output_stays_exact(
    bootstrap: str, make_topic: Callable[..., str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crash_harness")
    source = make_topic("zombie-in", partitions=PARTITIONS)
    workload = Workload(60_000, KEYS, seed=9)
    bounds = [0, 5_000, 40_000, 60_000]
    harness = CrashHarness(
        bootstrap,
        tmp_path,
        source=source,
        partitions=PARTITIONS,
        guarantee="exactly-once",
        max_batch_records=500,
        batch_work=0.1,
    )
    try:
        workload.produce(bootstrap, source, bounds[0], bounds[1])
        zombie = harness.start("a")
        wait_until(lambda: harness.progress() >= bounds[1] // 2, timeout=60, interval=0.1)
        other = harness.start("b")
        wait_until(lambda: _owns_partitions(other), timeout=60, interval=0.1)
        before = harness.output_end()
        workload.produce(bootstrap, source, bounds[1], bounds[2])
        wait_until(lambda: harness.output_end() > before, timeout=60, interval=0.02)
        # Frozen mid-stream (a transaction open): its partitions move to the other replica
        # once its session times out, and the other one goes on where the last commit was.
        zombie.process.send_signal(signal.SIGSTOP)
        frozen = harness.committed()
        wait_until(
            lambda: all(harness.committed()[p] > frozen[p] for p in range(PARTITIONS)),
            timeout=60,
            interval=0.2,
        )
        zombie.process.send_signal(signal.SIGCONT)
        workload.produce(bootstrap, source, bounds[2], bounds[3])
        harness.wait_done(workload.ends, [zombie, other], timeout=120)
        harness.wait_visible(workload.records)
        zombie.terminate()
        other.terminate()
    finally:
        harness.close()

    # The zombie tried to go on with its transaction and was refused: its work is aborted.
    text = zombie.log_text()
    assert "aborting the transaction" in text or "was fenced" in text, text[-3000:]
    found = read_updates(bootstrap, harness.sink)
    problems = exactly_once_problems(found, workload.expected())
    assert not problems, f"{len(problems)} keys differ from the exact output:\n" + "\n".join(
        problems[:10]
    )
