"""StateManager against the real broker: changelog topics, checkpoints, rebalances, abort."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Producer
from state_helpers import checkpoint, open_counts, recover

from headwater import Topic
from headwater.errors import ConfigError, MissingTopicError, StateError
from headwater.kafka.admin import TopicAdmin
from headwater.state import StateManager, read_key
from headwater.state.encoding import CHECKPOINT_KEY, OFFSET_HEADER, decode_value, split_entry_key

pytestmark = pytest.mark.broker


def test_changelog_topics_are_compacted_with_the_inputs_partitions(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str], admin: TopicAdmin
) -> None:
    orders = make_topic("orders", partitions=3)
    manager = new_manager()
    changelog = manager.register_store("totals", orders)
    assert changelog == f"{manager.app_name}-totals-changelog"
    assert manager.prepare() == [changelog]
    assert admin.list_topics()[changelog].partitions == 3
    assert admin.describe_config(changelog)["cleanup.policy"] == "compact"
    assert manager.prepare() == []  # idempotent


def test_a_changelog_with_other_partitions_is_refused(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str], admin: TopicAdmin
) -> None:
    orders = make_topic("orders", partitions=2)
    manager = new_manager()
    admin.create([Topic(manager.register_store("totals", orders), partitions=1)])
    with pytest.raises(StateError, match=r"has 1 partitions but input topic .* has 2"):
        manager.prepare()


def test_registration_errors_name_the_fix(
    new_manager: Callable[..., StateManager], unique: Callable[[str], str]
) -> None:
    manager = new_manager()
    with pytest.raises(ConfigError, match="store name 'a/b' is invalid"):
        manager.register_store("a/b", "orders")
    manager.register_store("totals", "orders")
    with pytest.raises(ConfigError, match="one input topic"):
        manager.register_store("totals", "payments")
    manager.register_store("sums", unique("absent"))
    with pytest.raises(MissingTopicError, match="create it first"):
        manager.prepare()


def test_changelog_gets_each_dirty_key_once_per_checkpoint(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    read: Callable[..., list[Any]],
) -> None:
    orders = make_topic("orders", partitions=2)
    manager = new_manager()
    changelog = manager.register_store("counts", orders)
    manager.on_assign([(orders, 0), (orders, 1)])
    recover(manager)
    store = manager.store("counts", orders, 1)
    for i in range(1_000):  # 1,000 updates of three keys
        key = ("alice", "bob", "carol")[i % 3]
        state = store.state(key, timestamp_ms=i)
        state.set("n", state.get("n", 0) + 1)
    store.state("dave", timestamp_ms=0).set("n", 1)
    store.state("dave", timestamp_ms=0).delete("n")
    checkpoint(manager, producer, {(orders, 1): 1_000})

    messages = read(changelog)
    assert {m.partition() for m in messages} == {1}  # changelog partition = input partition
    data = [m for m in messages if m.key() != CHECKPOINT_KEY]
    values = {
        split_entry_key(m.key())[0]: None if m.value() is None else decode_value(m.value())[0]
        for m in data
    }
    assert len(data) == 4
    assert values == {b"alice": 334, b"bob": 333, b"carol": 333, b"dave": None}
    assert [m.key() for m in messages][-1] == CHECKPOINT_KEY  # the marker comes last
    assert messages[-1].value() == b"1000"
    assert all(dict(m.headers())[OFFSET_HEADER] == b"1000" for m in messages)
    # The store persisted the offsets: input processed up to 1000, changelog after the marker.
    assert store.processed_offset == 1_000
    assert store.changelog_offset == messages[-1].offset() + 1
    # Nothing changed since: the next checkpoint writes nothing.
    assert manager.changelog_records({(orders, 0): 5, (orders, 1): 1_001}) == []


def test_abort_discards_uncommitted_changes(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str], producer: Producer
) -> None:
    orders = make_topic("orders")
    manager = new_manager()
    open_counts(manager, orders)
    store = manager.store("counts", orders, 0)
    store.set("alice", "n", 1)
    checkpoint(manager, producer, {(orders, 0): 1})
    store.set("alice", "n", 2)
    store.set("bob", "n", 1)
    assert len(manager.changelog_records({(orders, 0): 3})) == 3  # the flush then fails...
    manager.abort()
    assert store.get("alice", "n") == 1
    assert not store.exists("bob", "n")
    assert manager.changelog_records({(orders, 0): 3}) == []


def test_persist_refuses_changes_made_after_the_changelog_was_taken(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str]
) -> None:
    orders = make_topic("orders")
    manager = new_manager()
    open_counts(manager, orders)
    store = manager.store("counts", orders, 0)
    store.set("alice", "n", 1)
    with pytest.raises(StateError, match="no input offset"):
        manager.changelog_records({})
    manager.changelog_records({(orders, 0): 1})
    store.set("alice", "n", 2)
    with pytest.raises(StateError, match="changed after changelog_records"):
        manager.persist({(orders, 0): 1})


def test_revoked_stores_are_closed_and_reopen_with_their_state(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str], producer: Producer
) -> None:
    orders = make_topic("orders", partitions=2)
    manager = new_manager()
    open_counts(manager, orders, (0, 1))
    store = manager.store("counts", orders, 0)
    store.set("alice", "n", 7)
    checkpoint(manager, producer, {(orders, 0): 8})
    manager.on_revoke([(orders, 0)])
    assert store.closed
    assert not manager.is_ready(orders, 0)
    assert manager.is_ready(orders, 1)
    with pytest.raises(StateError, match="no open store 'counts'"):
        manager.store("counts", orders, 0)
    with pytest.raises(StateError, match="is closed"):
        store.persist(9, None)
    manager.on_assign([(orders, 0)])
    recover(manager)
    again = manager.store("counts", orders, 0)
    assert again.get("alice", "n") == 7
    assert again.processed_offset == 8
    assert manager.recovery.replayed == 0  # its files were up to date: nothing replayed


def test_read_key_reads_the_changelog_without_the_app(
    new_manager: Callable[..., StateManager],
    make_topic: Callable[..., str],
    producer: Producer,
    bootstrap: str,
) -> None:
    orders = make_topic("orders", partitions=2)
    manager = new_manager()
    manager.register_store("profile", orders)
    manager.on_assign([(orders, 0), (orders, 1)])
    recover(manager)
    left, right = manager.store("profile", orders, 0), manager.store("profile", orders, 1)
    left.set("alice", "city", "Oslo")
    left.set("alice", "visits", 1)
    left.set("alicea", "city", "Bergen")  # shares a prefix with "alice", is another key
    right.set(42, "city", "Rome")
    checkpoint(manager, producer, {(orders, 0): 3, (orders, 1): 1})
    left.set("alice", "visits", 2)
    left.delete("alice", "city")
    checkpoint(manager, producer, {(orders, 0): 4})

    app = manager.app_name
    assert read_key(app, "profile", "alice", settings=bootstrap) == {"visits": 2}
    assert read_key(app, "profile", "42", settings=bootstrap) == {"city": "Rome"}
    assert read_key(app, "profile", "nobody", settings=bootstrap) == {}
    with pytest.raises(MissingTopicError, match="check the app name"):
        read_key(app, "nostore", "alice", settings=bootstrap)


def test_a_store_that_is_recovering_cannot_be_used(
    new_manager: Callable[..., StateManager], make_topic: Callable[..., str]
) -> None:
    orders = make_topic("orders")
    manager = new_manager()
    manager.register_store("counts", orders)
    manager.on_assign([(orders, 0)])
    assert not manager.is_ready(orders, 0)
    with pytest.raises(StateError, match="still recovering"):
        manager.store("counts", orders, 0)
    recover(manager)
    assert manager.is_ready(orders, 0)
    assert [s.partition for s in manager.recovery.take_recovered()] == [0]
    assert manager.recovery.take_recovered() == []
    # An empty changelog still leaves the store knowing where it is.
    assert manager.store("counts", orders, 0).changelog_offset == 0
