"""A replica whose state directory is deleted rebuilds its stores from the changelogs and
carries on from where the state was, not from zero."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from crash_harness import (
    CrashHarness,
    Workload,
    at_least_once_problems,
    exactly_once_problems,
    read_updates,
    stored_state,
)
from integration_helpers import wait_until

from headwater.state import StateManager
from headwater.state.encoding import CHECKPOINT_KEY

pytestmark = pytest.mark.broker

RECORDS = 40_000
KEYS = 500
PARTITIONS = 3


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_deleted_state_dir_is_rebuilt_from_the_changelog(
    guarantee: str, bootstrap: str, make_topic: Callable[..., str], tmp_path: Path
) -> None:
    source = make_topic("recover-in", partitions=PARTITIONS)
    workload = Workload(RECORDS, KEYS, seed=9)
    half = RECORDS // 2
    harness = CrashHarness(
        bootstrap, tmp_path, source=source, partitions=PARTITIONS, guarantee=guarantee
    )
    try:
        workload.produce(bootstrap, source, 0, half)
        first = harness.start()
        harness.wait_done(workload.ends, [first], timeout=90)
        first.terminate()
        shutil.rmtree(harness.state_dir())  # the replica lost its disk

        workload.produce(bootstrap, source, half, RECORDS)
        second = harness.start()
        harness.wait_done(workload.ends, [second], timeout=90)
        second.terminate()
    finally:
        harness.close()

    text = second.log_text()
    assert text.count("from the beginning") == PARTITIONS, text[-3000:]
    assert text.count("recovered store") >= PARTITIONS, text[-3000:]
    # The second half's updates count on from the first half's: the state came back.
    found = read_updates(bootstrap, harness.sink)
    if guarantee == "exactly-once":
        problems = exactly_once_problems(found, workload.expected())
    else:
        problems = at_least_once_problems(found, workload.expected())
    assert not problems, "\n".join(problems[:10])
    rebuilt = stored_state(harness.state_dir(), harness.group, source, list(range(PARTITIONS)))
    assert rebuilt == workload.final_state()


class _Counter:
    """One store counting one input partition's records by hand, checkpointing as the runtime
    does, with a crash possible between any two changelog writes."""

    def __init__(self, bootstrap: str, topic: str, state_dir: Path) -> None:
        self.topic, self.state_dir = topic, state_dir
        self.app = f"counter-{uuid.uuid4().hex[:6]}"
        self.bootstrap = bootstrap
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        self.state = self._open()

    def _open(self) -> StateManager:
        state = StateManager(self.app, self.state_dir, self.bootstrap)
        state.register_store("totals", self.topic)
        state.on_assign([(self.topic, 0)])
        wait_until(lambda: state.recovery.step(1_000), timeout=30)
        return state

    def count(self, offsets: range) -> None:
        """Process one input record per offset, skipping those the store already has."""
        store = self.state.store("totals", self.topic, 0)
        for offset in offsets:
            if offset >= store.processed_offset:
                totals = store.state("alice")
                totals.set("count", totals.get("count", 0) + 1)

    def checkpoint(self, upto: int, *, crash_before_marker: bool = False) -> None:
        """Write the changelog and persist; or die with the records out and the marker not."""
        for r in self.state.changelog_records({(self.topic, 0): upto}):
            if not (crash_before_marker and r.key == CHECKPOINT_KEY):
                self.producer.produce(
                    r.topic,
                    r.value,
                    r.key,
                    partition=r.partition,
                    headers=r.headers,
                    on_delivery=self.state.on_delivery,
                )
        assert self.producer.flush(30) == 0
        if crash_before_marker:
            self.restart()  # the commit stays where it was
        else:
            self.state.persist({(self.topic, 0): upto})  # then the input offset is committed

    def restart(self, *, lose_disk: bool = False) -> None:
        self.state.close()
        if lose_disk:
            shutil.rmtree(self.state_dir / self.app)
        self.state = self._open()

    @property
    def total(self) -> int:
        return int(self.state.store("totals", self.topic, 0).get("alice", "count"))


def test_a_crash_mid_changelog_flush_does_not_count_twice(
    bootstrap: str, make_topic: Callable[..., str], tmp_path: Path
) -> None:
    """At-least-once: the app dies after some changelog records of a checkpoint were delivered
    but before its marker was; the restart must not apply those records' updates twice."""
    counter = _Counter(bootstrap, make_topic("half-flushed", partitions=1), tmp_path)
    try:
        counter.count(range(0, 3))
        counter.checkpoint(3)
        counter.count(range(3, 5))
        counter.checkpoint(5, crash_before_marker=True)
        counter.count(range(3, 5))  # the inputs after the commit are processed again
        assert counter.total == 5
    finally:
        counter.state.close()


def test_a_lost_disk_after_repeated_crashes_rebuilds_exactly(
    bootstrap: str, make_topic: Callable[..., str], tmp_path: Path
) -> None:
    """Cut-short checkpoints stay in the changelog; a full replay later, with checkpoints that
    cut the inputs differently in between, must still give the exact count."""
    counter = _Counter(bootstrap, make_topic("re-crashed", partitions=1), tmp_path)
    try:
        counter.count(range(0, 3))
        counter.checkpoint(3)
        counter.count(range(3, 8))
        counter.checkpoint(8, crash_before_marker=True)  # holds count 8, never confirmed
        counter.count(range(3, 5))
        counter.checkpoint(5)  # a smaller step this time
        counter.count(range(5, 10))
        counter.checkpoint(10, crash_before_marker=True)
        assert counter.total == 5
        counter.restart(lose_disk=True)  # rebuilt from the changelog alone
        assert counter.total == 5
        counter.count(range(5, 12))
        counter.checkpoint(12)
        counter.restart(lose_disk=True)
        assert counter.total == 12
    finally:
        counter.state.close()
