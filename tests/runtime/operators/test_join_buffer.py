"""A join's kept rows are write-behind: a checkpoint writes only what changed against the
store, rows that came and went between two checkpoints never reach it, and the entries
written are those the per-row encoding makes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from headwater.runtime.loop.batch import KEY, TS
from headwater.runtime.operators.join_buffer import (
    JOIN_KEY,
    MATCHED,
    MATCHED_ENTRY,
    ROW_ENTRY,
    ROW_ID,
    JoinBuffer,
)
from headwater.state.encoding import encode_key, encode_value, entry_key
from headwater.state.store import PartitionStore


def _rows(ids: list[int], **values: list[object]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            ROW_ID: ids,
            JOIN_KEY: [f"k{i % 3}" for i in ids],
            KEY: [f"k{i % 3}" for i in ids],
            TS: [1000 + i for i in ids],
            MATCHED: [False] * len(ids),
            **values,
        }
    )


def _store(tmp_path: Path) -> PartitionStore:
    return PartitionStore(tmp_path / "join", "join-left", "trades", 0)


def test_rows_that_come_and_go_between_checkpoints_never_reach_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path)
    buffer = JoinBuffer(store)
    buffer.add(_rows([1, 2, 3], price=[1.5, 2.0, None]))
    buffer.drop(pl.col(ROW_ID) < 3)
    changes = dict(store.changes())
    assert set(changes) == {entry_key(b"3", ROW_ENTRY)}
    store.persist(input_offset=4, changelog_offset=None)

    buffer.mark(pl.Series([3]))
    buffer.add(_rows([4], price=[9.0]))
    buffer.drop(pl.col(ROW_ID) == 4)
    assert dict(store.changes()) == {entry_key(b"3", MATCHED_ENTRY): encode_value(True, "m")}
    store.persist(input_offset=5, changelog_offset=None)

    buffer.drop(pl.col(ROW_ID) == 3)  # stored and marked: both entries are deleted
    assert dict(store.changes()) == {
        entry_key(b"3", ROW_ENTRY): None,
        entry_key(b"3", MATCHED_ENTRY): None,
    }
    store.persist(input_offset=6, changelog_offset=None)
    assert list(store.raw_items()) == []
    store.close()


def test_entries_are_the_per_row_encoding_of_every_value_type(tmp_path: Path) -> None:
    store = _store(tmp_path)
    buffer = JoinBuffer(store)
    rows = _rows(
        [7, 8],
        price=[0.1, None],
        n=[2**62, -3],
        ok=[True, None],
        note=['say "hi"\n', "é"],
        tags=[["a"], []],
    )
    buffer.add(rows)
    changes = dict(store.changes())
    for row in rows.iter_rows(named=True):
        values = {c: row[c] for c in ("price", "n", "ok", "note", "tags")}
        expected = {"j": row[JOIN_KEY], "k": row[KEY], "t": row[TS], "v": values}
        assert changes[entry_key(encode_key(row[ROW_ID]), ROW_ENTRY)] == encode_value(
            expected, "row"
        )
    store.persist(input_offset=10, changelog_offset=None)
    store.close()

    reopened = _store(tmp_path)
    again = JoinBuffer(reopened)
    assert sorted(again.rows[ROW_ID].to_list()) == [7, 8]
    assert again.rows.filter(pl.col(ROW_ID) == 7)["note"].to_list() == ['say "hi"\n']
    reopened.close()


def test_values_json_cannot_hold_exactly_are_written_row_by_row(tmp_path: Path) -> None:
    store = _store(tmp_path)
    buffer = JoinBuffer(store)
    at = pl.Series("at", [1_700_000_000_000], dtype=pl.Datetime("ms"))
    buffer.add(_rows([1]).with_columns(at))
    entry = dict(store.changes())[entry_key(b"1", ROW_ENTRY)]
    assert entry == encode_value(
        {"j": "k1", "k": "k1", "t": 1001, "v": {"at": at.to_list()[0]}}, "row"
    )
    store.close()
