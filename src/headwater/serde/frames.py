"""Batch codecs: many encoded values to one Polars frame of columns, and back.

A JSON value must be an object; its fields become columns (missing fields read as null).
A value of any other serializer becomes a single column named ``value``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, cast

import orjson
import polars as pl

from headwater.errors import SerializationError
from headwater.serde.codecs import BytesSerde, Serde, StrSerde

SCALAR_COLUMN = "value"
# A decode failure: the row's position in the input and the reason.
Failure = tuple[int, Exception]


def frame_from_rows(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Build a frame from dicts, inferring each column's type from every row; a column whose
    records hold values of different kinds keeps each record's own value (Python objects)."""
    if not rows:
        return pl.DataFrame()
    try:
        frame = pl.from_dicts(rows, infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        # No one type fits some column (text in one record, an object in another): each
        # column on its own, so only those columns become objects.
        names = dict.fromkeys(name for row in rows for name in row)
        return pl.DataFrame([_exact_column(name, rows) for name in names])
    mixed = [name for name in frame.columns if not _exact(frame[name], rows)]
    if mixed:
        frame = frame.with_columns([_objects(name, rows) for name in mixed])
    return frame


def _exact_column(name: str, rows: list[dict[str, Any]]) -> pl.Series:
    try:
        column = pl.Series(name, [row.get(name) for row in rows])
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        return _objects(name, rows)
    return column if _exact(column, rows) else _objects(name, rows)


def _exact(column: pl.Series, rows: list[dict[str, Any]]) -> bool:
    """Whether ``column`` holds each record's own value: Polars turns a field holding text in
    one record and numbers in another into text for all ("1"), and a value that does not fit
    the column's type (a number among objects) into null."""
    name = column.name
    if column.dtype == pl.String and any(not isinstance(r.get(name), str | None) for r in rows):
        return False
    if column.null_count() != sum(r.get(name) is None for r in rows):
        return False
    # Inside lists and structs Polars converts without failing ([1] beside ["x"] is ["1"]).
    return not column.dtype.is_nested() or all(
        _same(kept, row.get(name)) for kept, row in zip(column.to_list(), rows, strict=True)
    )


def _same(kept: Any, given: Any) -> bool:
    """Whether ``kept`` (read back from a column) is the value ``given``: a struct's missing
    fields read as null, an integer may read as a float, nothing else may change."""
    if isinstance(given, dict):
        return isinstance(kept, dict) and all(
            _same(kept.get(k), given.get(k)) for k in kept.keys() | given.keys()
        )
    if isinstance(given, list):
        return (
            isinstance(kept, list)
            and len(kept) == len(given)
            and all(_same(a, b) for a, b in zip(kept, given, strict=True))
        )
    if isinstance(given, bool) or isinstance(kept, bool):
        return kept is given
    if isinstance(given, int | float) and not isinstance(kept, str):
        return bool(kept == given)
    return type(kept) is type(given) and bool(kept == given)


def _objects(name: str, rows: list[dict[str, Any]]) -> pl.Series:
    return pl.Series(name, [row.get(name) for row in rows], dtype=pl.Object)


def typed_series(name: str, values: list[Any]) -> pl.Series:
    """A series of arbitrary Python values: a native type where one fits, else ``Object``."""
    try:
        return pl.Series(name, values)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        try:
            return pl.Series(name, values, strict=False)
        except Exception:
            return pl.Series(name, values, dtype=pl.Object)


def decode_values(
    serde: Serde, raw: list[bytes | None], fields: Collection[str] | None = None
) -> tuple[pl.DataFrame, list[int], list[Failure]]:
    """Decode ``raw`` into a frame. Returns the frame, the positions it holds, and failures.

    ``fields``: for JSON, the only fields the caller reads. The frame then may hold just
    those (the ones the batch has), with the types and values a full decode gives them;
    every value is still checked to be a JSON object. None: every field."""
    if serde.name == "json":
        if fields is not None and raw and all(raw):
            frame = _decode_json_fields(raw, fields)
            if frame is not None:
                return frame, list(range(len(raw))), []
        return _decode_json(raw)
    values: list[Any] = []
    kept: list[int] = []
    failures: list[Failure] = []
    for i, data in enumerate(raw):
        if data is None:
            failures.append((i, SerializationError("the record has no value (a tombstone)")))
            continue
        try:
            values.append(serde.loads(data))
        except Exception as exc:
            failures.append((i, exc))
            continue
        kept.append(i)
    return pl.DataFrame({SCALAR_COLUMN: values}, strict=False), kept, failures


def _decode_json(raw: list[bytes | None]) -> tuple[pl.DataFrame, list[int], list[Failure]]:
    # Fast path: one vectorised parse in Rust. Any missing value, invalid UTF-8 or JSON, or a
    # value that is not an object breaks it, and the slow path then isolates the culprits.
    frame = _decode_json_objects(raw) if raw and all(raw) else None
    if frame is not None:
        return frame, list(range(len(raw))), []
    rows: list[dict[str, Any]] = []
    kept: list[int] = []
    failures: list[Failure] = []
    for i, data in enumerate(raw):
        if not data:
            failures.append((i, SerializationError("the record has no value (a tombstone)")))
            continue
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            failures.append((i, SerializationError(f"not valid JSON: {exc}")))
            continue
        if not isinstance(value, dict):
            failures.append(
                (i, SerializationError(f"expected a JSON object, got {type(value).__name__}"))
            )
            continue
        rows.append(value)
        kept.append(i)
    return frame_from_rows(rows), kept, failures


def _decode_json_objects(raw: list[bytes | None]) -> pl.DataFrame | None:
    """Every value parsed at once; None if any value is not a JSON object (each value is its
    own document, so newlines inside are fine)."""
    try:
        text = pl.Series(raw, dtype=pl.Binary).cast(pl.String)
    except Exception:
        return None
    if _lone_surrogate(raw, text):
        return None
    if len(raw) > 2 * SCHEMA_SAMPLE:
        frame = _parse(text, SCHEMA_SAMPLE)
        if frame is not None and _flat(frame.schema) and not _coerced(text, frame):
            return frame
    frame = _parse(text, None)
    if frame is None or _coerced(text, frame):
        return None
    return frame


def _decode_json_fields(raw: list[bytes | None], fields: Collection[str]) -> pl.DataFrame | None:
    """Only ``fields`` kept, with the types a full decode infers; None where a full decode must
    decide (a field the sample lacks or holds nested values, a value of another type than the
    sample's, a value that is not a JSON object or holds a line break)."""
    try:
        text = pl.Series(raw, dtype=pl.Binary).cast(pl.String)
    except Exception:
        return None
    if _lone_surrogate(raw, text):
        return None
    if len(raw) <= 2 * SCHEMA_SAMPLE:  # a small batch: what the full decode does, projected
        frame = _parse(text, None)
        if frame is None or _coerced(text, frame):
            return None
        return frame.select([name for name in frame.columns if name in fields])
    sample = _parse(text.head(SCHEMA_SAMPLE), None)
    if sample is None:
        return None
    schema = {name: dtype for name, dtype in sample.schema.items() if name in fields}
    if len(schema) < len(fields) or not _flat(schema):
        return None
    # As NDJSON, one value a line, Polars parses (and so checks) every value but builds only
    # the named columns: a few times faster than str.json_decode, which builds every value.
    if text.str.contains("\n", literal=True).any():
        return None
    try:
        # With no field named, a field no record has makes Polars parse every value all the same.
        frame = pl.read_ndjson(b"\n".join(cast("list[bytes]", raw)), schema=schema or _NO_FIELD)
    except Exception:
        return None
    # A value of blanks is no line to NDJSON; a value of the wrong type fails the parse, or
    # (text columns) shows in _coerced.
    if frame.height != len(raw) or _coerced(text, frame):
        return None
    return frame if schema else pl.DataFrame()


_NO_FIELD = {"": pl.Null}
# How a \uD800-\uDFFF escape (half a surrogate pair, which alone is no character) starts:
# a plain substring search (Aho-Corasick) is cheaper than a regular expression per batch.
_SURROGATE_ESCAPE = ["\\ud", "\\uD"]


def _lone_surrogate(raw: list[bytes | None], text: pl.Series) -> bool:
    """Whether a value escapes half a surrogate pair alone: Polars would store it as NUL, so
    the value's own parse must refuse it (and the record go to the dead letters).

    Only values with an escape from \\ud000 up (an emoji escaped as a pair, say) are parsed
    again, so a batch without any costs one scan."""
    flagged = text.str.contains_any(_SURROGATE_ESCAPE)
    if not flagged.any():
        return False
    for i in flagged.arg_true().to_list():
        try:
            orjson.loads(cast("bytes", raw[i]))
        except orjson.JSONDecodeError:
            return True
    return False


# Column types inferred from this many values (Polars' own inference is most of the cost of a
# parse); a value the sample's types do not fit makes the parse fail or shows in _coerced, and
# the batch is parsed again with types inferred from every value.
SCHEMA_SAMPLE = 100


def _parse(text: pl.Series, infer_schema_length: int | None) -> pl.DataFrame | None:
    try:
        decoded = text.str.json_decode(infer_schema_length=infer_schema_length)
    except Exception:
        return None
    if not isinstance(decoded.dtype, pl.Struct) or decoded.null_count():
        return None
    frame = decoded.struct.unnest()
    return frame if frame.height == len(text) else None


_SCALARS = (pl.String, pl.Int64, pl.Float64, pl.Boolean)
# Per column type, how a value of another JSON type starts: Polars would store it converted
# (1.5 as 1, true as 1, 5 as "5") instead of failing.
_FOREIGN_START = {
    pl.String: r"[-0-9tf\[{]",
    # An integer of 19 digits or more may not fit: Polars would make it null.
    pl.Int64: r"(?:-?[0-9]+[.eE]|-?[0-9]{19}|[tf\[{\"])",
    # An integer of 16 digits or more may not be exact as a float.
    pl.Float64: r"(?:[tf\[{\"]|-?[0-9]{16})",
    pl.Boolean: r"[-0-9\[{\"]",
}


def _flat(schema: Mapping[str, pl.DataType]) -> bool:
    """Whether every column has a scalar type, and a plain name, so _coerced can spot any
    foreign value in it."""
    return all(
        dtype in _SCALARS and '"' not in name and "\\" not in name for name, dtype in schema.items()
    )


def _coerced(text: pl.Series, frame: pl.DataFrame) -> bool:
    """Whether a column holds, in some record, a value Polars converted to the column's type.

    Text columns matter even with full inference: Polars turns a field holding text in one
    record and numbers in another into text for all ("1"); frame_from_rows keeps each value.
    """
    per_column = []
    alternatives = []
    for dtype, start in _FOREIGN_START.items():
        names = [re.escape(n) for n, t in frame.schema.items() if t == dtype]
        per_column += ['"' + name + r'"\s*:\s*' + start for name in names]
        if names:
            alternatives.append('"(?:' + "|".join(names) + r')"\s*:\s*' + start)
    if not alternatives:
        return False
    # A pattern starting with one field name is found by a fast substring search: a scan per
    # column is quicker for the few a pushdown reads, one scan for all of many columns.
    if len(per_column) <= _SCAN_PER_COLUMN:
        return any(text.str.contains(pattern).any() for pattern in per_column)
    # One scan for all columns: a quoted field name followed by a value of another type.
    return bool(text.str.contains("|".join(alternatives)).any())


# Up to this many columns, _coerced scans the batch once per column (measured on 10,000
# values: two columns in 55% of the time of one scan for both, seven in 170%).
_SCAN_PER_COLUMN = 3


def decode_keys(
    serde: Serde, raw: list[bytes | None], name: str
) -> tuple[pl.Series, list[Failure]]:
    """Decode record keys into a series called ``name``; a missing key stays None.

    Failures are (position, reason); their keys read as None."""
    if serde.name == "str" and type(serde) is StrSerde:
        try:
            return pl.Series(name, raw, dtype=pl.Binary).cast(pl.String), []
        except Exception:  # invalid UTF-8 somewhere: the loop below names the record
            pass
    elif serde.name == "bytes" and type(serde) is BytesSerde:
        return pl.Series(name, raw, dtype=pl.Binary), []
    keys: list[Any] = []
    failures: list[Failure] = []
    loads = serde.loads
    for i, data in enumerate(raw):
        try:
            keys.append(None if data is None else loads(data))
        except Exception as exc:
            keys.append(None)
            failures.append((i, exc))
    return typed_series(name, keys), failures


def encode_keys(serde: Serde, keys: pl.Series) -> list[bytes | None]:
    """Encode a ``_hw_key`` column with ``serde``; None stays None (a record without a key)."""
    if keys.dtype == pl.String and serde.name == "str" and type(serde) is StrSerde:
        return keys.cast(pl.Binary).to_list()
    if keys.dtype == pl.Binary and serde.name == "bytes" and type(serde) is BytesSerde:
        return keys.to_list()
    if keys.dtype == pl.Null:
        return [None] * len(keys)
    dumps = serde.dumps
    return [None if k is None else dumps(k) for k in keys.to_list()]


def encode_values(serde: Serde, frame: pl.DataFrame) -> list[bytes]:
    """Encode every row of ``frame`` (value columns only) with ``serde``."""
    if frame.height == 0:
        return []
    if serde.name == "json":
        if frame.width == 0:
            return [b"{}"] * frame.height
        if not any(unencodable(t) for t in frame.dtypes):
            try:
                # One vectorised writer in Rust, the same one write_ndjson uses.
                encoded = frame.select(pl.struct(pl.all()).struct.json_encode().cast(pl.Binary))
                lines: list[bytes] = encoded.to_series().to_list()
                return lines
            except Exception:
                pass
        return [serde.dumps(row) for row in frame.iter_rows(named=True)]
    if frame.width != 1:
        raise SerializationError(
            f"the {serde.name!r} serializer writes one column, but the records have "
            f"{frame.width}: {frame.columns}; select one column first"
        )
    return [serde.dumps(v) for v in frame.to_series(0).to_list()]


def unencodable(dtype: object) -> bool:
    """Types Polars' JSON writer cannot write (it panics on them); orjson handles or names them."""
    if isinstance(dtype, pl.Binary | pl.Object):
        return True
    if isinstance(dtype, pl.Struct):
        return any(unencodable(f.dtype) for f in dtype.fields)
    if isinstance(dtype, pl.List | pl.Array):
        return unencodable(dtype.inner)
    return False
