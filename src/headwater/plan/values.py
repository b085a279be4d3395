"""Values in a plan's parameters: JSON as they are, expressions and user code by reference.

A Polars expression is kept as its text (for people) and its serialized form (to rebuild it);
one Polars cannot serialize (it calls Python) goes to the callable table like user functions.
Functions, classes and custom serializers cannot be JSON: the plan keeps them in a table keyed
by a stable id (``c0``, ``c1``... in the order the pipeline names them) and the JSON holds
``{"callable": id, "name": qualified name}``.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from typing import Any

import polars as pl

from headwater.errors import ConfigError


def qualified_name(obj: Any) -> str:
    """What a person reading the plan sees for a function or object."""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return str(name) if name else repr(obj)


class CallableTable:
    """User code a plan refers to, by id; the same object always gets the same id."""

    def __init__(self, entries: Mapping[str, Any] | None = None) -> None:
        self._by_id: dict[str, Any] = dict(entries or {})
        self._ids: dict[int, str] = {id(obj): key for key, obj in self._by_id.items()}

    def add(self, obj: Any) -> str:
        known = self._ids.get(id(obj))
        if known is not None and self._by_id[known] is obj:
            return known
        key = f"c{len(self._by_id)}"
        self._by_id[key] = obj
        self._ids[id(obj)] = key
        return key

    def get(self, key: str) -> Any:
        try:
            return self._by_id[key]
        except KeyError:
            raise ConfigError(
                f"the plan refers to callable {key!r}, which its callable table lacks; "
                "pass the table of the plan the JSON was made from"
            ) from None

    def names(self) -> dict[str, str]:
        return {key: qualified_name(obj) for key, obj in self._by_id.items()}

    def entries(self) -> dict[str, Any]:
        return dict(self._by_id)


def encode(value: Any, table: CallableTable) -> Any:
    """``value`` as JSON: expressions serialized, callables and other objects by reference."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pl.Expr):
        return _encode_expr(value, table)
    if isinstance(value, Mapping):
        return {str(k): encode(v, table) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v, table) for v in value]
    return {"callable": table.add(value), "name": qualified_name(value)}


def decode(value: Any, table: CallableTable) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v, table) for v in value]
    if not isinstance(value, dict):
        return value
    if _is_ref(value, "name", "callable") or _is_ref(value, "expression", "callable"):
        return table.get(value["callable"])
    if _is_ref(value, "expression", "polars"):
        return _decode_expr(value["polars"])
    return {k: decode(v, table) for k, v in value.items()}


def _is_ref(value: dict[str, Any], *fields: str) -> bool:
    """Whether ``value`` is one of the forms :func:`encode` writes (its fields, all text)."""
    return set(value) == set(fields) and all(isinstance(value[f], str) for f in fields)


def _encode_expr(expr: pl.Expr, table: CallableTable) -> dict[str, Any]:
    text = str(expr)
    try:
        data = expr.meta.serialize()
        _decode_expr(base64.b64encode(data).decode())
    except Exception:  # an expression that calls Python: kept as an object
        return {"expression": text, "callable": table.add(expr)}
    return {"expression": text, "polars": base64.b64encode(data).decode()}


def _decode_expr(data: str) -> pl.Expr:
    try:
        return pl.Expr.deserialize(io.BytesIO(base64.b64decode(data)))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"the plan holds an expression Polars cannot read back: {exc}") from exc
