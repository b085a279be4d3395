"""Standby replicas: the owner of a partition with many keys is SIGKILLed, and the replica that
kept a standby of its store takes over replaying only the changelog's tail, with the output and
the state still right."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from crash_harness import (
    AppProcess,
    CrashHarness,
    Workload,
    at_least_once_problems,
    read_updates,
    stored_state,
)
from integration_helpers import wait_until

pytestmark = pytest.mark.broker

RECORDS = 70_000
FIRST = 60_000  # processed before the kill: about 40k keys in the stores
KEYS = 40_000
PARTITIONS = 2
UP_TO_DATE = re.compile(
    r"standby store 'totals' for (\S+)\[(\d+)\] is up to date at changelog offset (\d+)"
)


def _recovered(app: AppProcess, topic: str, partition: int) -> list[int]:
    """Changelog records read by each recovery of ``topic[partition]`` in ``app``'s log."""
    pattern = rf"recovered store 'totals' for {re.escape(topic)}\[{partition}\]: (\d+) changelog"
    return [int(n) for n in re.findall(pattern, app.log_text())]


def test_the_standby_takes_over_a_killed_owner_replaying_only_the_tail(
    bootstrap: str, make_topic: Callable[..., str], tmp_path: Path
) -> None:
    source = make_topic("standby-in", partitions=PARTITIONS)
    workload = Workload(RECORDS, KEYS, seed=3)
    harness = CrashHarness(
        bootstrap,
        tmp_path,
        source=source,
        partitions=PARTITIONS,
        guarantee="at-least-once",
        max_batch_records=500,
        batch_work=0.02,  # at most 25k records/s a replica: the kill lands mid-stream
        standby_replicas=1,
    )
    try:
        workload.produce(bootstrap, source, 0, FIRST)
        owner = harness.start("a")
        harness.wait_done(workload.ends, [owner], timeout=60)

        # A second replica: one partition moves to it, and it stands by for the other.
        survivor = harness.start("b")

        def standby_up_to_date() -> re.Match[str] | None:
            survivor.check_alive()
            return UP_TO_DATE.search(survivor.log_text())

        found = wait_until(standby_up_to_date, timeout=60, interval=0.1)
        topic, partition, standby_offset = found[1], int(found[2]), int(found[3])
        assert topic == source and standby_offset > 10_000, found[0]

        before = harness.output_end()
        workload.produce(bootstrap, source, FIRST, RECORDS)
        wait_until(lambda: harness.output_end() > before, timeout=30, interval=0.02)
        owner.kill()  # SIGKILL mid-stream: its partition goes to the survivor
        harness.wait_done(workload.ends, [survivor], timeout=60)
        survivor.terminate()
    finally:
        harness.close()

    text = survivor.log_text()
    assert f"for {source}[{partition}] closed (promoted)" in text, text[-3000:]
    # Only the tail was replayed: what the owner checkpointed after the standby's last step.
    replays = _recovered(survivor, source, partition)
    assert len(replays) == 1, text[-3000:]
    assert replays[0] < standby_offset // 10, (replays, standby_offset)

    found_updates = read_updates(bootstrap, harness.sink)
    problems = at_least_once_problems(found_updates, workload.expected())
    assert not problems, "\n".join(problems[:10])
    state = stored_state(harness.state_dir("b"), harness.group, source, list(range(PARTITIONS)))
    assert state == workload.final_state()
