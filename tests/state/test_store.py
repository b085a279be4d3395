"""PartitionStore and State on RocksDB alone: no broker involved at this level."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from headwater.errors import StateError
from headwater.state import PartitionStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PartitionStore]:
    s = PartitionStore(tmp_path / "store", "counts", "orders", 0, "app-counts-changelog")
    yield s
    s.close()


def reopen(store: PartitionStore) -> PartitionStore:
    store.close()
    return PartitionStore(store.path, store.store_name, store.topic, store.partition)


def test_get_set_delete_exists(store: PartitionStore) -> None:
    state = store.state("alice", timestamp_ms=1_000)
    assert state.get("n") is None
    assert state.get("n", 0) == 0
    assert not state.exists("n")
    state.set("n", 1)
    state.set("profile", {"tags": ["a", "b"], "score": 1.5, "ok": True, "none": None})
    assert state.get("n") == 1
    assert state.exists("n")
    assert state.get("profile") == {"tags": ["a", "b"], "score": 1.5, "ok": True, "none": None}
    state.delete("n")
    assert state.get("n", "gone") == "gone"
    assert not state.exists("n")
    # Another key's state is its own.
    assert store.state("bob", timestamp_ms=1_000).get("profile") is None


def test_none_is_a_value_and_tuples_come_back_as_lists(store: PartitionStore) -> None:
    state = store.state("k", timestamp_ms=0)
    state.set("nothing", None)
    state.set("pair", (1, 2))
    assert state.exists("nothing")
    assert state.get("nothing", "default") is None
    assert state.get("pair") == [1, 2]


def test_get_returns_a_copy(store: PartitionStore) -> None:
    state = store.state("k", timestamp_ms=0)
    state.set("items", [1])
    state.get("items").append(2)
    assert state.get("items") == [1]


def test_values_that_are_not_json_are_refused_with_the_name(store: PartitionStore) -> None:
    with pytest.raises(StateError, match=r"'seen'.*JSON-able"):
        store.state("k", timestamp_ms=0).set("seen", {1, 2})


def test_keys_must_be_str_bytes_or_int(store: PartitionStore) -> None:
    with pytest.raises(StateError, match="must be str, bytes or int"):
        store.state(None, timestamp_ms=0)  # type: ignore[arg-type]
    # An int key and its decimal text are the same key (the CLI reads keys as text).
    store.state(42, timestamp_ms=0).set("n", 1)
    assert store.state("42", timestamp_ms=0).get("n") == 1
    assert store.state(b"42", timestamp_ms=0).get("n") == 1


def test_keys_and_names_never_collide(store: PartitionStore) -> None:
    store.set(b"a", "bc", 1)
    store.set(b"ab", "c", 2)
    store.set(b"a\x00", "", 3)
    assert store.get(b"a", "bc") == 1
    assert store.get(b"ab", "c") == 2
    assert store.get(b"a\x00", "") == 3
    assert store.get(b"a", "b") is None


def test_ttl_expires_in_event_time_and_deletes(store: PartitionStore) -> None:
    store.state("alice", timestamp_ms=1_000).set("page", "/home", ttl_ms=500)
    store.state("alice", timestamp_ms=1_000).set("forever", 1)
    assert store.state("alice", timestamp_ms=1_499).get("page") == "/home"
    assert store.state("alice", timestamp_ms=1_499).exists("page")
    store.persist(10, None)
    # A read at or past the expiry misses, and the entry is deleted...
    assert store.state("alice", timestamp_ms=1_500).get("page", "expired") == "expired"
    assert dict(store.changes()) == {_entry("alice", "page"): None}
    # ...so even an earlier event time no longer sees it.
    assert store.state("alice", timestamp_ms=1_000).get("page") is None
    assert store.state("alice", timestamp_ms=10**12).get("forever") == 1
    # Wall-clock time plays no part: a read with no event time does not expire anything.
    store.state("bob", timestamp_ms=0).set("x", 1, ttl_ms=1)
    assert store.get("bob", "x") == 1


def test_ttl_needs_a_positive_int_and_an_event_time(store: PartitionStore) -> None:
    with pytest.raises(StateError, match=r"ttl_ms=0"):
        store.state("k", timestamp_ms=0).set("x", 1, ttl_ms=0)
    with pytest.raises(StateError, match="needs the record's event time"):
        store.state("k").set("x", 1, ttl_ms=10)


def test_persist_survives_close_and_reopen(store: PartitionStore) -> None:
    store.state("alice", timestamp_ms=0).set("n", 1)
    store.state("bob", timestamp_ms=0).set("n", 2)
    store.persist(input_offset=17, changelog_offset=5)
    store.state("bob", timestamp_ms=0).set("n", 99)  # never persisted
    store = reopen(store)
    try:
        assert store.get("alice", "n") == 1
        assert store.get("bob", "n") == 2
        assert store.processed_offset == 17
        assert store.changelog_offset == 5
        assert store.dirty_count == 0
    finally:
        store.close()


def test_deletes_are_persisted(store: PartitionStore) -> None:
    store.set("a", "n", 1)
    store.persist(1, 1)
    store.delete("a", "n")
    store.persist(2, 2)
    store = reopen(store)
    try:
        assert not store.exists("a", "n")
        assert list(store.raw_items()) == []
    finally:
        store.close()


def test_changes_hold_each_entry_once_with_its_latest_value(store: PartitionStore) -> None:
    for i in range(1_000):
        store.state("alice", timestamp_ms=i).set("n", i)
    store.state("bob", timestamp_ms=0).set("n", 1)
    store.state("bob", timestamp_ms=0).delete("n")
    changes = dict(store.changes())
    assert len(changes) == 2
    assert store.get("alice", "n") == 999
    assert changes[_entry("bob", "n")] is None


def test_abort_discards_changes_since_the_last_persist(store: PartitionStore) -> None:
    store.set("alice", "n", 1)
    store.persist(1, None)
    store.set("alice", "n", 2)
    store.set("bob", "n", 3)
    store.delete("alice", "n")
    store.abort()
    assert store.get("alice", "n") == 1
    assert not store.exists("bob", "n")
    assert store.dirty_count == 0
    assert store.processed_offset == 1


def test_offsets_never_move_back(store: PartitionStore) -> None:
    store.persist(10, 3)
    store.persist(4, None)
    assert store.processed_offset == 10
    assert store.changelog_offset == 3


def test_get_many_and_set_many_read_and_write_each_key_once(store: PartitionStore) -> None:
    store.set_many([("a", 10), ("b", 20)], name="sum")
    store.persist(1, None)
    store.set("c", "sum", 5)  # dirty, not yet persisted
    batch = pl.DataFrame({"key": ["a", "c", "a", "d", "b"], "amount": [1, 2, 3, 4, 5]})
    totals = batch.group_by("key", maintain_order=True).agg(pl.col("amount").sum())
    keys = totals["key"].to_list()
    before = store.get_many(keys, name="sum", default=0)
    assert before == [10, 5, 0, 20]
    new = [b + a for b, a in zip(before, totals["amount"].to_list(), strict=True)]
    store.set_many(zip(keys, new, strict=True), name="sum")
    assert store.get_many(["a", "b", "c", "d", "zzz"], name="sum") == [14, 25, 7, 4, None]
    assert store.dirty_count == 4


def test_get_many_applies_ttl_when_given_the_event_time(store: PartitionStore) -> None:
    store.set("a", "value", 1, expires_at=100)
    store.set("b", "value", 2)
    assert store.get_many(["a", "b"]) == [1, 2]
    assert store.get_many(["a", "b"], now_ms=100, default=-1) == [-1, 2]
    assert not store.exists("a", "value")


def test_replay_refuses_a_store_with_unpersisted_changes(store: PartitionStore) -> None:
    store.set("a", "n", 1)
    with pytest.raises(StateError, match="unpersisted changes"):
        store.apply_changelog([], 0, 0)


def test_a_closed_store_says_why(store: PartitionStore) -> None:
    store.close()
    with pytest.raises(StateError, match="is closed"):
        store.persist(1, 1)
    with pytest.raises(StateError, match="get the current store from the StateManager"):
        store.get("alice", "n")
    with pytest.raises(StateError, match="is closed"):
        store.get_many(["alice"])


def _entry(key: str, name: str) -> bytes:
    from headwater.state.encoding import encode_key, entry_key

    return entry_key(encode_key(key), name)
