"""Decoding only the fields a pipeline reads gives those fields exactly as a full decode does:
the same types and values, the same records kept and the same failures."""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl
import pytest

from headwater.serde.codecs import resolve_serde
from headwater.serde.frames import SCHEMA_SAMPLE, decode_values

JSON = resolve_serde("json", "value")
TYPICAL = {"user": "ann", "n": 3, "price": 2.5, "vip": True, "tags": ["a"], "meta": {"x": 1}}
READ = frozenset({"n", "user", "price"})


def _same_as_full(raw: list[bytes | None], fields: frozenset[str] = READ) -> pl.DataFrame:
    full, kept, failures = decode_values(JSON, raw)
    projected, projected_kept, projected_failures = decode_values(JSON, raw, fields)
    assert projected_kept == kept
    assert [(i, str(e)) for i, e in projected_failures] == [(i, str(e)) for i, e in failures]
    present = [name for name in full.columns if name in fields]
    assert projected.select(present).schema == full.select(present).schema
    assert projected.select(present).to_dicts() == full.select(present).to_dicts()
    return projected


def _batch(size: int, late: dict[str, Any] | None = None, at: int = -2) -> list[bytes | None]:
    rows = [dict(TYPICAL, n=i) for i in range(size)]
    if late is not None:
        rows[at] = late
    return [orjson.dumps(r) for r in rows]


@pytest.mark.parametrize("size", [5, 3 * SCHEMA_SAMPLE], ids=["small", "sampled"])
@pytest.mark.parametrize(
    "late",
    [
        {**TYPICAL, "n": 1.5},  # a float where the sample had integers
        {**TYPICAL, "n": -(2**63)},
        {**TYPICAL, "price": 7},  # an integer where the sample had floats
        {**TYPICAL, "user": 5},  # a number where the sample had text: not turned into "5"
        {**TYPICAL, "user": None, "n": None},
        {"vip": False},  # every read field missing
        {**TYPICAL, "user": 'Zoë \u00e9 \U0001f600 "quoted" \\ back'},
        {**TYPICAL, "meta": {"deep": [{"n": "text"}]}},  # a nested "n" of another type
        {**TYPICAL, "extra": [1, 2]},  # a field the sample never had, not read
        {},
    ],
    ids=repr,
)
def test_a_value_past_the_sample_keeps_its_own_value(size: int, late: dict[str, Any]) -> None:
    decoded = _same_as_full(_batch(size, late)).to_dicts()
    for name in READ:
        assert decoded[-2].get(name) == late.get(name), name


@pytest.mark.parametrize("size", [5, 3 * SCHEMA_SAMPLE], ids=["small", "sampled"])
@pytest.mark.parametrize(
    "bad",
    [
        b'{"n": 1, "user": "a", "tags": [1,}',  # invalid in a field not read
        b'{"n": 1} trailing',
        b"[1, 2]",
        b"null",
        b'"text"',
        b"  ",
        b'{"n": 1, "user": "\xff"}',  # not UTF-8
        None,  # a tombstone
        b'{"n": 1,\n "user": "a"}',  # valid, with a line break inside
    ],
    ids=repr,
)
def test_a_value_that_cannot_be_decoded_fails_as_it_does_in_full(size: int, bad: Any) -> None:
    raw = _batch(size)
    raw[size // 2] = bad
    _same_as_full(raw)


@pytest.mark.parametrize("size", [5, 3 * SCHEMA_SAMPLE], ids=["small", "sampled"])
def test_an_integer_past_64_bits_is_not_made_null(size: int) -> None:
    raw = _batch(size)
    raw[-2] = b'{"n": 99999999999999999999, "user": "a"}'
    assert _same_as_full(raw)["n"].to_list()[-2] is not None


def test_a_record_is_read_by_its_own_field_names() -> None:
    raw = _batch(3 * SCHEMA_SAMPLE, {"n": 1, "N": "other", "n ": "x", "user": "b"})
    assert _same_as_full(raw).columns == sorted(READ, key=list(TYPICAL).index)


def test_no_field_read_still_checks_every_value() -> None:
    raw = _batch(3 * SCHEMA_SAMPLE, {"": None, "n": 1})
    frame, kept, failures = decode_values(JSON, raw, frozenset())
    assert (frame.width, kept, failures) == (0, list(range(len(raw))), [])
    raw[3] = b'{"n": 1,'
    _, kept, failures = decode_values(JSON, raw, frozenset())
    assert 3 not in kept and [i for i, _ in failures] == [3]


def test_a_field_the_sample_lacks_is_decoded_in_full() -> None:
    raw = _batch(3 * SCHEMA_SAMPLE, {**TYPICAL, "late": 1}, at=-1)
    projected = _same_as_full(raw, READ | {"late"})
    assert projected["late"].to_list()[-2:] == [None, 1]
