"""StreamingDataFrame: a pipeline over a topic, written like a pandas or Polars DataFrame.

Methods that return a new DataFrame (``sdf[cond]``, ``apply``, ``filter``, ``select``...) add a
step after this one; calling two of them on the same DataFrame makes two branches that each see
every record. Methods that change a DataFrame in place (``sdf["col"] = ...``, ``update``,
``to_topic``, ``print``) extend this DataFrame and return it for chaining.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.dataframe.expressions import Column, to_expr
from headwater.errors import ConfigError
from headwater.runtime import operators as ops

if TYPE_CHECKING:
    import pandas as pd

    from headwater.app import App
    from headwater.dataframe.graph import Node
    from headwater.dataframe.grouped import GroupBy
    from headwater.topic import Topic


class StreamingDataFrame:
    """A stream of records from one input topic, with the steps applied so far.

    >>> app = App("orders-app")  # doctest: +SKIP
    >>> sdf = app.dataframe(app.topic("orders"))  # doctest: +SKIP
    >>> sdf["total"] = sdf["price"] * sdf["qty"]  # doctest: +SKIP
    >>> sdf[sdf["total"] > 100].to_topic(app.topic("big-orders"))  # doctest: +SKIP
    """

    def __init__(self, app: App, topic: Topic, node: Node, origin: Topic | None = None) -> None:
        self._app = app
        self._topic = topic
        self._node = node
        # The input topic whose records reach this step (``topic`` is internal after group_by).
        self._origin = origin or topic

    @property
    def topic(self) -> Topic:
        return self._topic

    def _then(self, operator: ops.Operator) -> StreamingDataFrame:
        node = self._app._add(self._node, operator)
        return StreamingDataFrame(self._app, self._topic, node, self._origin)

    def _extend(self, operator: ops.Operator) -> StreamingDataFrame:
        self._node = self._app._add(self._node, operator)
        return self

    # Columns, filters and selections
    def __getitem__(self, item: str | list[str] | Column | pl.Expr) -> Any:
        if isinstance(item, str):
            return Column(pl.col(item))
        if isinstance(item, list) and all(isinstance(i, str) for i in item):
            return self.select(*item)
        if isinstance(item, Column | pl.Expr):
            return self._then(ops.FilterExpr(to_expr(item)))
        raise ConfigError(
            f"sdf[{item!r}]: use a column name, a list of names, or a condition like sdf['a'] > 1"
        )

    def __setitem__(self, name: str, value: Any) -> None:
        if not isinstance(name, str):
            raise ConfigError(f"sdf[{name!r}] = ...: column names are strings")
        self._extend(ops.Assign({name: to_expr(value)}))

    def with_columns(self, **columns: Any) -> StreamingDataFrame:
        """Add or replace columns: ``sdf.with_columns(total=sdf["price"] * sdf["qty"])``."""
        if not columns:
            raise ConfigError("with_columns() needs at least one name=expression")
        return self._then(ops.Assign({n: to_expr(v) for n, v in columns.items()}))

    def filter(
        self,
        condition: Column | pl.Expr | Callable[..., Any],
        *,
        metadata: bool = False,
        stateful: bool = False,
        store: str | None = None,
    ) -> StreamingDataFrame:
        """Keep records where ``condition`` (an expression, or a function of the record) is true."""
        if isinstance(condition, Column | pl.Expr):
            return self._then(ops.FilterExpr(to_expr(condition)))
        return self._then(
            ops.FilterFunction(condition, metadata, self._store(stateful, store, "filter"))
        )

    def select(self, *names: str) -> StreamingDataFrame:
        return self._then(ops.Select(_names(names, "select")))

    def drop(self, *names: str) -> StreamingDataFrame:
        return self._then(ops.Drop(_names(names, "drop")))

    def rename(self, mapping: Mapping[str, str]) -> StreamingDataFrame:
        if not isinstance(mapping, Mapping) or not mapping:
            raise ConfigError("rename() takes a dict of {old name: new name}")
        return self._then(ops.Rename(mapping))

    # Functions
    def apply(
        self,
        fn: Callable[..., Any],
        *,
        expand: bool = False,
        metadata: bool = False,
        stateful: bool = False,
        store: str | None = None,
    ) -> StreamingDataFrame:
        """Call ``fn(value)`` per record; it returns the new record as a dict.

        With ``expand=True`` it returns a list of dicts, each a record of its own. With
        ``metadata=True`` it is called as ``fn(value, key, timestamp, headers)``. With
        ``stateful=True`` the record key's :class:`~headwater.state.State` is passed last,
        ``fn(value, state)``: values kept per key that survive restarts and move with the
        partition (``store`` names the store; the default is ``"default"``).
        """
        return self._then(ops.Apply(fn, expand, metadata, self._store(stateful, store, "apply")))

    def update(
        self,
        fn: Callable[..., Any],
        *,
        metadata: bool = False,
        stateful: bool = False,
        store: str | None = None,
    ) -> StreamingDataFrame:
        """Call ``fn(value)`` per record for its side effects; changes to the dict are kept."""
        return self._extend(ops.Update(fn, metadata, self._store(stateful, store, "update")))

    def _store(self, stateful: bool, store: str | None, method: str) -> str | None:
        if store is None and not stateful:
            return None
        name = store or "default"
        from headwater.state.changelog import check_store_name

        check_store_name(name)
        self._app._register_store(name, self._topic)
        return name

    def map_batches(
        self, fn: Callable[[Any], Any], *, format: ops.BatchFormat = "pandas"
    ) -> StreamingDataFrame:
        """Call ``fn`` on each micro-batch as a pandas, Polars or Arrow frame.

        The function a data scientist wrote in a notebook runs unchanged::

            def features(df: pd.DataFrame) -> pd.DataFrame:
                df["ratio"] = df["a"] / df["b"]
                return df[df["ratio"] > 1]

            sdf = sdf.map_batches(features)

        Rows may be added or removed. With pandas, a row keeps the key and timestamp of the
        input row its index label names; with Polars and Arrow, rows keep them when the height
        is unchanged, and otherwise take the batch's last key and timestamp.
        """
        return self._then(ops.MapBatches(fn, format))

    # Metadata
    def set_key(
        self, key: Column | pl.Expr | Callable[[dict[str, Any]], Any] | str
    ) -> StreamingDataFrame:
        """The record key, from a column name, an expression or a function of the value."""
        return self._then(ops.SetKey(_expr_or_fn(key, "set_key")))

    def set_timestamp(
        self, timestamp: Column | pl.Expr | Callable[[dict[str, Any]], Any] | str
    ) -> StreamingDataFrame:
        """The event time (epoch ms or ISO-8601), from a column, an expression or a function."""
        return self._then(ops.SetTimestamp(_expr_or_fn(timestamp, "set_timestamp")))

    def set_headers(self, fn: Callable[..., Any]) -> StreamingDataFrame:
        """``fn(value, headers)`` returns the record's new headers as (name, value) pairs."""
        if not callable(fn):
            raise ConfigError("set_headers() takes a function fn(value, headers) -> headers")
        return self._then(ops.SetHeaders(fn))

    # Event time
    def with_watermarks(
        self,
        max_out_of_orderness: Any = "0s",
        *,
        idle_timeout: Any = None,
        advance_when_quiet: Any = None,
    ) -> StreamingDataFrame:
        """How event time progresses on this input (see docs/time.md).

        A partition's watermark is its largest event time minus ``max_out_of_orderness``;
        the input's is the minimum over partitions. A partition without records for
        ``idle_timeout`` stops holding it back; when no partition has had a record for
        ``advance_when_quiet``, the watermark moves on with the wall clock so the last
        windows close. Durations are timedeltas or text like ``"5s"``. Returns this DataFrame::

            orders = app.dataframe(app.topic("orders", timestamp="ts")).with_watermarks(
                "5s", idle_timeout="1m", advance_when_quiet="30s"
            )
        """
        from headwater.runtime.watermark import WatermarkConfig

        config = WatermarkConfig.of(max_out_of_orderness, idle_timeout, advance_when_quiet)
        root = self._node
        while root.parent is not None:
            root = root.parent
        root.operator.watermarks = config  # type: ignore[attr-defined]
        return self

    # Grouping
    def group_by(
        self,
        *by: str | Column | pl.Expr | list[str | Column | pl.Expr],
        name: str | None = None,
        repartition: bool = True,
    ) -> GroupBy:
        """Group records by columns or expressions, to aggregate per group (``agg_running``).

        Records are keyed by their group and, so that every record of a group is read from one
        partition, written to the internal topic ``<app>-<name>-repartition`` (created with the
        input's partition count) that the app reads in the same consumer group; ``name``
        defaults to the group columns joined by ``-``. Pass ``repartition=False`` when the input
        is already keyed and partitioned by the group. A record whose group is null goes to the
        dead letters::

            totals = sdf.group_by("customer").agg_running(n=agg.count(), total=agg.sum("amount"))
        """
        from headwater.dataframe.grouped import group_by

        return group_by(self, by, name, repartition)

    # Outputs
    def to_topic(
        self, topic: Topic, *, key: Column | pl.Expr | Callable[..., Any] | str | None = None
    ) -> StreamingDataFrame:
        """Produce every record to ``topic`` (with another key if ``key`` is given)."""
        from headwater.topic import Topic as TopicClass

        if not isinstance(topic, TopicClass):
            raise ConfigError("to_topic() takes a Topic made with app.topic(name)")
        self._app._register_output(topic)
        return self._extend(ops.ToTopic(topic, None if key is None else _expr_or_fn(key, "key")))

    def print(self, *, metadata: bool = False) -> StreamingDataFrame:
        """Print each record as a JSON line (with key and timestamp if ``metadata``)."""
        return self._extend(ops.Print(metadata))

    # Local runs
    def test(
        self,
        data: Iterable[Any] | pd.DataFrame | pl.DataFrame,
        *,
        keys: Sequence[Any] | None = None,
        timestamps: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """Run the app in-process over ``data`` and return the records this DataFrame outputs.

        ``data`` is a list of values (dicts, or raw ``bytes`` to test decoding) or a pandas /
        Polars DataFrame of values. No broker is needed. The result has the value columns
        plus ``_key`` and ``_timestamp``; records that failed are in
        ``result.attrs["dead_letters"]``.
        """
        from headwater.runtime.local import run_local

        inputs = {self._origin.name: (data, keys, timestamps)}
        result = run_local(self._app, inputs, tap=self._node)
        frame = result.tapped
        frame.attrs["dead_letters"] = result.dead_letters
        return frame


def _names(names: tuple[str, ...], method: str) -> list[str]:
    flat: list[str] = []
    for n in names:
        if isinstance(n, list | tuple):
            flat.extend(n)
        else:
            flat.append(n)
    if not flat or not all(isinstance(n, str) for n in flat):
        raise ConfigError(f"{method}() takes one or more column names")
    return flat


def _expr_or_fn(value: Any, method: str) -> pl.Expr | Callable[..., Any]:
    if isinstance(value, str):
        return pl.col(value)
    if isinstance(value, Column | pl.Expr):
        return to_expr(value)
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigError(f"{method} takes a column name, an expression or a function")
