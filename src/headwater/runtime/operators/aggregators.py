"""How aggregations run: one protocol per execution kind, built from their definitions.

- :class:`RunningAggregator` (``agg_running``): a few partial values per key (a count, a
  sum...). Over a micro-batch, a cumulative Polars expression gives every row the partial
  values of its key's rows so far in the batch (:meth:`~RunningAggregator.batch`),
  :meth:`~RunningAggregator.merge` adds the key's values from earlier batches and
  :meth:`~RunningAggregator.result` turns them into the aggregate.
- :class:`WindowAggregator` (windows, vectorised): partial values per window computed by a
  Polars aggregation (:meth:`~WindowAggregator.partial`), mergeable with each other
  (:meth:`~WindowAggregator.combine`) and turned into the result by an expression.
- :class:`PythonAggregator` (windows, Python code: quantiles, custom reducers,
  ``apply_window``): a state built from values (``start``), merged (``merge``) and finished
  (``finish``) by Python, kept as JSON text.

:func:`running_aggregator` and :func:`window_aggregator` give the aggregator of a definition
(``agg.sum("amount")``...).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from headwater.dataframe import aggregations as definitions
from headwater.errors import ConfigError

if TYPE_CHECKING:
    from headwater.dataframe.aggregations import Aggregation

# Marks a stored Python state, telling it apart from a list of raw values being started.
_STATE_TAG = "\x00hw:"


class _Aggregator:
    """What every aggregator knows of its definition: the aggregated value."""

    whole_record = False  # True: the input is the record's values (a struct), not ``expr``

    def __init__(self, definition: Aggregation) -> None:
        self.definition = definition
        self.expr = definition.expr

    def value(self) -> pl.Expr:
        if self.expr is None:
            kind = self.definition.kind
            raise ConfigError(f"agg.{kind}() needs a column, e.g. agg.{kind}('amount')")
        return self.expr


class RunningAggregator(_Aggregator, ABC):
    """A running aggregate per key: ``fields`` are the partial values kept per key."""

    fields: tuple[str, ...] = ("value",)

    @abstractmethod
    def batch(self) -> dict[str, pl.Expr]:
        """Per field, the cumulative partial value over the rows of a key in this batch."""

    @abstractmethod
    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        """A field's value so far: ``previous`` (before this batch; null if none) with
        ``current`` (the batch's cumulative partial)."""

    def result(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        """The aggregate from its fields' values so far."""
        return fields[self.fields[0]]


class WindowAggregator(_Aggregator, ABC):
    """An aggregate per window, vectorised: partial values that merge."""

    @abstractmethod
    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        """Per field, the partial value over a group of rows (a Polars aggregation of the
        aggregated ``value`` and the event time ``ts``)."""

    @abstractmethod
    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        """The aggregation merging a field's partial values (rows of partials of one window);
        ``fields`` holds every field's column."""

    @abstractmethod
    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        """The window's result from its merged fields."""


class PythonAggregator(_Aggregator, ABC):
    """An aggregate per window kept as JSON text built by Python code: the values go to
    ``start`` per window and batch, states are merged with ``merge`` and turned into the
    result with ``finish``. Its one field, ``state``, is a list of values or states until
    :meth:`settle` makes it one state."""

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        present = value.is_not_null()
        return {"state": value.filter(present).sort_by(ts.filter(present), maintain_order=True)}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field]  # every state of the window, merged by settle

    def settle(self, items: Any) -> str:
        """A window's list of values (new) or states (merged) as one stored state."""
        if items is None:
            return _dump(self.start([]))
        items = list(items)
        if items and isinstance(items[0], str) and items[0].startswith(_STATE_TAG):
            states = [_load(s) for s in items]
            merged = states[0]
            for other in states[1:]:
                merged = self.merge(merged, other)
            return _dump(merged)
        return _dump(self.start(items))

    def result(self, state: str) -> Any:
        """The window's result from its stored state."""
        return self.finish(_load(state))

    @abstractmethod
    def start(self, values: list[Any]) -> Any:
        """The state of a list of values."""

    @abstractmethod
    def merge(self, a: Any, b: Any) -> Any:
        """Two states as one."""

    def finish(self, state: Any) -> Any:
        return state


def _dump(state: Any) -> str:
    return _STATE_TAG + orjson.dumps(state).decode()


def _load(text: str) -> Any:
    return orjson.loads(text[len(_STATE_TAG) :])


# Running and windowed aggregations


class _Additive(RunningAggregator):
    """Fields that add up: a key's value so far is its previous value plus the batch's."""

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return previous.fill_null(0) + current


class Count(_Additive, WindowAggregator):
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

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return self.result(fields)


class Sum(_Additive, WindowAggregator):
    fields = ("sum",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"sum": self.value().fill_null(0).cum_sum()}

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"sum": value.sum()}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].sum()

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return self.result(fields)


class Mean(_Additive, WindowAggregator):
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

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return self.result(fields)


class Min(RunningAggregator, WindowAggregator):
    fields = ("min",)

    def batch(self) -> dict[str, pl.Expr]:
        # cum_min leaves nulls at null rows; the minimum so far carries over them.
        return {"min": self.value().cum_min().forward_fill()}

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(previous, current)

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"min": value.min()}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].min()

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return self.result(fields)


class Max(RunningAggregator, WindowAggregator):
    fields = ("max",)

    def batch(self) -> dict[str, pl.Expr]:
        return {"max": self.value().cum_max().forward_fill()}

    def merge(self, field: str, previous: pl.Expr, current: pl.Expr) -> pl.Expr:
        return pl.max_horizontal(previous, current)

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"max": value.max()}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].max()

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return self.result(fields)


class Last(RunningAggregator, WindowAggregator):
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

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields["last"]


# Windows only


class First(WindowAggregator):
    """The non-null value of the earliest event time (ties: the earlier record)."""

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

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields["first"]


class Var(WindowAggregator):
    """Sample variance (ddof=1, as pandas): kept as count, mean and sum of squared deviations,
    merged with Chan's parallel formula, which stays accurate where sums of squares do not."""

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

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        n = fields["n"]
        return pl.when(n > 1).then(fields["m2"] / (n - 1)).otherwise(None).cast(pl.Float64)


class Std(Var):
    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return super().output(fields).sqrt()


class Collect(WindowAggregator):
    """The window's non-null values in event-time order (ties: arrival order)."""

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

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields["values"]


class CountDistinct(WindowAggregator):
    """The number of distinct non-null values (exact: the distinct values are kept)."""

    def partial(self, value: pl.Expr, ts: pl.Expr) -> dict[str, pl.Expr]:
        return {"distinct": value.drop_nulls().unique(maintain_order=True)}

    def combine(self, field: str, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields[field].explode(empty_as_null=False).drop_nulls().unique(maintain_order=True)

    def output(self, fields: dict[str, pl.Expr]) -> pl.Expr:
        return fields["distinct"].list.len().cast(pl.Int64)


# Python state


class Quantile(PythonAggregator):
    """An approximate quantile from a DDSketch: the sketch's bins are the mergeable state."""

    def __init__(self, definition: definitions.Quantile) -> None:
        super().__init__(definition)
        from ddsketch.mapping import LogarithmicMapping

        self.q = definition.q
        self._mapping = LogarithmicMapping(definition.relative_accuracy)

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

    def merge(self, a: Any, b: Any) -> Any:
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


class Reduce(PythonAggregator):
    """A custom mergeable reducer (see :class:`headwater.dataframe.aggregations.Reduce`)."""

    def __init__(self, definition: definitions.Reduce) -> None:
        super().__init__(definition)
        self._merge = definition.merge
        self._init = definition.initializer or (lambda v: v)
        self._finish = definition.finish or (lambda acc: acc)

    def start(self, values: list[Any]) -> Any:
        accs = [self._init(v) for v in values]
        if not accs:
            return {"empty": True}
        acc = accs[0]
        for other in accs[1:]:
            acc = self._merge(acc, other)
        return {"acc": acc}

    def merge(self, a: Any, b: Any) -> Any:
        if "acc" not in a:
            return b
        if "acc" not in b:
            return a
        return {"acc": self._merge(a["acc"], b["acc"])}

    def finish(self, state: Any) -> Any:
        return self._finish(state["acc"]) if "acc" in state else None


class ApplyWindow(PythonAggregator):
    """``fn(records)`` over the window's records as a pandas DataFrame in event-time order."""

    whole_record = True

    def __init__(self, definition: definitions.ApplyWindow) -> None:
        super().__init__(definition)
        self.fn = definition.fn

    def start(self, values: list[Any]) -> Any:
        return values

    def merge(self, a: Any, b: Any) -> Any:
        return [*a, *b]

    def finish(self, state: Any) -> Any:
        import pandas as pd

        return self.fn(pd.DataFrame(state))


def running_aggregator(definition: Aggregation) -> RunningAggregator:
    """How ``definition`` runs in ``agg_running``."""
    running: dict[type[Aggregation], Callable[[Any], RunningAggregator]] = {
        definitions.Count: Count,
        definitions.Sum: Sum,
        definitions.Mean: Mean,
        definitions.Min: Min,
        definitions.Max: Max,
        definitions.Last: Last,
    }
    build = running.get(type(definition))
    if build is None:
        raise ConfigError(
            f"agg_running(agg.{definition.kind}(...)): this aggregation works over windows "
            "only; use group_by(...).window(...).agg(...)"
        )
    return build(definition)


def window_aggregator(definition: Aggregation) -> WindowAggregator | PythonAggregator:
    """How ``definition`` runs over windows."""
    windowed: dict[type[Aggregation], Callable[[Any], WindowAggregator | PythonAggregator]] = {
        definitions.Count: Count,
        definitions.Sum: Sum,
        definitions.Mean: Mean,
        definitions.Min: Min,
        definitions.Max: Max,
        definitions.Last: Last,
        definitions.First: First,
        definitions.Var: Var,
        definitions.Std: Std,
        definitions.Collect: Collect,
        definitions.CountDistinct: CountDistinct,
        definitions.Quantile: Quantile,
        definitions.Reduce: Reduce,
        definitions.ApplyWindow: ApplyWindow,
    }
    build = windowed.get(type(definition))
    if build is None:
        raise ConfigError(f"agg.{definition.kind}() cannot run over windows")
    return build(definition)
