"""StreamingDataFrame: a pipeline over a topic, written like a pandas or Polars DataFrame.

Methods that return a new DataFrame (``sdf[cond]``, ``apply``, ``filter``, ``select``...) add a
step after this one; calling two of them on the same DataFrame makes two branches that each see
every record. Methods that change a DataFrame in place (``sdf["col"] = ...``, ``update``,
``to_topic``, ``print``) extend this DataFrame and return it for chaining.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import polars as pl

from headwater.dataframe.expressions import Column, to_expr
from headwater.errors import ConfigError
from headwater.plan import PlanBuilder
from headwater.plan.durations import duration_ms

if TYPE_CHECKING:
    import pandas as pd

    from headwater.dataframe.grouped import GroupBy
    from headwater.topic import Topic

BatchFormat = Literal["pandas", "polars", "arrow"]
# Columns the runtime keeps beside the values (key, timestamp, row, headers).
RESERVED_COLUMNS = ("_hw_row", "_hw_key", "_hw_ts", "_hw_headers")
LocalData = tuple[Any, Sequence[Any] | None, Sequence[int] | None]


class Host(Protocol):
    """What a DataFrame needs from the app that made it: the plan being built, and a way to
    run it locally. (The App; named here so the API imports neither the app nor the runtime.)"""

    @property
    def plan_builder(self) -> PlanBuilder: ...

    def run_test(self, inputs: dict[str, LocalData], tap: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Run the plan locally: the records step ``tap`` outputs, and the dead letters."""
        ...

    def step_metric(self, step: str, name: str) -> int:
        """A metric (``late_records``) of step ``step``'s operator in the latest run."""
        ...


class StreamingDataFrame:
    """A stream of records from one input topic, with the steps applied so far.

    >>> app = App("orders-app")  # doctest: +SKIP
    >>> sdf = app.dataframe(app.topic("orders"))  # doctest: +SKIP
    >>> sdf["total"] = sdf["price"] * sdf["qty"]  # doctest: +SKIP
    >>> sdf[sdf["total"] > 100].to_topic(app.topic("big-orders"))  # doctest: +SKIP
    """

    def __init__(self, app: Host, topic: Topic, node: str, origin: Topic | None = None) -> None:
        self._app = app
        self._plan = app.plan_builder
        self._topic = topic
        self._node = node  # the id of the plan step this DataFrame's records come out of
        # The input topic whose records reach this step (``topic`` is internal after group_by).
        self._origin = origin or topic
        self._join: str | None = None  # the join step this DataFrame came out of, if any
        self._late: str | None = None  # that join's late() step

    @property
    def topic(self) -> Topic:
        return self._topic

    def _then(
        self, kind: str, params: dict[str, Any], schema: list[str] | None = None
    ) -> StreamingDataFrame:
        node = self._plan.add(self._node, kind, params, schema)
        return StreamingDataFrame(self._app, self._topic, node, self._origin)

    def _derived(self, topic: Topic, node: str) -> StreamingDataFrame:
        """A DataFrame of the same input after step ``node`` (reading ``topic`` from there)."""
        return StreamingDataFrame(self._app, topic, node, self._origin)

    def _step_metric(self, step: str, name: str) -> int:
        return self._app.step_metric(step, name)

    def _extend(self, kind: str, params: dict[str, Any]) -> StreamingDataFrame:
        self._node = self._plan.add(self._node, kind, params)
        return self

    # Columns, filters and selections
    def __getitem__(self, item: str | list[str] | Column | pl.Expr) -> Any:
        if isinstance(item, str):
            return Column(pl.col(item))
        if isinstance(item, list) and all(isinstance(i, str) for i in item):
            return self.select(*item)
        if isinstance(item, Column | pl.Expr):
            return self._then("filter", {"expression": to_expr(item)})
        raise ConfigError(
            f"sdf[{item!r}]: use a column name, a list of names, or a condition like sdf['a'] > 1"
        )

    def __setitem__(self, name: str, value: Any) -> None:
        if not isinstance(name, str):
            raise ConfigError(f"sdf[{name!r}] = ...: column names are strings")
        self._extend("assign", {"columns": _assigned({name: to_expr(value)})})

    def with_columns(self, **columns: Any) -> StreamingDataFrame:
        """Add or replace columns: ``sdf.with_columns(total=sdf["price"] * sdf["qty"])``."""
        if not columns:
            raise ConfigError("with_columns() needs at least one name=expression")
        return self._then(
            "assign", {"columns": _assigned({n: to_expr(v) for n, v in columns.items()})}
        )

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
            return self._then("filter", {"expression": to_expr(condition)})
        return self._then(
            "filter",
            _row_function("filter", condition, metadata, self._store(stateful, store, "filter")),
        )

    def select(self, *names: str) -> StreamingDataFrame:
        return self._then("select", {"columns": _names(names, "select")})

    def drop(self, *names: str) -> StreamingDataFrame:
        return self._then("drop", {"columns": _names(names, "drop")})

    def rename(self, mapping: Mapping[str, str]) -> StreamingDataFrame:
        if not isinstance(mapping, Mapping) or not mapping:
            raise ConfigError("rename() takes a dict of {old name: new name}")
        # Pairs, not a dict: a mapping's names could read as the plan's own references.
        return self._then("rename", {"columns": [[old, new] for old, new in mapping.items()]})

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
        params = _row_function("apply", fn, metadata, self._store(stateful, store, "apply"))
        return self._then("apply", {**params, "expand": expand})

    def update(
        self,
        fn: Callable[..., Any],
        *,
        metadata: bool = False,
        stateful: bool = False,
        store: str | None = None,
    ) -> StreamingDataFrame:
        """Call ``fn(value)`` per record for its side effects; changes to the dict are kept."""
        return self._extend(
            "update", _row_function("update", fn, metadata, self._store(stateful, store, "update"))
        )

    def _store(self, stateful: bool, store: str | None, method: str) -> str | None:
        if store is None and not stateful:
            return None
        name = store or "default"
        from headwater.state.changelog import check_store_name

        check_store_name(name)
        self._plan.register_store(name, self._topic)
        return name

    def map_batches(
        self, fn: Callable[[Any], Any], *, format: BatchFormat = "pandas"
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
        if format not in ("pandas", "polars", "arrow"):
            raise ConfigError(f"map_batches format={format!r}: use 'pandas', 'polars' or 'arrow'")
        return self._then("map_batches", {"function": fn, "format": format})

    # Lookups
    def lookup(
        self,
        store: Any,
        *,
        on: str,
        fields: Sequence[str] | None = None,
        prefix: str = "",
        how: Literal["left", "inner"] = "left",
        on_failure: Literal["dead-letter", "stop"] = "dead-letter",
        policy: Any = None,
    ) -> StreamingDataFrame:
        """Join each record with the row ``store`` (PostgreSQL, Redis, any function; see
        docs/joins.md) holds for its ``on`` column: one request for the batch's distinct
        keys, through a cache. ``fields`` picks the row's fields (all when None), named with
        ``prefix`` in front. ``how="inner"`` drops records whose key has no row. When the
        store keeps failing after the ``policy``'s retries, the batch's records go to the dead
        letters with the reason, or the app stops (``on_failure="stop"``).
        """
        from headwater.lookup import LookupPolicy

        if not isinstance(on, str) or not on:
            raise ConfigError("lookup(on=...) must name the column that holds the key")
        if how not in ("left", "inner"):
            raise ConfigError(f"lookup(how={how!r}): use 'left' or 'inner'")
        if on_failure not in ("dead-letter", "stop"):
            raise ConfigError(f"lookup(on_failure={on_failure!r}): use 'dead-letter' or 'stop'")
        if not callable(getattr(store, "fetch", None)):
            raise ConfigError(
                "lookup(store=...) needs a store: PostgresStore, RedisStore or "
                "FunctionStore(fn) from headwater.lookup"
            )
        if fields is not None and (isinstance(fields, str) or not all(fields)):
            raise ConfigError("lookup(fields=...) must be a list of field names, or None")
        chosen = policy or LookupPolicy()
        if not isinstance(chosen, LookupPolicy):
            raise ConfigError("lookup(policy=...) must be a LookupPolicy")
        params = {
            "store": store,
            "on": on,
            "fields": None if fields is None else list(fields),
            "prefix": prefix,
            "how": how,
            "on_failure": on_failure,
            "policy": dataclasses.asdict(chosen),
        }
        return self._then("lookup", params)

    # Joins of two streams
    def join_interval(
        self,
        right: StreamingDataFrame,
        *,
        lower: Any,
        upper: Any,
        on: str | list[str] | None = None,
        how: Literal["inner", "left"] = "inner",
        name: str | None = None,
        suffix: str = "_right",
        repartition: bool = True,
    ) -> StreamingDataFrame:
        """Join with ``right``: records with equal keys whose event times differ within
        ``[lower, upper]`` (``right``'s time minus this one's; durations like ``"-5s"``,
        ``"10s"``), each pair once, whatever order they arrive in (see docs/joins.md).

        ``on`` names the join columns: both inputs are keyed by them and repartitioned
        (``repartition=False`` when both are already keyed and partitioned by them); without
        it the record keys are joined. A result has the key, this record's values, the right
        one's (a name both have gets ``suffix``; the ``on`` columns appear once) and the later
        of the two times. ``how="left"`` also sends each record of this stream that met none,
        once the watermark shows none can come. Records older than the joint watermark are
        late: ``late()`` on the result routes them, else they go to the dead letters::

            clicks.join_interval(views, on="user", lower="-10m", upper="0s")
        """
        from headwater.dataframe.joins import signed_ms, two_inputs

        low, high = signed_ms(lower, "lower"), signed_ms(upper, "upper")
        if low > high:
            raise ConfigError(f"join_interval(lower={lower!r}, upper={upper!r}): lower > upper")
        left, other, chosen = two_inputs("join_interval", self, right, on, how, name, repartition)
        params = {"lower_ms": low, "upper_ms": high}
        return self._joined(
            "join_interval", left, other, params, f"{chosen}-interval", how, suffix, on
        )

    def join_window(
        self,
        right: StreamingDataFrame,
        window: Any,
        *,
        on: str | list[str] | None = None,
        how: Literal["inner", "left"] = "inner",
        name: str | None = None,
        suffix: str = "_right",
        repartition: bool = True,
    ) -> StreamingDataFrame:
        """Join with ``right`` within windows: every pair of records with equal keys in the
        same tumbling, hopping or session ``window`` (``windows.tumbling("1m")``; a key's
        sessions are cut from both inputs' records together), sent when the window
        closes at the joint watermark, with ``window_start`` and ``window_end`` (see
        docs/joins.md). ``on``, ``how``, ``suffix``, ``repartition`` and ``late()`` are as
        for :meth:`join_interval`; ``how="left"`` also sends each record of this stream that
        met none in a window, once per window::

            orders.join_window(payments, windows.tumbling("1m"), on="order_id")
        """
        from headwater.dataframe.joins import join_window_spec, two_inputs

        size, step, gap = join_window_spec(window)
        left, other, chosen = two_inputs("join_window", self, right, on, how, name, repartition)
        params = {"size_ms": size, "step_ms": step, "gap_ms": gap}
        return self._joined("join_window", left, other, params, f"{chosen}-window", how, suffix, on)

    def join_asof(
        self,
        right: StreamingDataFrame,
        *,
        on: str | list[str] | None = None,
        tolerance: Any = None,
        how: Literal["left", "inner"] = "left",
        name: str | None = None,
        suffix: str = "_right",
        repartition: bool = True,
    ) -> StreamingDataFrame:
        """Join each record with ``right``'s latest record of its key at or before its event
        time (no older than ``tolerance``, a duration, when given): ``pandas.merge_asof(...,
        direction="backward")`` over the live streams (see docs/joins.md).

        A record is joined once the joint watermark has passed its time, so the result does
        not depend on which input arrived first; of two right records of a key at one time the
        later produced wins. ``on``, ``repartition``, ``suffix``, ``name`` and ``late()`` work
        as in :meth:`join_interval`; ``how="inner"`` drops records that met no right record::

            payments.join_asof(profiles, on="card", tolerance="30d")
        """
        from headwater.dataframe.joins import two_inputs

        within = None if tolerance is None else duration_ms(tolerance, "tolerance")
        left, other, chosen = two_inputs("join_asof", self, right, on, how, name, repartition)
        params = {"tolerance_ms": within}
        return self._joined("join_asof", left, other, params, f"{chosen}-asof", how, suffix, on)

    def _joined(
        self,
        kind: str,
        left: StreamingDataFrame,
        right: StreamingDataFrame,
        params: dict[str, Any],
        store: str,
        how: str,
        suffix: str,
        on: str | list[str] | None,
    ) -> StreamingDataFrame:
        """The step joining ``left`` and ``right`` (its own ``params``, then what every join
        has), its stores kept per partition of each input's topic (``<store>-left``,
        ``<store>-right``)."""
        columns = on if on is None or isinstance(on, str) else list(on)
        params = {**params, "how": how, "store": store, "suffix": suffix, "on": columns}
        for port, frame in (("left", left), ("right", right)):
            if f"{store}-{port}" in self._plan.stores:
                raise ConfigError(
                    f"{kind}: a join named like this one exists already (store "
                    f"{store!r}); give this one another name with name='...'"
                )
            self._plan.register_store(f"{store}-{port}", frame._topic)
        node = self._plan.add_join(left._node, right._node, kind, params)
        joined = StreamingDataFrame(self._app, left._topic, node, left._origin)
        joined._join = node
        return joined

    def late(self) -> StreamingDataFrame:
        """The records the join that made this DataFrame found late (older than its
        watermark), as they were read. Without it they go to the dead letters."""
        if self._join is None:
            raise ConfigError(
                "late() is for the DataFrame a join returns: left.join_interval(right, ...).late()"
            )
        if self._late is None:
            self._late = self._plan.add(self._join, "late", {})
        return self._derived(self._topic, self._late)

    def join_table(
        self,
        table: Any,
        *,
        on: str | None = None,
        fields: Sequence[str] | None = None,
        prefix: str = "",
        how: Literal["left", "inner"] = "left",
    ) -> StreamingDataFrame:
        """Join each record with the current row of ``table`` (``app.global_table(...)`` or
        ``app.table(...)``) for its ``on`` column (its record key when None), as the table
        stands when the record is processed. ``fields`` picks the row's fields (all when
        None), named with ``prefix`` in front; ``how="inner"`` drops records whose key has no
        row (see docs/joins.md). A co-partitioned table (``app.table``) needs the stream to
        have as many partitions as its topic, keyed alike."""
        from headwater.dataframe.tables import GlobalTable, Table

        if not isinstance(table, GlobalTable | Table):
            raise ConfigError(
                "join_table(table=...) needs a table: app.global_table(topic) or app.table(topic)"
            )
        if on is not None and (not isinstance(on, str) or not on):
            raise ConfigError("join_table(on=...) must name the column that holds the key")
        if how not in ("left", "inner"):
            raise ConfigError(f"join_table(how={how!r}): use 'left' or 'inner'")
        if fields is not None and (isinstance(fields, str) or not all(fields)):
            raise ConfigError("join_table(fields=...) must be a list of field names, or None")
        params = {
            "table": table.name,
            "on": on,
            "fields": None if fields is None else list(fields),
            "prefix": prefix,
            "how": how,
        }
        if isinstance(table, Table):
            return self._join_copartitioned(table, params)
        return self._then("join_table", params)

    def _join_copartitioned(self, table: Any, params: dict[str, Any]) -> StreamingDataFrame:
        """The two-input step joining this stream with a co-partitioned table, which keeps
        its rows in the store ``<table>-table`` per partition of the table's topic."""
        from headwater.dataframe.joins import check_copartitioned

        check_copartitioned(
            "join_table", self, StreamingDataFrame(self._app, table.topic, table.node)
        )
        store = f"{table.name}-table"
        if store in self._plan.stores:
            raise ConfigError(
                f"join_table: table {table.name!r} is joined already; join it once and branch "
                "the joined stream"
            )
        self._plan.register_store(store, table.topic)
        node = self._plan.add_join(self._node, table.node, "join_table", {**params, "store": store})
        return StreamingDataFrame(self._app, self._topic, node, self._origin)

    # Models
    def predict(
        self,
        model: str | Path,
        *,
        features: Sequence[str] | None = None,
        framework: str | None = None,
        prefix: str = "",
    ) -> StreamingDataFrame:
        """Score each micro-batch with ``model`` in one call, adding ``prediction`` (and, for
        classifiers, ``score``) columns, named with ``prefix`` in front.

        ``model`` is a scikit-learn, ONNX, XGBoost or LightGBM file or an MLflow model folder
        (see docs/models.md), or a registry model, ``models:/fraud@production``: the step
        then follows the alias, swapping in a promoted version between two batches, and adds
        ``model_version``, the version that scored each record. It is loaded now, so a missing
        file, a missing framework or a feature the pipeline does not have is an error when the
        app is built; features the plan cannot see yet are checked against the first batch.
        """
        from headwater.models import check_features, load_model
        from headwater.models.registry import ModelReference
        from headwater.models.swap import RegistryModel

        if not isinstance(prefix, str):
            raise ConfigError("predict(prefix=...) must be text, e.g. 'fraud_'")
        reference = ModelReference.parse(model) if isinstance(model, str) else None
        if reference is None:
            loaded = load_model(model, framework=framework, features=features)
        else:
            loaded = RegistryModel(reference).model
        columns = self._plan.columns(self._node)
        if columns is not None:
            check_features(loaded.features, dict.fromkeys(columns, pl.Null()), f"predict({model})")
        outputs = ["prediction", "score"] if loaded.classifier else ["prediction"]
        if reference is not None:
            outputs.append("model_version")
        params = {
            "model": str(model),
            "features": [f.name for f in loaded.features],
            "framework": loaded.framework,
            "prefix": prefix,
            "outputs": outputs,
        }
        return self._then("predict", params)

    def learn(
        self,
        model: Callable[[], Any],
        *,
        target: str,
        features: Sequence[str],
        metric: Callable[[], Any] | None = None,
        per_key: bool = True,
        prefix: str = "",
        store: str = "learn",
    ) -> StreamingDataFrame:
        """Online learning (river): score each record with its model as it stands, then learn
        from the record's ``target`` (a record whose target is null or missing is only scored).

        ``model()`` makes a new river model (a class, or a function building a pipeline) and
        ``metric()`` a running metric (``metrics.Accuracy``...), updated before each learning
        step. Adds ``prediction``, ``score`` (binary classifiers) and a column named after the
        metric, with ``prefix`` in front. ``per_key=True`` keeps one model per record key;
        ``per_key=False`` one per input partition (a global model for a one-partition input).
        Models live in the state store ``store`` and are committed with the input offsets, so
        under exactly-once a crash neither loses nor repeats a learning step (see
        docs/models.md).
        """
        from headwater.models.online import OnlineLearner

        if not isinstance(prefix, str):
            raise ConfigError("learn(prefix=...) must be text, e.g. 'fraud_'")
        learner = OnlineLearner(model, target, features, metric)
        params = {
            "model": model,
            "target": target,
            "features": list(features),
            "metric": metric,
            "per_key": bool(per_key),
            "prefix": prefix,
            "outputs": learner.outputs,
            "store": self._store(True, store, "learn"),
        }
        return self._then("learn", params)

    # Metadata
    def set_key(
        self, key: Column | pl.Expr | Callable[[dict[str, Any]], Any] | str
    ) -> StreamingDataFrame:
        """The record key, from a column name, an expression or a function of the value."""
        return self._then("set_key", {"key": _expr_or_fn(key, "set_key")})

    def set_timestamp(
        self, timestamp: Column | pl.Expr | Callable[[dict[str, Any]], Any] | str
    ) -> StreamingDataFrame:
        """The event time (epoch ms or ISO-8601), from a column, an expression or a function."""
        return self._then("set_timestamp", {"timestamp": _expr_or_fn(timestamp, "set_timestamp")})

    def set_headers(self, fn: Callable[..., Any]) -> StreamingDataFrame:
        """``fn(value, headers)`` returns the record's new headers as (name, value) pairs."""
        if not callable(fn):
            raise ConfigError("set_headers() takes a function fn(value, headers) -> headers")
        return self._then("set_headers", {"function": fn})

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
        bound = duration_ms(max_out_of_orderness, "max_out_of_orderness")
        idle = None if idle_timeout is None else duration_ms(idle_timeout, "idle_timeout")
        quiet = (
            None
            if advance_when_quiet is None
            else duration_ms(advance_when_quiet, "advance_when_quiet")
        )
        config = {
            "max_out_of_orderness_ms": bound,
            "idle_timeout": None if idle is None else idle / 1000,
            "quiet_after": None if quiet is None else quiet / 1000,
        }
        self._plan.set(self._plan.root(self._node), "watermarks", config)
        return self

    # Grouping
    def group_by(
        self,
        *by: str | Column | pl.Expr | list[str | Column | pl.Expr],
        name: str | None = None,
        repartition: bool = True,
    ) -> GroupBy[StreamingDataFrame]:
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
        self._plan.register_output(topic)
        key_of = None if key is None else _expr_or_fn(key, "key")
        return self._extend("to_topic", {"topic": topic.name, "key": key_of})

    def to_sink(self, sink: Any, *, name: str | None = None) -> StreamingDataFrame:
        """Write every record's values to ``sink`` (``ParquetSink``, ``PostgresSink``,
        ``RedisSink`` from :mod:`headwater.sinks`) at each checkpoint, before the input offsets
        are committed, so a replay after a crash writes the same rows again (docs/sinks.md).
        ``name`` labels the step (default: the sink's class)."""
        if not callable(getattr(sink, "write", None)):
            raise ConfigError(
                f"to_sink() needs a sink with write(frame), got {type(sink).__name__}: use "
                "ParquetSink, PostgresSink or RedisSink (headwater.sinks)"
            )
        return self._extend("to_sink", {"sink": sink, "name": name or type(sink).__name__})

    def print(self, *, metadata: bool = False) -> StreamingDataFrame:
        """Print each record as a JSON line (with key and timestamp if ``metadata``)."""
        return self._extend("print", {"metadata": metadata})

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
        inputs: dict[str, LocalData] = {self._origin.name: (data, keys, timestamps)}
        frame, dead_letters = self._app.run_test(inputs, tap=self._node)
        frame.attrs["dead_letters"] = dead_letters
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


def _assigned(columns: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    reserved = [n for n in columns if n in RESERVED_COLUMNS]
    if reserved:
        raise ConfigError(f"column names {reserved} are reserved by Headwater; rename them")
    return columns


def _row_function(
    kind: str, fn: Callable[..., Any], metadata: bool, store: str | None
) -> dict[str, Any]:
    """The parameters of a step calling ``fn`` per record."""
    if not callable(fn):
        raise ConfigError(f"{kind}() needs a function, got {type(fn).__name__}")
    return {"function": fn, "metadata": metadata, "store": store}


def _expr_or_fn(value: Any, method: str) -> pl.Expr | Callable[..., Any]:
    if isinstance(value, str):
        return pl.col(value)
    if isinstance(value, Column | pl.Expr):
        return to_expr(value)
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigError(f"{method} takes a column name, an expression or a function")
