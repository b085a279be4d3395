"""Recovery on the real broker: rebuilds, replay after stored offsets, crashes, interleaving."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from state_helpers import checkpoint, dump, open_counts, produce_changelog, recover

from headwater.errors import StateError
from headwater.kafka.admin import TopicAdmin
from headwater.state import StateManager
from headwater.state.encoding import CHECKPOINT_KEY

pytestmark = pytest.mark.broker


def test_rebuild_from_the_changelog_gives_identical_contents(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    tmp_path: Path,
) -> None:
    keys = 100_000
    orders = make_topic("orders")
    first = new_manager()
    first.register_store("totals", orders)
    first.on_assign([(orders, 0)])
    recover(first)
    store = first.store("totals", orders, 0)
    store.set_many((f"customer-{i}", {"sum": i * 1.5, "n": i % 7}) for i in range(keys))
    store.state("customer-1", timestamp_ms=0).set("session", "s1", ttl_ms=60_000)
    for i in range(0, keys, 10):  # a second checkpoint overwrites and deletes some
        store.delete(f"customer-{i}", "value")
    checkpoint(first, producer, {(orders, 0): 1_000})
    store.set_many((f"customer-{i}", i) for i in range(0, keys, 3))
    checkpoint(first, producer, {(orders, 0): 2_000})
    before = dump(first, "totals", orders, 0)
    assert len(before) == len([i for i in range(keys) if i % 10 or i % 3 == 0]) + 1
    first.close()

    shutil.rmtree(tmp_path / "state")  # the machine is gone; only the changelog is left
    second = new_manager()
    second.register_store("totals", orders)
    second.on_assign([(orders, 0)])
    started = time.perf_counter()
    recover(second)
    elapsed = time.perf_counter() - started
    replayed = second.recovery.replayed
    print(
        f"\nrebuilt {len(before):,} entries from {replayed:,} changelog records (one per key "
        f"changed per checkpoint) in {elapsed:.2f}s: {replayed / elapsed:,.0f} keys/s"
    )

    assert dump(second, "totals", orders, 0) == before
    rebuilt = second.store("totals", orders, 0)
    assert rebuilt.processed_offset == 2_000  # from the last checkpoint marker
    assert rebuilt.state("customer-1", timestamp_ms=59_999).get("session") == "s1"
    assert rebuilt.state("customer-1", timestamp_ms=60_000).get("session") is None
    # The changelog was read to its end, exactly: the next restart replays nothing.
    assert rebuilt.changelog_offset == store.changelog_offset


def test_recovery_replays_only_the_changelog_after_the_stored_offset(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    tmp_path: Path,
) -> None:
    orders = make_topic("orders")
    here = new_manager(tmp_path / "here")
    open_counts(here, orders)
    here.store("counts", orders, 0).set_many((f"k{i}", i) for i in range(500))
    checkpoint(here, producer, {(orders, 0): 500})
    here.on_revoke([(orders, 0)])

    # The partition moves to another member, which rebuilds and changes 20 keys.
    there = new_manager(tmp_path / "there")
    open_counts(there, orders)
    assert there.recovery.replayed == 500
    there.store("counts", orders, 0).set_many((f"k{i}", -i) for i in range(20))
    checkpoint(there, producer, {(orders, 0): 520})
    there.on_revoke([(orders, 0)])

    # It comes back: the local files are up to offset 501, so only the 20 new entries replay.
    here.on_assign([(orders, 0)])
    recover(here)
    assert here.recovery.replayed == 20
    back = here.store("counts", orders, 0)
    assert back.get_many(["k0", "k19", "k20", "k499"]) == [0, -19, 20, 499]
    assert back.processed_offset == 520


def test_a_crash_between_flush_and_persist_loses_nothing(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str], producer: Producer
) -> None:
    orders = make_topic("orders")
    manager = new_manager()
    open_counts(manager, orders)
    store = manager.store("counts", orders, 0)
    store.set("alice", "n", 1)
    checkpoint(manager, producer, {(orders, 0): 10})
    store.set("alice", "n", 2)
    store.set("bob", "n", 1)
    # The changelog is flushed, then the process dies before persist() and the commit.
    produce_changelog(manager, producer, manager.changelog_records({(orders, 0): 20}))
    manager.close()

    restarted = new_manager()
    open_counts(restarted, orders)
    store = restarted.store("counts", orders, 0)
    assert store.get_many(["alice", "bob"], name="n") == [2, 1]
    # Inputs 10..19 are read again; their state changes are already in and must be skipped.
    assert store.processed_offset == 20


def test_a_checkpoint_without_its_marker_does_not_move_the_processed_offset(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str], producer: Producer
) -> None:
    orders = make_topic("orders")
    manager = new_manager()
    open_counts(manager, orders)
    store = manager.store("counts", orders, 0)
    store.set("alice", "n", 1)
    checkpoint(manager, producer, {(orders, 0): 10})
    store.set("alice", "n", 2)
    store.set("bob", "n", 1)
    # The flush failed part way: some records landed, the marker did not.
    records = manager.changelog_records({(orders, 0): 20})
    assert records[-1].key == CHECKPOINT_KEY
    produce_changelog(manager, producer, records[:1])
    manager.abort()
    manager.close()

    restarted = new_manager()
    open_counts(restarted, orders)
    store = restarted.store("counts", orders, 0)
    # Inputs from 10 are processed again and apply their state changes, once: the landed part
    # of the cut-short checkpoint is not applied.
    assert store.processed_offset == 10
    assert store.get("alice", "n") == 1
    assert store.changelog_offset is not None


def test_a_compacted_away_marker_keeps_its_checkpoint(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    tmp_path: Path,
) -> None:
    """Compaction keeps only the latest marker: the entries of earlier checkpoints still count."""
    orders = make_topic("orders")
    writer = new_manager()
    open_counts(writer, orders)
    store = writer.store("counts", orders, 0)
    store.set("alice", "n", 1)
    first = writer.changelog_records({(orders, 0): 10})
    produce_changelog(writer, producer, [r for r in first if r.key != CHECKPOINT_KEY])
    writer.persist({(orders, 0): 10})
    store.set("bob", "n", 1)
    checkpoint(writer, producer, {(orders, 0): 20})
    writer.close()

    rebuilt = new_manager(tmp_path / "elsewhere")
    open_counts(rebuilt, orders)
    store = rebuilt.store("counts", orders, 0)
    assert (store.get("alice", "n"), store.get("bob", "n")) == (1, 1)
    assert store.processed_offset == 20


def test_a_recovering_partition_does_not_block_a_ready_one(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    orders = make_topic("orders", partitions=2)
    writer = new_manager(tmp_path / "writer")
    open_counts(writer, orders, (0, 1))
    writer.store("counts", orders, 0).set_many((f"k{i}", i) for i in range(30_000))
    writer.store("counts", orders, 1).set_many((f"k{i}", i) for i in range(10))
    checkpoint(writer, producer, {(orders, 0): 30_000, (orders, 1): 10})
    writer.close()

    manager = new_manager()
    open_counts(manager, orders, (1,))
    assert [s.partition for s in manager.recovery.take_recovered()] == [1]
    # A rebalance adds partition 0, whose changelog is long: it replays a bounded step at a
    # time while partition 1 keeps processing and checkpointing between the steps.
    manager.recovery.progress_interval = 0  # log progress at every step
    caplog.set_level(logging.INFO, logger="headwater.state.recovery")
    manager.on_assign([(orders, 0)])
    ready = manager.store("counts", orders, 1)
    steps = 0
    deadline = time.monotonic() + 60
    while True:
        before = manager.recovery.read
        done = manager.recovery.step(500, 0.1)
        assert manager.recovery.read - before <= 500
        steps += 1
        if done:
            break
        assert not manager.is_ready(orders, 0)
        assert manager.is_ready(orders, 1)
        with pytest.raises(StateError, match="still recovering"):
            manager.store("counts", orders, 0)
        state = ready.state("k9", timestamp_ms=steps)
        state.set("value", state.get("value") + 1)
        checkpoint(manager, producer, {(orders, 1): 10 + steps})
        assert time.monotonic() < deadline
    print(f"\npartition 1 processed between {steps} recovery steps of partition 0")
    assert steps >= 30_000 // 500
    assert manager.store("counts", orders, 0).get("k29999", "value") == 29_999
    assert ready.get("k9", "value") == 9 + steps - 1
    assert [s.partition for s in manager.recovery.take_recovered()] == [0]
    progress = [r.getMessage() for r in caplog.records if "recovering store" in r.getMessage()]
    assert any("records/s" in line and "left" in line for line in progress), progress
    assert any(
        "recovered store" in r.getMessage() and "30001 changelog records" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize("left_in_log", [0, 5], ids=["empty", "shorter"])
def test_a_store_ahead_of_a_recreated_changelog_rebuilds_from_it(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    admin: TopicAdmin,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    left_in_log: int,
) -> None:
    # A development broker restarted without its data, or a changelog deleted by hand: the
    # local files are up to an offset the new log never reaches.
    orders = make_topic("orders")
    first = new_manager(tmp_path / "kept")
    changelog = first.register_store("counts", orders)
    first.prepare()
    first.on_assign([(orders, 0)])
    recover(first)
    first.store("counts", orders, 0).set_many((f"old-{i}", i) for i in range(200))
    checkpoint(first, producer, {(orders, 0): 200})
    ahead = first.store("counts", orders, 0).changelog_offset
    first.close()

    admin.delete([changelog])
    other = new_manager(tmp_path / "other")
    other.register_store("counts", orders)
    other.prepare()
    other.on_assign([(orders, 0)])
    recover(other)
    if left_in_log:
        other.store("counts", orders, 0).set_many((f"new-{i}", i) for i in range(left_in_log))
        checkpoint(other, producer, {(orders, 0): 7})
    other.close()

    caplog.set_level(logging.WARNING, logger="headwater.state.recovery")
    again = new_manager(tmp_path / "kept")
    open_counts(again, orders)  # fails on its deadline if recovery waits for the old offset
    store = again.store("counts", orders, 0)
    assert len(dump(again, "counts", orders, 0)) == left_in_log
    assert [k for k in store.get_many([f"new-{i}" for i in range(5)]) if k is not None] == list(
        range(left_in_log)
    )
    assert store.get("old-1", "value") is None
    assert store.processed_offset == (7 if left_in_log else 0)
    assert ahead is not None and (store.changelog_offset or 0) < ahead
    assert any("ahead of its changelog" in r.getMessage() for r in caplog.records)
