"""Aggregations: ``agg.count()``, ``agg.sum("amount")``... for ``agg_running`` and windows.

These are definitions: what to aggregate and how, as plain values. How they run (the partial
values kept per key or window, computed by Polars or by Python code) is the runtime's
business (:mod:`headwater.runtime.operators.aggregators`). Nulls in the aggregated column are
skipped, as in pandas and Polars.

>>> from headwater import agg
>>> agg.sum("amount").describe()
'sum(amount)'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from headwater.dataframe.expressions import Column, to_expr
from headwater.errors import ConfigError

# sum, min and max shadow the builtins on purpose: the names are Polars'.
__all__ = [
    "Aggregation",
    "apply_window",
    "collect",
    "count",
    "count_distinct",
    "first",
    "last",
    "max",
    "mean",
    "min",
    "quantile",
    "reduce",
    "std",
    "sum",
    "var",
]


class Aggregation:
    """One aggregate of one column (or of the records themselves, for ``count()``).

    ``kind`` names it; ``expr`` is the aggregated value (None: the records); ``window_only``
    says it exists only over windows.
    """

    kind: str = "aggregation"
    window_only = False

    def __init__(self, column: str | Column | pl.Expr | None) -> None:
        if column is not None and not isinstance(column, str | Column | pl.Expr):
            raise ConfigError(
                f"agg.{self.kind}() takes a column name or an expression, "
                f"got {type(column).__name__}"
            )
        self.column = column
        self.expr: pl.Expr | None = None
        if column is not None:
            self.expr = pl.col(column) if isinstance(column, str) else to_expr(column)

    def describe(self) -> str:
        if self.expr is None:
            return f"{self.kind}()"
        target = self.column if isinstance(self.column, str) else str(self.expr)
        return f"{self.kind}({target})"

    def __repr__(self) -> str:
        return f"agg.{self.describe()}"

    def spec(self) -> dict[str, Any]:
        """The definition as the plan keeps it: ``kind``, ``column`` and the factory's other
        arguments (functions included; the plan keeps those by reference). See
        :func:`from_spec`."""
        column = self.column if isinstance(self.column, str) or self.column is None else self.expr
        return {"kind": self.kind, "column": column}


class Count(Aggregation):
    kind = "count"


class Sum(Aggregation):
    kind = "sum"


class Mean(Aggregation):
    kind = "mean"


class Min(Aggregation):
    kind = "min"


class Max(Aggregation):
    kind = "max"


class Last(Aggregation):
    """The latest non-null value (over a window: of the latest event time)."""

    kind = "last"


class First(Aggregation):
    """Over a window: the non-null value of the earliest event time (ties: the earlier record)."""

    kind = "first"
    window_only = True


class Var(Aggregation):
    """Sample variance (ddof=1, as pandas)."""

    kind = "var"
    window_only = True


class Std(Aggregation):
    """Sample standard deviation (ddof=1, as pandas)."""

    kind = "std"
    window_only = True


class Collect(Aggregation):
    """The window's non-null values in event-time order (ties: arrival order)."""

    kind = "collect"
    window_only = True


class CountDistinct(Aggregation):
    """The number of distinct non-null values (exact: the distinct values are kept)."""

    kind = "count_distinct"
    window_only = True


class Quantile(Aggregation):
    """An approximate quantile (a DDSketch of relative error ``relative_accuracy``)."""

    kind = "quantile"
    window_only = True

    def __init__(
        self, column: str | Column | pl.Expr, q: float, relative_accuracy: float = 0.01
    ) -> None:
        super().__init__(column)
        if not isinstance(q, int | float) or not 0 <= q <= 1:
            raise ConfigError(f"agg.quantile(q={q!r}): q must be between 0 and 1, e.g. 0.95")
        if not isinstance(relative_accuracy, float) or not 0 < relative_accuracy < 1:
            raise ConfigError(
                f"agg.quantile(relative_accuracy={relative_accuracy!r}): use a float in (0, 1)"
            )
        self.q = float(q)
        self.relative_accuracy = relative_accuracy

    def describe(self) -> str:
        return f"quantile({self.column if isinstance(self.column, str) else self.expr}, {self.q})"

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "q": self.q, "relative_accuracy": self.relative_accuracy}


class Reduce(Aggregation):
    """A custom mergeable reducer: ``initializer(value)`` makes an accumulator of one value,
    ``merge(a, b)`` combines two (it must be associative, and commutative when records arrive
    out of order), ``finish(acc)`` gives the result. Accumulators are stored as JSON."""

    kind = "reduce"
    window_only = True

    def __init__(
        self,
        column: str | Column | pl.Expr,
        merge: Callable[[Any, Any], Any],
        initializer: Callable[[Any], Any] | None = None,
        finish: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(column)
        for name, fn in (("merge", merge), ("initializer", initializer), ("finish", finish)):
            if fn is not None and not callable(fn):
                raise ConfigError(f"agg.reduce({name}=...) must be a function")
        self.merge = merge
        self.initializer = initializer
        self.finish = finish

    def spec(self) -> dict[str, Any]:
        functions = {"merge": self.merge, "initializer": self.initializer, "finish": self.finish}
        return {**super().spec(), **functions}


class ApplyWindow(Aggregation):
    """``fn(records)`` over the window's records as a pandas DataFrame in event-time order (the
    records are kept until the window closes)."""

    kind = "apply_window"
    window_only = True

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise ConfigError("agg.apply_window(fn) needs a function of a pandas DataFrame")
        super().__init__(None)
        self.fn = fn
        self.expr = pl.struct(pl.all())  # replaced by the record's value columns

    def describe(self) -> str:
        return f"apply_window({getattr(self.fn, '__qualname__', repr(self.fn))})"

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "fn": self.fn}


def count(column: str | Column | pl.Expr | None = None) -> Aggregation:
    """The number of records so far (or of non-null values of ``column``)."""
    return Count(column)


def sum(column: str | Column | pl.Expr) -> Aggregation:
    """The running total of ``column`` (0 before any non-null value)."""
    return Sum(column)


def mean(column: str | Column | pl.Expr) -> Aggregation:
    """The running mean of ``column``'s non-null values (null before the first)."""
    return Mean(column)


def min(column: str | Column | pl.Expr) -> Aggregation:
    """The smallest non-null value of ``column`` so far."""
    return Min(column)


def max(column: str | Column | pl.Expr) -> Aggregation:
    """The largest non-null value of ``column`` so far."""
    return Max(column)


def last(column: str | Column | pl.Expr) -> Aggregation:
    """The latest non-null value of ``column``."""
    return Last(column)


def first(column: str | Column | pl.Expr) -> Aggregation:
    """Over a window: the non-null value of ``column`` with the earliest event time."""
    return First(column)


def var(column: str | Column | pl.Expr) -> Aggregation:
    """Over a window: the sample variance of ``column`` (ddof=1, as pandas)."""
    return Var(column)


def std(column: str | Column | pl.Expr) -> Aggregation:
    """Over a window: the sample standard deviation of ``column`` (ddof=1, as pandas)."""
    return Std(column)


def collect(column: str | Column | pl.Expr) -> Aggregation:
    """Over a window: the list of non-null values of ``column`` in event-time order."""
    return Collect(column)


def count_distinct(column: str | Column | pl.Expr) -> Aggregation:
    """Over a window: the exact number of distinct non-null values of ``column``."""
    return CountDistinct(column)


def quantile(
    column: str | Column | pl.Expr, q: float, relative_accuracy: float = 0.01
) -> Aggregation:
    """Over a window: the ``q`` quantile of ``column``, within ``relative_accuracy`` of the
    true value (a DDSketch)."""
    return Quantile(column, q, relative_accuracy)


def reduce(
    column: str | Column | pl.Expr,
    merge: Callable[[Any, Any], Any],
    initializer: Callable[[Any], Any] | None = None,
    finish: Callable[[Any], Any] | None = None,
) -> Aggregation:
    """Over a window: a custom reducer of ``column``'s non-null values (see :class:`Reduce`)."""
    return Reduce(column, merge, initializer, finish)


def apply_window(fn: Callable[[Any], Any]) -> Aggregation:
    """Over a window: ``fn(records)`` with the window's records as a pandas DataFrame."""
    return ApplyWindow(fn)


def check_aggregations(
    aggs: dict[str, Any], group_columns: list[str], method: str = "agg_running"
) -> dict[str, Aggregation]:
    """Validate ``agg_running(**aggs)`` / ``agg(**aggs)``: named Aggregation objects not
    clashing with the group columns."""
    if not aggs:
        raise ConfigError(
            f"{method}() needs at least one name=aggregation, e.g. total=agg.sum('amount')"
        )
    for name, aggregation in aggs.items():
        if not isinstance(aggregation, Aggregation):
            raise ConfigError(
                f"{method}({name}=...) must be an aggregation such as agg.sum('amount'), "
                f"got {type(aggregation).__name__}"
            )
        if aggregation.expr is None and aggregation.kind != "count":
            raise ConfigError(f"{method}({name}=...): agg.{aggregation.kind}() needs a column")
        if method == "agg_running" and aggregation.window_only:
            raise ConfigError(
                f"agg_running({name}=agg.{aggregation.kind}(...)): this aggregation works over "
                "windows only; use group_by(...).window(...).agg(...)"
            )
        if name in group_columns or name in ("window_start", "window_end"):
            raise ConfigError(
                f"{method}({name}=...) has the name of a group column (or window_start / "
                "window_end); name it otherwise"
            )
        if name.startswith("_hw_"):
            raise ConfigError(f"{method}({name}=...): names starting '_hw_' are reserved")
    return dict(aggs)


def from_spec(spec: dict[str, Any]) -> Aggregation:
    """The aggregation :meth:`Aggregation.spec` describes.

    >>> from_spec(sum("amount").spec()).describe()
    'sum(amount)'
    """
    args = {k: v for k, v in spec.items() if k != "kind"}
    factory = _FACTORIES.get(spec["kind"])
    if factory is None:
        raise ConfigError(f"unknown aggregation kind {spec['kind']!r} in the plan")
    result: Aggregation = factory(**args)
    return result


_FACTORIES: dict[str, Callable[..., Aggregation]] = {
    "count": count,
    "sum": sum,
    "mean": mean,
    "min": min,
    "max": max,
    "last": last,
    "first": first,
    "var": var,
    "std": std,
    "collect": collect,
    "count_distinct": count_distinct,
    "quantile": quantile,
    "reduce": reduce,
    "apply_window": apply_window,
}
