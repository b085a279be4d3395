"""How state lives in bytes: entry keys, value envelopes, and the changelog's checkpoint marker.

An entry is one named value of one record key. Its key is ``len(key)`` (4 bytes, big-endian),
the record key's bytes, then the name in UTF-8: unambiguous for any key bytes, and every entry
of one record key shares a prefix. The same bytes are the RocksDB key and the changelog key, so
compaction keeps the latest value of each entry and replay copies bytes without decoding.

A value is one tag byte, an optional expiry, then the value as JSON (orjson):
``0x00 json`` or ``0x01 expiry(8 bytes, signed big-endian, event-time ms) json``.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

from headwater.errors import StateError

StateKey = str | bytes | int

# A 4 GiB record key cannot exist, so this prefix never starts an entry key.
CHECKPOINT_KEY = b"\xff\xff\xff\xffheadwater.checkpoint"
# Header on every changelog record: the input offset its checkpoint processed up to. Recovery
# applies a record only once a marker at or past that offset is read, so a checkpoint cut short
# by a crash never counts.
OFFSET_HEADER = "headwater.state.offset"

_LENGTH = struct.Struct(">I")
_EXPIRY = struct.Struct(">q")
_PLAIN = b"\x00"
_EXPIRING = b"\x01"


def encode_key(key: StateKey) -> bytes:
    """A record key as bytes: str as UTF-8, int as decimal text, bytes unchanged."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key).encode("ascii")
    raise StateError(
        f"state key {key!r} ({type(key).__name__}) is not usable: state is kept per record key, "
        "which must be str, bytes or int; give the records a key (e.g. group_by) first"
    )


def key_prefix(key: bytes) -> bytes:
    """The prefix every entry of record key ``key`` starts with."""
    return _LENGTH.pack(len(key)) + key


def entry_key(key: bytes, name: str) -> bytes:
    return _LENGTH.pack(len(key)) + key + name.encode("utf-8")


def split_entry_key(entry: bytes) -> tuple[bytes, str]:
    """The record key and the name an entry key was made of."""
    (length,) = _LENGTH.unpack_from(entry)
    return entry[4 : 4 + length], entry[4 + length :].decode("utf-8")


def encode_value(value: Any, name: str, expires_at: int | None = None) -> bytes:
    try:
        data = orjson.dumps(value)
    except TypeError as exc:
        raise StateError(
            f"state value for {name!r} cannot be stored: {exc}; store JSON-able values "
            "(None, bool, int, float, str, lists, dicts with str keys)"
        ) from exc
    if expires_at is None:
        return _PLAIN + data
    return _EXPIRING + _EXPIRY.pack(expires_at) + data


def plain_value(json: bytes) -> bytes:
    """A value already written as JSON, in its envelope (no expiry): what ``encode_value``
    makes of the value that JSON holds."""
    return _PLAIN + json


def decode_value(data: bytes) -> tuple[Any, int | None]:
    """The value and its expiry (event-time ms, or None when it never expires)."""
    if data[:1] == _PLAIN:
        return orjson.loads(data[1:]), None
    return orjson.loads(data[9:]), _EXPIRY.unpack_from(data, 1)[0]


def expiry_of(data: bytes) -> int | None:
    """The expiry alone, without decoding the value."""
    return _EXPIRY.unpack_from(data, 1)[0] if data[:1] == _EXPIRING else None
