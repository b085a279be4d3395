"""Standby stores on the real broker: tailing another member's changelog, applying only
confirmed checkpoints, and promotion replaying only the tail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from kafka_helpers import wait_until
from state_helpers import checkpoint, dump, produce_changelog, recover

from headwater import App
from headwater.errors import ConfigError
from headwater.runtime.loop.standby_assignment import choose_standbys, owners_of
from headwater.state import StateManager
from headwater.state.encoding import CHECKPOINT_KEY

KEYS = 20_000
TAIL = 100


@pytest.mark.broker
def test_a_standby_is_promoted_and_replays_only_the_tail(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    tmp_path: Path,
) -> None:
    orders = make_topic("orders", partitions=2)
    owner = new_manager(tmp_path / "a")
    owner.register_store("totals", orders)
    owner.on_assign([(orders, 0)])
    recover(owner)
    store = owner.store("totals", orders, 0)
    store.set_many((f"k{i}", i) for i in range(KEYS))
    checkpoint(owner, producer, {(orders, 0): 1_000})

    replica = new_manager(tmp_path / "b")
    replica.register_store("totals", orders)
    # Owned partitions are never standbys; the other partition of the topic is one.
    replica.on_assign([(orders, 1)])
    recover(replica)
    assert replica.set_standbys([(orders, 0), (orders, 1)]) == {(orders, 0)}
    standby = replica.standby.store("totals", orders, 0)
    assert standby is not None

    def caught_up() -> bool:
        replica.standby.step(5_000, timeout=0.05)
        return bool(standby.changelog_offset == KEYS + 1)  # every record and the marker

    wait_until(caught_up, timeout=30, interval=0)
    assert standby.get("k7", "value") == 7 and standby.processed_offset == 1_000

    # A checkpoint cut short by a crash: its records are out, its marker is not.
    store.set_many((f"k{i}", -1) for i in range(TAIL))
    records = owner.changelog_records({(orders, 0): 2_000})
    cut_short = [r for r in records if r.key != CHECKPOINT_KEY]
    produce_changelog(owner, producer, cut_short)
    owner.abort()
    read_before = replica.standby.replay.read
    wait_until(
        lambda: (
            replica.standby.step(5_000, timeout=0.05)
            or replica.standby.replay.read >= read_before + TAIL
        ),
        timeout=30,
        interval=0,
    )
    assert standby.get("k7", "value") == 7, "an unconfirmed record was applied"
    assert standby.changelog_offset == KEYS + 1

    # The owner carries on from its last commit and checkpoints a small tail.
    store.set_many((f"k{i}", i * 10) for i in range(TAIL))
    checkpoint(owner, producer, {(orders, 0): 1_500})
    expected = dump(owner, "totals", orders, 0)
    owner.close()

    read, replayed = replica.recovery.read, replica.recovery.replayed
    replica.on_assign([(orders, 0)])  # the owner died: the partition moves here
    assert replica.standby.partitions == set()
    recover(replica)
    # Read: the cut-short records, the tail, its marker and the end; not the 20k before them.
    assert replica.recovery.read - read == 2 * TAIL + 2
    assert replica.recovery.replayed - replayed == TAIL
    assert dump(replica, "totals", orders, 0) == expected
    promoted = replica.store("totals", orders, 0)
    assert promoted.get("k7", "value") == 70 and promoted.processed_offset == 1_500

    # Revoked again: it can go back to being a standby, from where the owned store was.
    replica.on_revoke([(orders, 0)])
    assert replica.set_standbys([(orders, 0)]) == {(orders, 0)}
    again = replica.standby.store("totals", orders, 0)
    assert again is not None and again.changelog_offset == promoted.changelog_offset


def test_each_partition_gets_the_asked_number_of_standbys_never_on_its_owner() -> None:
    members = ["m-c", "m-a", "m-b", "m-d"]
    owners = {("orders", p): members[p % 4] for p in range(12)}
    for replicas in (1, 2, 3, 5):
        per_partition: Counter[tuple[str, int]] = Counter()
        per_member: Counter[str] = Counter()
        for me in members:
            chosen = choose_standbys(owners, members, me, replicas)
            assert not any(owners[p] == me for p in chosen)
            per_partition.update(chosen)
            per_member[me] = len(chosen)
        assert set(per_partition.values()) == {min(replicas, 3)}
        assert max(per_member.values()) - min(per_member.values()) <= 1  # spread evenly
    alone = {("orders", p): "m-a" for p in range(3)}
    assert choose_standbys(alone, ["m-a"], "m-a", 1) == set()  # nobody else to stand by for


def test_a_group_description_without_assignments_means_fallback() -> None:
    assert owners_of([], ["orders"]) is None


def test_standby_replicas_must_be_a_count() -> None:
    assert App("shop").standby_replicas == 0
    assert App("shop", standby_replicas=2).standby_replicas == 2
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(ConfigError, match=r"standby_replicas=.*integer >= 0"):
            App("shop", standby_replicas=bad)
