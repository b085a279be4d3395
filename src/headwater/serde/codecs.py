"""Per-record codecs: ``json``, ``str``, ``bytes``, ``int`` and ``float``.

``int`` and ``float`` use Kafka's own 8-byte big-endian layouts (LongSerializer and
DoubleSerializer), so Java and other clients read them back unchanged.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

import orjson

from headwater.errors import ConfigError, SerializationError


class Serde(Protocol):
    name: str

    def loads(self, data: bytes) -> Any: ...

    def dumps(self, obj: Any) -> bytes: ...


class JsonSerde:
    name = "json"

    def loads(self, data: bytes) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(f"not valid JSON: {exc}") from exc

    def dumps(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
        except TypeError as exc:
            raise SerializationError(f"cannot encode as JSON: {exc}") from exc


class StrSerde:
    name = "str"

    def loads(self, data: bytes) -> Any:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(f"not valid UTF-8: {exc}") from exc

    def dumps(self, obj: Any) -> bytes:
        return obj.encode("utf-8") if isinstance(obj, str) else str(obj).encode("utf-8")


class BytesSerde:
    name = "bytes"

    def loads(self, data: bytes) -> Any:
        return data

    def dumps(self, obj: Any) -> bytes:
        if isinstance(obj, bytes | bytearray | memoryview):
            return bytes(obj)
        raise SerializationError(f"expected bytes, got {type(obj).__name__}")


class IntSerde:
    name = "int"

    def loads(self, data: bytes) -> Any:
        if len(data) == 8:
            return struct.unpack(">q", data)[0]
        if len(data) == 4:
            return struct.unpack(">i", data)[0]
        raise SerializationError(f"an int is 4 or 8 bytes, got {len(data)}")

    def dumps(self, obj: Any) -> bytes:
        try:
            return struct.pack(">q", int(obj))
        except (TypeError, ValueError, struct.error) as exc:
            raise SerializationError(f"cannot encode {obj!r} as a 64-bit int") from exc


class FloatSerde:
    name = "float"

    def loads(self, data: bytes) -> Any:
        if len(data) == 8:
            return struct.unpack(">d", data)[0]
        if len(data) == 4:
            return struct.unpack(">f", data)[0]
        raise SerializationError(f"a float is 4 or 8 bytes, got {len(data)}")

    def dumps(self, obj: Any) -> bytes:
        try:
            return struct.pack(">d", float(obj))
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"cannot encode {obj!r} as a float") from exc


SERDES: dict[str, Serde] = {
    s.name: s for s in (JsonSerde(), StrSerde(), BytesSerde(), IntSerde(), FloatSerde())
}


def resolve_serde(value: str | Serde, field: str) -> Serde:
    """Look a serde up by name, or accept an object with ``name``, ``loads`` and ``dumps``."""
    if isinstance(value, str):
        try:
            return SERDES[value]
        except KeyError:
            names = ", ".join(sorted(SERDES))
            raise ConfigError(
                f"{field}={value!r} is not a serializer; use one of {names}"
            ) from None
    if all(hasattr(value, attr) for attr in ("name", "loads", "dumps")):
        return value
    raise ConfigError(f"{field} must be a serializer name or have name, loads and dumps")
