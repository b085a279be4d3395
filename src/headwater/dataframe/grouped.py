"""``sdf.group_by(...)``: records re-keyed (and repartitioned) by a group, ready to aggregate."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.dataframe.aggregations import Aggregation, check_aggregations
from headwater.dataframe.expressions import Column, to_expr
from headwater.errors import ConfigError
from headwater.runtime.aggregate import RunningAggregate
from headwater.runtime.repartition import GroupKey, repartition_topic_name
from headwater.topic import Topic

if TYPE_CHECKING:
    from headwater.dataframe.dataframe import StreamingDataFrame

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
GroupKeys = str | Column | pl.Expr | list[str | Column | pl.Expr]


class GroupBy:
    """A stream grouped by some columns: call :meth:`agg_running` on it.

    >>> from headwater import App, agg
    >>> app = App("shop")
    >>> sdf = app.dataframe(app.topic("orders"))
    >>> totals = sdf.group_by("customer").agg_running(n=agg.count(), total=agg.sum("amount"))
    >>> totals.test(
    ...     [{"customer": "a", "amount": 5}, {"customer": "b", "amount": 1},
    ...      {"customer": "a", "amount": 2}]
    ... )[["customer", "n", "total", "_key"]].values.tolist()
    [['a', 1, 5, 'a'], ['b', 1, 1, 'b'], ['a', 2, 7, 'a']]
    """

    def __init__(self, keyed: StreamingDataFrame, columns: list[str], name: str) -> None:
        self._keyed = keyed
        self.columns = columns
        self.name = name

    def agg_running(self, **aggs: Aggregation) -> StreamingDataFrame:
        """Every record, with its group's aggregates as of that record (emit on every update).

        The output's values are the group columns and one column per aggregate; its key is the
        group. State is kept per group in the store ``<group_by name>-agg``::

            totals = sdf.group_by("customer").agg_running(
                n=agg.count(), total=agg.sum("amount"), avg=agg.mean("amount"),
                lo=agg.min("amount"), hi=agg.max("amount"), last_sku=agg.last("sku"),
            )
        """
        checked = check_aggregations(dict(aggs), self.columns)
        store = f"{self.name}-agg"
        if store in self._keyed._app.stores:
            raise ConfigError(
                f"group_by name {self.name!r} already has an agg_running() (store {store!r}); "
                "compute every aggregate in one agg_running(...) call, or group again with "
                "group_by(..., name='another-name')"
            )
        self._keyed._store(True, store, "agg_running")
        return self._keyed._then(RunningAggregate(self.columns, checked, store))

    def __repr__(self) -> str:
        return f"GroupBy({', '.join(map(repr, self.columns))}, name={self.name!r})"


def group_by(
    sdf: StreamingDataFrame, by: tuple[Any, ...], name: str | None, repartition: bool
) -> GroupBy:
    """Add the re-keying step after ``sdf`` and, when repartitioning, the pipeline root that
    reads the repartition topic; see :meth:`StreamingDataFrame.group_by`."""
    from headwater.dataframe.dataframe import StreamingDataFrame

    groups = _group_expressions(by)
    name = name if name is not None else "-".join(groups)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"group_by name {name!r} is invalid: it names the repartition topic and the state "
            "store, so use 1-100 letters, digits, '.', '_' or '-', "
            "e.g. group_by(..., name='by-customer')"
        )
    app = sdf._app
    topic = None
    if repartition:
        # Partitions here serve local runs; a live app gives it its input's partition count.
        topic = Topic(
            repartition_topic_name(app.name, name),
            key="json",
            value="json",
            partitions=sdf.topic.partitions,
        )
    node = app._add(sdf._node, GroupKey(groups, name, topic))
    if topic is None:
        keyed = StreamingDataFrame(app, sdf.topic, node, origin=sdf._origin)
    else:
        root = app._add_repartition(topic, sdf.topic)
        keyed = StreamingDataFrame(app, topic, root, origin=sdf._origin)
    return GroupBy(keyed, list(groups), name)


def _group_expressions(by: tuple[Any, ...]) -> dict[str, pl.Expr]:
    flat: list[Any] = []
    for item in by:
        flat.extend(item if isinstance(item, list | tuple) else [item])
    if not flat:
        raise ConfigError("group_by() needs one or more column names or expressions")
    groups: dict[str, pl.Expr] = {}
    for item in flat:
        if isinstance(item, str):
            column, expr = item, pl.col(item)
        elif isinstance(item, Column | pl.Expr):
            expr = to_expr(item)
            output = expr.meta.output_name(raise_if_undetermined=False)
            if output is None:
                raise ConfigError(f"group_by({expr}): name the group column with .alias('name')")
            column = output
        else:
            raise ConfigError(
                f"group_by() takes column names or expressions, got {type(item).__name__}"
            )
        if column in groups:
            raise ConfigError(f"group_by(): the group column {column!r} is given twice")
        if column.startswith("_hw_"):
            raise ConfigError(f"group_by(): column names starting '_hw_' are reserved ({column!r})")
        groups[column] = expr
    return groups
