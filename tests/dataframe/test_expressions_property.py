"""Random expression trees over random records: the pipeline agrees with a plain-Python oracle.

Each example draws a schema (a type per field), records that follow it (every field a value,
null or missing), a filter condition and an assigned expression. The pipeline evaluates them
vectorised through ``sdf.test``; ``evaluate`` below computes the same thing one record at a time
with the semantics documented in ``headwater.dataframe.expressions`` and docs/expressions.md.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from headwater import App, Column, lit

INT64 = (-(2**63), 2**63 - 1)
TYPES = ("int", "float", "str", "bool")
MISSING = object()
_INT_TEXT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT_TEXT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


class Overflow(Exception):
    """The oracle left the range both sides agree on (int64 wrap, float inf): skip the example."""


@dataclass(frozen=True)
class Expr:
    """One node of an expression tree: its kind, its static type and its children or data."""

    kind: str
    type: str
    args: tuple[Any, ...] = ()


# Generation -----------------------------------------------------------------------------------

INTS = st.one_of(st.integers(-1000, 1000), st.sampled_from([0, 1, -1, 2]))
FLOATS = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 0.5, 1.5, -2.5, 2.0]),
)
STRS = st.one_of(
    st.text(alphabet="abcAB xé09", max_size=5),
    st.sampled_from(["3", "-12", "+4", "1.5", "1e3", ".5", "true", "False", "", " 7", "1_0"]),
)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": INTS,
    "float": FLOATS,
    "str": STRS,
    "bool": st.booleans(),
}


@st.composite
def records(draw: st.DrawFn, schema: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        record: dict[str, Any] = {"_id": i}
        for name, typ in schema.items():
            value = draw(st.one_of(st.just(MISSING), st.none(), VALUES[typ]))
            if value is not MISSING:
                record[name] = value
        out.append(record)
    return out


def leaf(schema: dict[str, str], typ: str) -> st.SearchStrategy[Expr]:
    fields = [name for name, t in schema.items() if t == typ]
    literal = VALUES[typ].map(lambda v: Expr("lit", typ, (v,)))
    if not fields:
        return literal
    return st.one_of(literal, st.sampled_from(fields).map(lambda f: Expr("field", typ, (f,))))


@st.composite
def expr(draw: st.DrawFn, schema: dict[str, str], typ: str, depth: int) -> Expr:
    """A random expression of static type ``typ`` (``num`` means int or float)."""
    if typ == "num":
        typ = draw(st.sampled_from(["int", "float"]))
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(leaf(schema, typ))
    sub = lambda t: expr(schema, t, depth - 1)  # noqa: E731
    if typ in ("int", "float"):
        kind = draw(
            st.sampled_from(
                ["+", "-", "*", "/", "//", "%", "**", "neg", "abs", "round", "fill", "cast"]
            )
        )
        if kind in ("+", "-", "*"):
            side = "int" if typ == "int" else "num"
            a, b = draw(sub(side)), draw(sub(side))
            return Expr("bin", _num_type(a, b), (kind, a, b))
        if kind in ("/",):
            return Expr("bin", "float", (kind, draw(sub("num")), draw(sub("num"))))
        if kind in ("//", "%"):
            # Float // and % follow floor(x / y) in floating point: exercised in example tests.
            return Expr("bin", "int", (kind, draw(sub("int")), draw(sub("int"))))
        if kind == "**":
            base = draw(
                leaf(schema, "int" if typ == "int" else draw(st.sampled_from(["int", "float"])))
            )
            exponent = draw(st.sampled_from([0, 1, 2, 3] + ([] if typ == "int" else [0.5])))
            kind_type = "float" if base.type == "float" or isinstance(exponent, float) else "int"
            return Expr("bin", kind_type, ("**", base, Expr("lit", kind_type, (exponent,))))
        if kind in ("neg", "abs", "round"):
            a = draw(sub(typ))
            return Expr(kind, a.type, (a,))
        if kind == "fill":
            a = draw(sub(typ))
            return Expr("fill", a.type, (a, draw(VALUES[a.type])))
        source = draw(sub(draw(st.sampled_from(["int", "float", "str", "bool"]))))
        return Expr("cast", typ, (source,))
    if typ == "str":
        kind = draw(st.sampled_from(["lower", "upper", "fill", "cast"]))
        if kind == "cast":
            return Expr("cast", "str", (draw(sub(draw(st.sampled_from(["int", "str", "bool"])))),))
        a = draw(sub("str"))
        return Expr(kind, "str", (a, draw(STRS)) if kind == "fill" else (a,))
    kind = draw(
        st.sampled_from(
            ["cmp", "cmp", "&", "|", "~", "isin", "is_null", "is_not_null", "str", "cast", "fill"]
        )
    )
    if kind == "cmp":
        side = draw(st.sampled_from(["num", "str", "bool"]))
        ops = ["==", "!="] if side == "bool" else ["==", "!=", "<", "<=", ">", ">="]
        return Expr("cmp", "bool", (draw(st.sampled_from(ops)), draw(sub(side)), draw(sub(side))))
    if kind in ("&", "|"):
        return Expr(kind, "bool", (draw(sub("bool")), draw(sub("bool"))))
    if kind == "~":
        return Expr("~", "bool", (draw(sub("bool")),))
    if kind == "isin":
        a = draw(sub(draw(st.sampled_from(["int", "float", "str", "bool"]))))
        return Expr("isin", "bool", (a, tuple(draw(st.lists(VALUES[a.type], max_size=3)))))
    if kind in ("is_null", "is_not_null"):
        return Expr(kind, "bool", (draw(sub(draw(st.sampled_from(TYPES)))),))
    if kind == "str":
        method = draw(st.sampled_from(["contains", "startswith", "endswith"]))
        needle = draw(st.text(alphabet="abAé0 ", max_size=2))
        return Expr("strtest", "bool", (method, draw(sub("str")), needle))
    if kind == "cast":
        return Expr("cast", "bool", (draw(sub(draw(st.sampled_from(TYPES)))),))
    return Expr("fill", "bool", (draw(sub("bool")), draw(st.booleans())))


def _num_type(a: Expr, b: Expr) -> str:
    return "float" if "float" in (a.type, b.type) else "int"


# The pipeline side: an Expr tree as a headwater Column ----------------------------------------

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "&": operator.and_,
    "|": operator.or_,
}
_CAST = {"int": int, "float": float, "str": str, "bool": bool}


def build(e: Expr, sdf: Any) -> Any:
    """The Column for ``e``; a literal next to a column stays a plain Python value (r-ops)."""
    if e.kind == "lit":
        return lit(e.args[0])
    if e.kind == "field":
        return sdf[e.args[0]]
    if e.kind in ("bin", "cmp", "&", "|"):
        op, a, b = (e.args[0], *e.args[1:]) if e.kind in ("bin", "cmp") else (e.kind, *e.args)
        left, right = _operand(a, sdf), _operand(b, sdf)
        if not isinstance(left, Column) and not isinstance(right, Column):
            left = lit(left)
        return _BINARY[op](left, right)
    (a, *rest) = e.args if e.kind != "strtest" else e.args[1:]
    column = build(a, sdf)
    if e.kind == "neg":
        return -column
    if e.kind == "abs":
        return abs(column) if a.kind == "field" else column.abs()
    if e.kind == "round":
        return column.round()
    if e.kind == "~":
        return ~column
    if e.kind == "fill":
        return column.fill_null(rest[0])
    if e.kind == "cast":
        return column.astype(_CAST[e.type])
    if e.kind == "isin":
        return column.isin(list(rest[0]))
    if e.kind == "is_null":
        return column.is_null()
    if e.kind == "is_not_null":
        return column.is_not_null()
    if e.kind in ("lower", "upper"):
        return getattr(column.str, e.kind)()
    return getattr(column.str, e.args[0])(rest[0])


def _operand(e: Expr, sdf: Any) -> Any:
    # Plain Python literals exercise Column's reflected operators (2 - col, 1 / col...).
    if e.kind == "lit" and e.type in ("int", "float") and e.args[0] is not None:
        return e.args[0]
    return build(e, sdf)


# The oracle: one record at a time, in plain Python -------------------------------------------


def evaluate(e: Expr, record: dict[str, Any]) -> Any:
    if e.kind == "lit":
        return e.args[0]
    if e.kind == "field":
        return record.get(e.args[0])
    if e.kind == "&":
        a, b = evaluate(e.args[0], record), evaluate(e.args[1], record)
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if e.kind == "|":
        a, b = evaluate(e.args[0], record), evaluate(e.args[1], record)
        if a is True or b is True:
            return True
        return None if a is None or b is None else False
    if e.kind in ("bin", "cmp"):
        op = e.args[0]
        a, b = evaluate(e.args[1], record), evaluate(e.args[2], record)
        if a is None or b is None:
            return None
        return _arith(op, a, b) if e.kind == "bin" else _BINARY[op](a, b)
    if e.kind == "strtest":
        value = evaluate(e.args[1], record)
        if value is None:
            return None
        method, needle = e.args[0], e.args[2]
        return needle in value if method == "contains" else getattr(value, method)(needle)
    value = evaluate(e.args[0], record)
    if e.kind == "is_null":
        return value is None
    if e.kind == "is_not_null":
        return value is not None
    if e.kind == "fill":
        return e.args[1] if value is None else value
    if value is None:
        return None
    if e.kind == "neg":
        return _checked(-value)
    if e.kind == "abs":
        return abs(value)
    if e.kind == "round":
        return value if isinstance(value, int) else float(round(value))
    if e.kind == "~":
        return not value
    if e.kind == "isin":
        return value in e.args[1]
    if e.kind == "cast":
        return _cast(value, e.type)
    if e.kind == "lower":
        return value.lower()
    assert e.kind == "upper", e
    return value.upper()


def _arith(op: str, a: Any, b: Any) -> Any:
    if op in ("/", "//", "%") and b == 0:
        return None  # division by zero is null
    if op == "/":
        return _checked(a / b)
    if op == "//" and (isinstance(a, float) or isinstance(b, float)):
        return _checked(float(math.floor(a / b)))
    if op == "**":
        result = a**b
        if isinstance(result, complex):
            return None  # not a number: null
        return _checked(float(result) if isinstance(b, float) else result)
    return _checked(_BINARY[op](a, b))


def _checked(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        raise Overflow(value)
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value) or abs(value) > 1e300):
        raise Overflow(value)
    return value


def _cast(value: Any, target: str) -> Any:
    if target == "bool":
        if isinstance(value, str):
            return {"true": True, "false": False}.get(value.lower())
        return bool(value)
    if target == "str":
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    if isinstance(value, str):
        if target == "int":
            value = int(value) if _INT_TEXT.match(value) else None
            return value if value is None or INT64[0] <= value <= INT64[1] else None
        return _checked(float(value)) if _FLOAT_TEXT.match(value) else None
    if target == "float":
        return float(value)
    truncated = int(value)
    return truncated if INT64[0] <= truncated <= INT64[1] else None


# Comparison -----------------------------------------------------------------------------------


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def assert_same(actual: Any, expected: Any, where: str) -> None:
    if expected is None:
        assert _is_null(actual), f"{where}: expected null, got {actual!r}"
        return
    assert not _is_null(actual), f"{where}: expected {expected!r}, got null"
    if isinstance(expected, bool):
        assert isinstance(actual, bool) and actual == expected, (
            f"{where}: {actual!r} != {expected!r}"
        )
    elif isinstance(expected, int | float):
        assert not isinstance(actual, bool | str), f"{where}: {actual!r} is not a number"
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), (
            f"{where}: {actual!r} != {expected!r}"
        )
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _python(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def run_pipeline(
    data: list[dict[str, Any]], condition: Expr | None, value: Expr | None
) -> pd.DataFrame:
    app = App("expressions-property")
    sdf = app.dataframe(app.topic("in"))
    if condition is not None:
        sdf = sdf[build(condition, sdf)]
    if value is not None:
        built = build(value, sdf)
        sdf["out"] = built if isinstance(built, Column) else lit(built)
    return sdf.test(data)


SCHEMAS = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(TYPES), min_size=1, max_size=4
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], Expr | None, Expr | None]:
    schema = draw(SCHEMAS)
    data = draw(records(schema))
    condition = draw(st.one_of(st.none(), expr(schema, "bool", 3)))
    value = draw(expr(schema, draw(st.sampled_from(["num", "str", "bool"])), 3))
    return data, condition, value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_pipeline_matches_the_python_oracle(
    case: tuple[list[dict[str, Any]], Expr | None, Expr | None],
) -> None:
    data, condition, value = case
    try:
        kept = [r for r in data if condition is None or evaluate(condition, r) is True]
        expected = [evaluate(value, r) for r in kept] if value is not None else []
    except Overflow:
        assume(False)
        return
    result = run_pipeline(data, condition, value)
    dead = result.attrs["dead_letters"]
    assert dead.empty, (
        f"records were dead-lettered: {dead[['operator', 'reason']].to_dict('records')}"
    )
    assert [_python(i) for i in result.get("_id", pd.Series(dtype=int)).tolist()] == [
        r["_id"] for r in kept
    ], "the filter kept other rows"
    if not kept:
        return
    for row_id, actual, want in zip(
        result["_id"].tolist(), result["out"].tolist(), expected, strict=True
    ):
        assert_same(_python(actual), want, f"record {row_id}: {value}")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_filter_alone_keeps_exactly_the_true_rows(data: st.DataObject) -> None:
    schema = data.draw(SCHEMAS)
    rows = data.draw(records(schema))
    condition = data.draw(expr(schema, "bool", 2))
    try:
        kept = [r["_id"] for r in rows if evaluate(condition, r) is True]
    except Overflow:
        assume(False)
        return
    result = run_pipeline(rows, condition, None)
    assert result.attrs["dead_letters"].empty
    assert [_python(i) for i in result.get("_id", pd.Series(dtype=int)).tolist()] == kept
