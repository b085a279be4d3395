"""Write-behind state on a PartitionStore: in-memory open windows reach the store's entries
(and so the changelog) at a checkpoint, follow savepoints, and are dropped by an abort."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from headwater.runtime.operators.open_windows import OpenWindows
from headwater.state import PartitionStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PartitionStore]:
    s = PartitionStore(tmp_path / "store", "windows", "orders", 0, "app-windows-changelog")
    yield s
    s.close()


def windows(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    """(key, window end, count) rows."""
    return pl.DataFrame(rows, schema=["k", "end", "n"], orient="row")


def to_entries(frame: pl.DataFrame) -> dict[Any, dict[str, Any]]:
    entries: dict[Any, dict[str, Any]] = {}
    for key, end, n in frame.iter_rows():
        entries.setdefault(key, {"windows": []})["windows"].append([end, n])
    return entries


def attached(store: PartitionStore, frame: pl.DataFrame) -> OpenWindows:
    open_ = OpenWindows(store, frame, "win", to_entries, "k", "end")
    store.attach(open_)
    return open_


def test_changed_keys_reach_the_store_only_at_a_checkpoint(store: PartitionStore) -> None:
    open_ = attached(store, windows([]))
    open_.replace(windows([("a", 10, 1), ("a", 20, 2), ("b", 10, 5)]), pl.Series(["a", "b"]))
    assert open_.earliest == 10
    assert store.get("a", "win") is None  # not written per batch
    changes = dict(store.changes())
    assert len(changes) == 2
    assert store.get("a", "win") == {"windows": [[10, 1], [20, 2]]}
    store.persist(input_offset=3, changelog_offset=None)
    # b's last window closed: its entry is deleted at the next checkpoint, a's is rewritten.
    open_.replace(windows([("a", 20, 2)]), pl.Series(["a", "b"]))
    store.write_behind()  # the first step of a checkpoint
    assert store.dirty_count == 2
    store.persist(input_offset=4, changelog_offset=None)
    assert store.get("a", "win") == {"windows": [[20, 2]]}
    assert store.get("b", "win") is None
    assert store.dirty_count == 0  # nothing changed since: nothing written


def test_rollback_restores_the_frame_and_abort_drops_it(store: PartitionStore) -> None:
    open_ = attached(store, windows([("a", 10, 1)]))
    open_.replace(open_.frame, pl.Series(["a"]))
    store.persist(input_offset=1, changelog_offset=None)
    savepoint = store.savepoint()
    open_.replace(windows([("a", 10, 2)]), pl.Series(["a"]))
    store.rollback(savepoint)
    assert open_.frame["n"].to_list() == [1]
    store.write_behind()
    assert store.dirty_count == 0  # the rolled-back change is not written
    later = attached(store, windows([("c", 5, 1)]))  # attached after the savepoint
    store.rollback(savepoint)
    assert not later.valid and open_.valid
    open_.replace(windows([("a", 10, 9)]), pl.Series(["a"]))
    store.abort()
    assert not open_.valid and open_.frame.height == 0
    assert store.get("a", "win") == {"windows": [[10, 1]]}  # the persisted entry stands
