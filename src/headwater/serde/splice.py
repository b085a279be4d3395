"""Pass-through output: each input JSON object's bytes with new fields written into it.

When an output record is its input record plus assigned columns, writing the input's bytes
with the new fields added before the closing brace gives the same JSON as decoding every
field and encoding it again, for a fraction of the work. The new fields are encoded by the
same writer as a full encode (:func:`~headwater.serde.frames.encode_values`), so their text
is what a full encode writes.

A record is encoded in full instead, exactly as without splicing, wherever splicing could be
wrong: when its text may already hold a field of one of the new names (splicing would
write it twice) or does not end with the object's closing brace.

>>> import polars as pl
>>> splice_json([b'{"id": 1, "note": "caf\\xc3\\xa9"}', b'{}'], pl.DataFrame({"x": [0.5, None]}))
([b'{"id": 1, "note": "caf\\xc3\\xa9","x":0.5}', b'{"x":null}'], [])
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import polars as pl

from headwater.serde.codecs import JsonSerde
from headwater.serde.frames import Failure, decode_values, encode_values, unencodable

_JSON = JsonSerde()
_BLANKS = " \t\n\r"  # the whitespace JSON allows between tokens
# The batch's columns while splicing: a struct of the new fields keeps their names apart.
_ORIGINAL = "original"
_SPLICEABLE = "spliceable"
_ADDED = "added"


def splice_json(
    originals: Sequence[bytes], added: pl.DataFrame
) -> tuple[list[bytes | None], list[Failure]]:
    """Each of ``originals`` (JSON objects) with the columns of ``added`` (one row each) as
    fields at its end. Returns the values and the failures (position, reason) of records a
    full encode could not write either; their values are None."""
    if added.width == 0:
        return list(originals), []
    original = pl.Series(_ORIGINAL, originals, dtype=pl.Binary).cast(pl.String)
    spliceable = ~_may_hold(original, added.columns).alias(_SPLICEABLE)
    spliced = None
    if not any(unencodable(dtype) for dtype in added.dtypes):
        # The new fields encoded in the same pass as the splice, by the same writer.
        batch = pl.DataFrame([original, spliceable, added.to_struct(_ADDED)])
        # Where Polars' writer fails, orjson writes them, as in encode_values.
        with contextlib.suppress(pl.exceptions.PolarsError):
            spliced = _splice(batch, pl.col(_ADDED).struct.json_encode())
    if spliced is None:
        encoded = pl.Series(_ADDED, encode_values(_JSON, added), dtype=pl.Binary)
        batch = pl.DataFrame([original, spliceable, encoded.cast(pl.String)])
        spliced = _splice(batch, pl.col(_ADDED))
    values: list[bytes | None] = spliced.to_list()
    failures: list[Failure] = []
    missing = spliced.is_null()
    if missing.any():
        failures = _encode_in_full(originals, added, missing.arg_true().to_list(), values)
    return values, failures


def _splice(batch: pl.DataFrame, encoded: pl.Expr) -> pl.Series:
    """Column ``original`` with ``encoded`` (a JSON object's text) written in before its
    closing brace, where column ``spliceable`` holds and the text ends with that brace;
    else null."""
    # JSON allows whitespace after the object; the new fields go before its closing brace.
    body = pl.col(_ORIGINAL).str.strip_chars_end(_BLANKS)
    inside = body.str.head(-1)
    separator = (
        pl.when(inside.str.strip_chars_end(_BLANKS).str.ends_with("{"))  # an empty object
        .then(pl.lit(""))
        .otherwise(pl.lit(","))
    )
    written = pl.concat_str(inside, separator, encoded.str.tail(-1))
    return batch.select(
        pl.when(pl.col(_SPLICEABLE) & body.str.ends_with("}")).then(written).cast(pl.Binary)
    ).to_series()


def _encode_in_full(
    originals: Sequence[bytes],
    added: pl.DataFrame,
    positions: list[int],
    values: list[bytes | None],
) -> list[Failure]:
    """Write ``values`` at ``positions`` by decoding every field and encoding them again,
    the new columns assigned over them as the pipeline's assign step does."""
    raw: list[bytes | None] = [originals[i] for i in positions]
    decoded, kept, failures = decode_values(_JSON, raw)
    full = decoded.with_columns(added[[positions[k] for k in kept]].get_columns())
    for k, value in zip(kept, encode_values(_JSON, full), strict=True):
        values[positions[k]] = value
    return [(positions[k], error) for k, error in failures]


def _may_hold(text: pl.Series, names: list[str]) -> pl.Series:
    """Per JSON text, whether it may hold a string spelling one of ``names``: as it is, or,
    in a text with escapes, with any of its characters written as an escape."""
    found = text.str.contains_any([f'"{name}"' for name in names])
    escaped = text.str.contains("\\", literal=True)
    if escaped.any():
        spelled = ["".join(f"(?:{_literal(c)}|{_ESCAPE})" for c in name) for name in names]
        found = found | (escaped & text.str.contains('"(?:' + "|".join(spelled) + ')"'))
    return found


# Any escape JSON allows in a string: one of its short forms, or a code point in hex.
_ESCAPE = r"\\[\\\"/bfnrt]|\\u[0-9a-fA-F]{4}"


def _literal(char: str) -> str:
    return char if char.isalnum() else f"\\x{{{ord(char):x}}}"
