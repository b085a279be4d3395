"""Batch JSON decoding infers column types from a sample of each batch; a value the sample's
types do not fit, anywhere in the batch, must still arrive exactly as it was written."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from headwater.serde.codecs import resolve_serde
from headwater.serde.frames import SCHEMA_SAMPLE, decode_values

TYPICAL = {"user": "ann", "n": 3, "price": 2.5, "vip": True}


def _decode(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    frame, kept, failures = decode_values(
        resolve_serde("json", "value"), [orjson.dumps(r) for r in rows]
    )
    assert failures == [] and kept == list(range(len(rows)))
    return frame.to_dicts()


@pytest.mark.parametrize(
    "late",
    [
        {"n": 1.5},  # a float where the sample had integers: not truncated to 1
        {"n": -2e3},
        {"price": 7},  # an integer where the sample had floats
        {"user": 5},  # a number where the sample had text: not turned into "5"
        {"n": "three"},
        {"vip": 1},  # a number where the sample had booleans
        {"n": True},
        {"extra": [1, 2]},  # a field the sample never had
        {"price": {"amount": 1}},
        {"user": None, "n": None},
    ],
    ids=repr,
)
def test_a_value_past_the_sample_keeps_its_own_value(late: dict[str, Any]) -> None:
    rows = [dict(TYPICAL) for _ in range(3 * SCHEMA_SAMPLE)]
    rows[-2] = {**TYPICAL, **late}
    decoded = _decode(rows)
    for name, value in late.items():
        assert decoded[-2][name] == value, name
    assert decoded[0] == {**TYPICAL, **{name: None for name in late if name not in TYPICAL}}


def test_a_uniform_batch_keeps_its_types() -> None:
    rows = [{**TYPICAL, "n": i} for i in range(3 * SCHEMA_SAMPLE)]
    decoded = _decode(rows)
    assert [r["n"] for r in decoded] == list(range(3 * SCHEMA_SAMPLE))
    assert all(type(r["n"]) is int and type(r["price"]) is float for r in decoded)


@pytest.mark.parametrize("size", [3, 3 * SCHEMA_SAMPLE], ids=["small", "sampled"])
@pytest.mark.parametrize("fields", [None, frozenset({"user"})], ids=["every field", "projected"])
def test_half_a_surrogate_pair_is_refused_and_a_whole_pair_kept(
    size: int, fields: frozenset[str] | None
) -> None:
    # JSON may escape half a surrogate pair, which is no character: the record is refused
    # (to the dead letters), not stored with a NUL in its place; an escaped pair is an emoji.
    raw: list[bytes | None] = [orjson.dumps({**TYPICAL, "n": i}) for i in range(size)]
    raw[1] = b'{"user": "x\\ud800y", "n": 1, "price": 2.5, "vip": true}'
    raw[2] = b'{"user": "\\ud83d\\ude00", "n": 2, "price": 2.5, "vip": true}'
    frame, kept, failures = decode_values(resolve_serde("json", "value"), raw, fields)
    assert [i for i, _ in failures] == [1]
    assert "surrogate" in str(failures[0][1])
    assert kept == [0, *range(2, size)]
    assert frame["user"].to_list()[1] == "\N{GRINNING FACE}"
    assert not frame["user"].str.contains("\x00", literal=True).any()
