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

from collections.abc import Callable
from typing import Any

import orjson
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

    # Windows (see ``headwater.runtime.window``): partial values per window, mergeable.
    window_only = False  # True for aggregations that exist only over windows
    whole_record = False  # True: the input is the record's values (a struct), not ``expr``

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        """Per field, the partial value over a group of rows (a Polars aggregation of the
        aggregated ``value`` and the event time ``ts``)."""
        raise NotImplementedError

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        """The aggregation merging a field's partial values (rows of partials of one window);
        ``fields`` holds every field's column."""
        raise NotImplementedError

    def finish_partial(self, field: str) -> Callable[[Any], Any] | None:
        """Turns a partial or combined field value into what is stored (Python aggregations)."""
        return None

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        """The window's result from its merged fields; None: computed by :meth:`output_rows`."""
        return self.result(fields)

    def output_rows(self, rows: list[dict[str, Any]]) -> list[Any]:
        """Per window (its fields as a dict), the result (Python aggregations)."""
        raise NotImplementedError

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

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        count = pl.len() if self.expr is None else value.count()
        return {"count": count.cast(pl.Int64)}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].sum()


class Sum(_Additive):
    kind = "sum"
    fields = ("sum",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"sum": self.value().fill_null(0).cum_sum()}

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"sum": value.sum()}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].sum()


class Mean(_Additive):
    kind = "mean"
    fields = ("sum", "count")

    def batch(self) -> dict[str, pl.Expr]:
        value = self.value()
        return {"sum": value.fill_null(0).cum_sum(), "count": value.cum_count().cast(pl.Int64)}

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"sum": value.sum(), "count": value.count().cast(pl.Int64)}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].sum()

    def result(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        count = fields["count"]
        return pl.when(count > 0).then(fields["sum"] / count).otherwise(None).cast(pl.Float64)


class Min(Aggregation):
    kind = "min"
    fields = ("min",)

    def batch(self) -> dict[str, pl.Expr]:
        # cum_min leaves nulls at null rows; the minimum so far carries over them.
        return {"min": self.value().cum_min().forward_fill()}

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"min": value.min()}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].min()

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(previous, current)


class Max(Aggregation):
    kind = "max"
    fields = ("max",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"max": self.value().cum_max().forward_fill()}

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"max": value.max()}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].max()

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.max_horizontal(previous, current)


class Last(Aggregation):
    kind = "last"
    fields = ("last",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"last": self.value().forward_fill()}

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.coalesce(current, previous)

    # Over a window: the non-null value of the latest event time (ties: the later record).
    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        present = value.is_not_null()
        return {
            "last": value.filter(present).sort_by(ts.filter(present), maintain_order=True).last(),
            "ts": ts.filter(present).max(),
        }

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        if field == "ts":
            return fields["ts"].max()
        return fields["last"].sort_by(fields["ts"], nulls_last=False, maintain_order=True).last()

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        return fields["last"]


class First(Aggregation):
    """Over a window: the non-null value of the earliest event time (ties: the earlier record)."""

    kind = "first"
    fields = ("first", "ts")
    window_only = True

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        present = value.is_not_null()
        return {
            "first": value.filter(present).sort_by(ts.filter(present), maintain_order=True).first(),
            "ts": ts.filter(present).min(),
        }

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        if field == "ts":
            return fields["ts"].min()
        return fields["first"].sort_by(fields["ts"], nulls_last=True, maintain_order=True).first()

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        return fields["first"]


class Var(Aggregation):
    """Sample variance (ddof=1, as pandas): kept as count, mean and sum of squared deviations,
    merged with Chan's parallel formula, which stays accurate where sums of squares do not."""

    kind = "var"
    fields = ("n", "mean", "m2")
    window_only = True

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        x = value.cast(pl.Float64)
        return {
            "n": x.count().cast(pl.Int64),
            "mean": x.mean(),
            "m2": ((x - x.mean()) ** 2).sum(),
        }

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        n, mean, m2 = fields["n"], fields["mean"].fill_null(0.0), fields["m2"].fill_null(0.0)
        total = n.sum()
        merged_mean = (n * mean).sum() / total
        if field == "n":
            return total
        if field == "mean":
            return pl.when(total > 0).then(merged_mean).otherwise(None)
        return m2.sum() + (n * (mean - merged_mean) ** 2).sum().fill_nan(0.0)

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        n = fields["n"]
        return pl.when(n > 1).then(fields["m2"] / (n - 1)).otherwise(None).cast(pl.Float64)


class Std(Var):
    kind = "std"

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        variance = super().output(fields)
        assert variance is not None
        return variance.sqrt()


class Collect(Aggregation):
    """The window's non-null values in event-time order (ties: arrival order)."""

    kind = "collect"
    fields = ("values", "times")
    window_only = True

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        present = value.is_not_null()
        order = ts.filter(present)
        return {
            "values": value.filter(present).sort_by(order, maintain_order=True),
            "times": order.sort(),
        }

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        times = fields["times"].explode(empty_as_null=False)
        if field == "times":
            return times.sort()
        return fields["values"].explode(empty_as_null=False).sort_by(times, maintain_order=True)

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        return fields["values"]


class CountDistinct(Aggregation):
    """The number of distinct non-null values (exact: the distinct values are kept)."""

    kind = "count_distinct"
    fields = ("distinct",)
    window_only = True

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"distinct": value.drop_nulls().unique(maintain_order=True)}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].explode(empty_as_null=False).drop_nulls().unique(maintain_order=True)

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        return fields["distinct"].list.len().cast(pl.Int64)


class _PythonAggregation(Aggregation):
    """Kept as JSON text built by Python code: the values go to ``start`` per window and batch,
    stored states are merged with ``merge`` and turned into the result with ``finish``."""

    fields = ("state",)
    window_only = True

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        present = value.is_not_null()
        return {"state": value.filter(present).sort_by(ts.filter(present), maintain_order=True)}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field]  # every state of the window, merged by finish_partial

    def finish_partial(self, field: str) -> Callable[[Any], Any] | None:
        return self._finish_list

    def _finish_list(self, items: Any) -> str:
        if items is None:
            return self.dump(self.start([]))
        items = list(items)
        if items and isinstance(items[0], str) and self._is_state(items[0]):
            states = [self.load(s) for s in items]
            merged = states[0]
            for other in states[1:]:
                merged = self.merge(merged, other)
            return self.dump(merged)
        return self.dump(self.start(items))

    @staticmethod
    def _is_state(text: str) -> bool:
        return text.startswith(_STATE_TAG)

    @staticmethod
    def dump(state: Any) -> str:
        return _STATE_TAG + orjson.dumps(state).decode()

    @staticmethod
    def load(text: str) -> Any:
        return orjson.loads(text[len(_STATE_TAG) :])

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr | None:
        return None

    def output_rows(self, rows: list[dict[str, Any]]) -> list[Any]:
        return [self.finish(self.load(row["state"])) for row in rows]

    def start(self, values: list[Any]) -> Any:
        raise NotImplementedError

    def merge(self, a: Any, b: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError

    def finish(self, state: Any) -> Any:
        return state


# Marks a stored Python state, telling it apart from a list of raw values being started.
_STATE_TAG = "\x00hw:"


class Quantile(_PythonAggregation):
    """An approximate quantile from a DDSketch (relative error ``relative_accuracy``): the
    sketch's bins are the mergeable state."""

    kind = "quantile"

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
        from ddsketch.mapping import LogarithmicMapping

        self.q = float(q)
        self.relative_accuracy = relative_accuracy
        self._mapping = LogarithmicMapping(relative_accuracy)

    def describe(self) -> str:
        return f"quantile({self.column if isinstance(self.column, str) else self.expr}, {self.q})"

    def start(self, values: list[Any]) -> Any:
        bins: dict[str, list[int]] = {"pos": [], "neg": []}
        zero = 0
        counts: dict[tuple[str, int], int] = {}
        key = self._mapping.key
        for v in values:
            x = float(v)
            if x == 0:
                zero += 1
                continue
            bin_ = ("pos", key(x)) if x > 0 else ("neg", key(-x))
            counts[bin_] = counts.get(bin_, 0) + 1
        for (side, index), c in counts.items():
            bins[side] += [index, c]
        return {"zero": zero, **bins}

    def merge(self, a: Any, b: Any) -> Any:  # type: ignore[override]
        out: dict[str, Any] = {"zero": a["zero"] + b["zero"]}
        for side in ("pos", "neg"):
            counts: dict[int, int] = {}
            for state in (a, b):
                flat = state[side]
                for i in range(0, len(flat), 2):
                    counts[flat[i]] = counts.get(flat[i], 0) + flat[i + 1]
            out[side] = [x for k in sorted(counts) for x in (k, counts[k])]
        return out

    def finish(self, state: Any) -> Any:
        from ddsketch.ddsketch import BaseDDSketch
        from ddsketch.store import DenseStore

        positive, negative = DenseStore(), DenseStore()
        for store, flat in ((positive, state["pos"]), (negative, state["neg"])):
            for i in range(0, len(flat), 2):
                store.add(flat[i], flat[i + 1])
        sketch = BaseDDSketch(self._mapping, positive, negative, float(state["zero"]))
        # The sketch counts what its stores hold; restore the totals its quantile search uses.
        sketch._count = float(state["zero"] + positive.count + negative.count)
        if sketch._count == 0:
            return None
        return sketch.get_quantile_value(self.q)


class Reduce(_PythonAggregation):
    """A custom mergeable reducer: ``initializer(value)`` makes an accumulator of one value,
    ``merge(a, b)`` combines two (it must be associative, and commutative when records arrive
    out of order), ``finish(acc)`` gives the result. Accumulators are stored as JSON."""

    kind = "reduce"

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
        self._merge = merge
        self._init = initializer or (lambda v: v)
        self._finish = finish or (lambda acc: acc)

    def start(self, values: list[Any]) -> Any:
        accs = [self._init(v) for v in values]
        if not accs:
            return {"empty": True}
        acc = accs[0]
        for other in accs[1:]:
            acc = self._merge(acc, other)
        return {"acc": acc}

    def merge(self, a: Any, b: Any) -> Any:  # type: ignore[override]
        if "acc" not in a:
            return b
        if "acc" not in b:
            return a
        return {"acc": self._merge(a["acc"], b["acc"])}

    def finish(self, state: Any) -> Any:
        return self._finish(state["acc"]) if "acc" in state else None


class ApplyWindow(_PythonAggregation):
    """``fn(records)`` over the window's records as a pandas DataFrame in event-time order (the
    records are kept until the window closes)."""

    kind = "apply_window"
    whole_record = True

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise ConfigError("agg.apply_window(fn) needs a function of a pandas DataFrame")
        super().__init__(None)
        self.fn = fn
        self.expr = pl.struct(pl.all())  # replaced by the record's value columns

    def describe(self) -> str:
        return f"apply_window({getattr(self.fn, '__qualname__', repr(self.fn))})"

    def start(self, values: list[Any]) -> Any:
        return values

    def merge(self, a: Any, b: Any) -> Any:  # type: ignore[override]
        return [*a, *b]

    def finish(self, state: Any) -> Any:
        import pandas as pd

        return self.fn(pd.DataFrame(state))


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
