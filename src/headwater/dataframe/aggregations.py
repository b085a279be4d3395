"""Running aggregations: ``agg.count()``, ``agg.sum("amount")``... for ``agg_running``.

Each aggregation keeps a few partial values per key (a count, a sum...). Over a micro-batch it
is computed vectorised: a cumulative Polars expression gives every row the partial values of
the rows of its key so far in the batch, ``merge`` adds the key's state from earlier batches,
and ``result`` turns the partial values into the aggregate. Nulls in the aggregated column are
skipped, as in pandas and Polars.

>>> from headwater import agg
>>> agg.sum("amount").describe()
'sum(amount)'
"""

from __future__ import annotations

from typing import Any

import polars as pl

from headwater.dataframe.expressions import Column, to_expr
from headwater.errors import ConfigError

# sum, min and max shadow the builtins on purpose: the names are Polars'.
__all__ = ["Aggregation", "count", "last", "max", "mean", "min", "sum"]


class Aggregation:
    """One running aggregate of one column (or of the rows themselves, for ``count()``).

    Subclasses set ``kind`` and ``fields`` (the partial values kept per key) and define
    ``batch`` (cumulative partials within a batch, evaluated per key), ``merge`` (with the
    key's previous partials, null for a new key) and ``result``.
    """

    kind: str = "aggregation"
    fields: tuple[str, ...] = ("value",)

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

    def value(self) -> pl.Expr:
        if self.expr is None:
            raise ConfigError(f"agg.{self.kind}() needs a column, e.g. agg.{self.kind}('amount')")
        return self.expr

    def batch(self) -> dict[str, pl.Expr]:
        """Per field, the cumulative partial value over the rows of a key in this batch."""
        raise NotImplementedError

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        """A field's value so far: ``previous`` (before this batch; null if none) with
        ``current`` (the batch's cumulative partial)."""
        raise NotImplementedError

    def result(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        """The aggregate from its fields' values so far."""
        return fields[self.fields[0]]

    def describe(self) -> str:
        if self.expr is None:
            return f"{self.kind}()"
        target = self.column if isinstance(self.column, str) else str(self.expr)
        return f"{self.kind}({target})"

    def __repr__(self) -> str:
        return f"agg.{self.describe()}"


class _Additive(Aggregation):
    """Fields that add up: a key's value so far is its previous value plus the batch's."""

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return previous.fill_null(0) + current


class Count(_Additive):
    kind = "count"
    fields = ("count",)

    def batch(self) -> dict[str, pl.Expr]:
        if self.expr is None:  # count() counts records, count(col) non-null values
            return {"count": pl.int_range(1, pl.len() + 1, dtype=pl.Int64)}
        return {"count": self.expr.cum_count().cast(pl.Int64)}


class Sum(_Additive):
    kind = "sum"
    fields = ("sum",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"sum": self.value().fill_null(0).cum_sum()}


class Mean(_Additive):
    kind = "mean"
    fields = ("sum", "count")

    def batch(self) -> dict[str, pl.Expr]:
        value = self.value()
        return {"sum": value.fill_null(0).cum_sum(), "count": value.cum_count().cast(pl.Int64)}

    def result(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        count = fields["count"]
        return pl.when(count > 0).then(fields["sum"] / count).otherwise(None).cast(pl.Float64)


class Min(Aggregation):
    kind = "min"
    fields = ("min",)

    def batch(self) -> dict[str, pl.Expr]:
        # cum_min leaves nulls at null rows; the minimum so far carries over them.
        return {"min": self.value().cum_min().forward_fill()}

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(previous, current)


class Max(Aggregation):
    kind = "max"
    fields = ("max",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"max": self.value().cum_max().forward_fill()}

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.max_horizontal(previous, current)


class Last(Aggregation):
    kind = "last"
    fields = ("last",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"last": self.value().forward_fill()}

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.coalesce(current, previous)


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


def check_aggregations(aggs: dict[str, Any], group_columns: list[str]) -> dict[str, Aggregation]:
    """Validate ``agg_running(**aggs)``: named Aggregation objects not clashing with groups."""
    if not aggs:
        raise ConfigError(
            "agg_running() needs at least one name=aggregation, e.g. total=agg.sum('amount')"
        )
    for name, aggregation in aggs.items():
        if not isinstance(aggregation, Aggregation):
            raise ConfigError(
                f"agg_running({name}=...) must be an aggregation such as agg.sum('amount'), "
                f"got {type(aggregation).__name__}"
            )
        if aggregation.expr is None and aggregation.kind != "count":
            raise ConfigError(f"agg_running({name}=...): agg.{aggregation.kind}() needs a column")
        if name in group_columns:
            raise ConfigError(
                f"agg_running({name}=...) has the name of a group column; name it otherwise"
            )
        if name.startswith("_hw_"):
            raise ConfigError(f"agg_running({name}=...): names starting '_hw_' are reserved")
    return dict(aggs)
