"""Serializers for keys and values, per record and per columnar batch."""

from headwater.serde.codecs import SERDES, Serde, resolve_serde
from headwater.serde.frames import decode_values, encode_values

__all__ = ["SERDES", "Serde", "decode_values", "encode_values", "resolve_serde"]
