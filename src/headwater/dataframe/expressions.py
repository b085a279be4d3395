"""Column expressions in the pandas / Polars vocabulary, evaluated vectorised by Polars.

``sdf["price"] * sdf["qty"] > 100`` builds a :class:`Column` that wraps a Polars expression;
nothing is computed until a batch flows through. Any ``polars.Expr`` is accepted wherever a
Column is, so the whole Polars expression library is available too.

Semantics, shared with the plain-Python reference in the tests and with docs/expressions.md:

- A missing field reads as null, also inside a nested object (``sdf["user"]["id"]``), and also
  when no record of a batch has the field.
- Arithmetic and comparisons with null give null; ``isin`` of a null gives null.
- ``&``, ``|`` and ``~`` follow three-valued (Kleene) logic: ``null & False`` is False,
  ``null | True`` is True, anything else with null is null.
- A filter keeps only the rows whose condition is true (null counts as false).
- Division by zero (``/``, ``//``, ``%``) gives null for ints and floats alike, never inf or
  NaN (JSON has neither); a result that is not a number (``(-1) ** 0.5``, ``"nan"`` cast to
  float) is null too. ``//`` and ``%`` floor like Python: ``-7 // 2 == -4``, ``-7 % 2 == 1``.
  For floats ``x // y`` is ``floor(x / y)`` in floating point (``7.0 // 0.1 == 70.0``).
- An int raised to a negative int power fails (as in numpy): use a float, ``x ** -1.0``.
- ``isin`` compares ints and floats as numbers; ``.str`` methods read other types as text.
- Ints are 64-bit and overflow wraps, as in numpy and pandas.
- ``astype`` never fails: a value that cannot be cast (``"abc"`` to int) becomes null.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from headwater.errors import ConfigError

_CASTS: dict[Any, pl.DataType] = {
    int: pl.Int64(),
    float: pl.Float64(),
    str: pl.String(),
    bool: pl.Boolean(),
    "int": pl.Int64(),
    "int64": pl.Int64(),
    "float": pl.Float64(),
    "float64": pl.Float64(),
    "str": pl.String(),
    "string": pl.String(),
    "bool": pl.Boolean(),
}


def to_expr(value: Any) -> pl.Expr:
    """A Polars expression for a Column, a Polars expression, or a literal."""
    if isinstance(value, Column):
        return value.expr
    if isinstance(value, pl.Expr):
        return value
    return _literal(value)


def _literal(value: Any) -> pl.Expr:
    # Polars makes a bare Python int an Int32 when nothing else sets the type, so constant
    # arithmetic would wrap at 2**31; ints are 64-bit everywhere else (JSON, pandas).
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return pl.lit(value, dtype=pl.Int64)
    return pl.lit(value)


# A field no record of a batch has is a column of dtype Null, which Polars' numeric, string and
# boolean kernels reject; these widen it to the type the operation needs and leave others alone.
def _numeric(expr: pl.Expr) -> pl.Expr:
    return expr + 0


def _boolean(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Boolean)


def _string(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def _divide(kernel: Any, numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    # Division by zero is null (when/then without otherwise), not inf or NaN.
    result: pl.Expr = pl.when(denominator != 0).then(
        kernel(_numeric(numerator), _numeric(denominator))
    )
    return result.fill_nan(None)


def _truediv(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a / b


def _floordiv(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a // b


def _mod(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a % b


def _power(base: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    return (_numeric(base) ** _numeric(exponent)).fill_nan(None)


def _to_bool(series: pl.Series) -> pl.Series:
    """Cast to bool: text reads "true" / "false" (any case), numbers are true when not zero."""
    if series.dtype == pl.String:
        return series.str.to_lowercase().replace_strict(
            {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
        )
    return series.cast(pl.Boolean, strict=False)


def _is_in(series: pl.Series, choices: pl.Series) -> pl.Series:
    """``series.is_in(choices)``, comparing ints with floats as numbers (Polars 2 refuses to)."""
    if series.dtype == pl.Null:
        return pl.Series(series.name, [None] * len(series), dtype=pl.Boolean)
    if choices.dtype == pl.Null:
        choices = choices.cast(series.dtype)
    elif series.dtype.is_numeric() and choices.dtype.is_numeric() and series.dtype != choices.dtype:
        series, choices = series.cast(pl.Float64), choices.cast(pl.Float64)
    return series.is_in(choices.implode())


def _field(expr: pl.Expr, name: str) -> pl.Expr:
    # Listing the value with an empty struct that has the field merges the two struct types,
    # so a missing field (or a missing object) reads as null instead of failing the batch.
    empty = pl.lit(None, dtype=pl.Struct({name: pl.Null}))
    return pl.concat_list(expr, empty).list.first().struct.field(name)


class Column:
    """A lazily evaluated column expression. Build one with ``sdf["name"]``, ``col`` or ``lit``."""

    __slots__ = ("expr",)

    def __init__(self, expr: pl.Expr) -> None:
        self.expr = expr

    def __repr__(self) -> str:
        return f"Column({self.expr})"

    def __bool__(self) -> bool:
        raise TypeError(
            "a Column has no truth value; combine conditions with & | ~ instead of and / or / not"
        )

    # Arithmetic
    def __add__(self, other: Any) -> Column:
        return Column(self.expr + to_expr(other))

    def __radd__(self, other: Any) -> Column:
        return Column(to_expr(other) + self.expr)

    def __sub__(self, other: Any) -> Column:
        return Column(self.expr - to_expr(other))

    def __rsub__(self, other: Any) -> Column:
        return Column(to_expr(other) - self.expr)

    def __mul__(self, other: Any) -> Column:
        return Column(self.expr * to_expr(other))

    def __rmul__(self, other: Any) -> Column:
        return Column(to_expr(other) * self.expr)

    def __truediv__(self, other: Any) -> Column:
        return Column(_divide(_truediv, self.expr, to_expr(other)))

    def __rtruediv__(self, other: Any) -> Column:
        return Column(_divide(_truediv, to_expr(other), self.expr))

    def __floordiv__(self, other: Any) -> Column:
        return Column(_divide(_floordiv, self.expr, to_expr(other)))

    def __rfloordiv__(self, other: Any) -> Column:
        return Column(_divide(_floordiv, to_expr(other), self.expr))

    def __mod__(self, other: Any) -> Column:
        return Column(_divide(_mod, self.expr, to_expr(other)))

    def __rmod__(self, other: Any) -> Column:
        return Column(_divide(_mod, to_expr(other), self.expr))

    def __pow__(self, other: Any) -> Column:
        return Column(_power(self.expr, to_expr(other)))

    def __rpow__(self, other: Any) -> Column:
        return Column(_power(to_expr(other), self.expr))

    def __neg__(self) -> Column:
        return Column(-_numeric(self.expr))

    def __abs__(self) -> Column:
        return self.abs()

    def __round__(self, ndigits: int | None = None) -> Column:
        return self.round(ndigits or 0)

    # Comparisons
    def __eq__(self, other: Any) -> Column:  # type: ignore[override]
        return Column(self.expr == to_expr(other))

    def __ne__(self, other: Any) -> Column:  # type: ignore[override]
        return Column(self.expr != to_expr(other))

    def __lt__(self, other: Any) -> Column:
        return Column(self.expr < to_expr(other))

    def __le__(self, other: Any) -> Column:
        return Column(self.expr <= to_expr(other))

    def __gt__(self, other: Any) -> Column:
        return Column(self.expr > to_expr(other))

    def __ge__(self, other: Any) -> Column:
        return Column(self.expr >= to_expr(other))

    __hash__ = None  # type: ignore[assignment]

    # Boolean logic
    def __and__(self, other: Any) -> Column:
        return Column(_boolean(self.expr) & _boolean(to_expr(other)))

    def __rand__(self, other: Any) -> Column:
        return Column(_boolean(to_expr(other)) & _boolean(self.expr))

    def __or__(self, other: Any) -> Column:
        return Column(_boolean(self.expr) | _boolean(to_expr(other)))

    def __ror__(self, other: Any) -> Column:
        return Column(_boolean(to_expr(other)) | _boolean(self.expr))

    def __invert__(self) -> Column:
        return Column(~_boolean(self.expr))

    # Nested fields: sdf["user"]["id"] reads field "id" of the object in column "user".
    def __getitem__(self, field: str) -> Column:
        if not isinstance(field, str):
            raise ConfigError(f"column[{field!r}]: a nested field is read by its name, a string")
        return Column(_field(self.expr, field))

    # Null handling, membership and numbers
    def isin(self, values: Any) -> Column:
        """True where the value is one of ``values``; null where the value is null."""
        choices = pl.Series(list(values), strict=False)
        return Column(
            self.expr.map_batches(
                lambda s: _is_in(s, choices), return_dtype=pl.Boolean, is_elementwise=True
            )
        )

    def is_null(self) -> Column:
        return Column(self.expr.is_null())

    def is_not_null(self) -> Column:
        return Column(self.expr.is_not_null())

    def fill_null(self, value: Any) -> Column:
        return Column(self.expr.fill_null(to_expr(value)))

    def abs(self) -> Column:
        return Column(_numeric(self.expr).abs())

    def round(self, decimals: int = 0) -> Column:
        """Round half to even (as numpy and pandas do); ints stay ints."""
        if not isinstance(decimals, int) or decimals < 0:
            raise ConfigError(f"round(decimals={decimals!r}): decimals must be an int >= 0")
        return Column(_numeric(self.expr).round(decimals))

    def astype(self, dtype: Any) -> Column:
        """Cast, pandas style: ``int``, ``float``, ``str``, ``bool`` or a Polars type.

        A value that cannot be cast (``"abc"`` to int) becomes null. Floats become ints by
        truncation; text becomes bool when it reads "true" or "false"; bools become the
        text "true" / "false".
        """
        target = _CASTS.get(dtype, dtype)
        if target == pl.Boolean:
            return Column(self.expr.map_batches(_to_bool, return_dtype=pl.Boolean))
        cast = self.expr.cast(target, strict=False)
        if target == pl.Float64:
            cast = cast.fill_nan(None)
        return Column(cast)

    cast = astype

    def alias(self, name: str) -> Column:
        return Column(self.expr.alias(name))

    @property
    def str(self) -> StringMethods:
        return StringMethods(_string(self.expr))


class StringMethods:
    """String operations on a column, as ``sdf["name"].str.lower()``."""

    __slots__ = ("_expr",)

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr

    def contains(self, pattern: str, regex: bool = False) -> Column:
        return Column(self._expr.str.contains(pattern, literal=not regex))

    def startswith(self, prefix: str) -> Column:
        return Column(self._expr.str.starts_with(prefix))

    def endswith(self, suffix: str) -> Column:
        return Column(self._expr.str.ends_with(suffix))

    def lower(self) -> Column:
        return Column(self._expr.str.to_lowercase())

    def upper(self) -> Column:
        return Column(self._expr.str.to_uppercase())

    def strip(self) -> Column:
        return Column(self._expr.str.strip_chars())

    def len(self) -> Column:
        return Column(self._expr.str.len_chars())


def col(name: str) -> Column:
    """A column by name, for building expressions away from a DataFrame."""
    return Column(pl.col(name))


def lit(value: Any) -> Column:
    """A constant as a column."""
    return Column(_literal(value))
