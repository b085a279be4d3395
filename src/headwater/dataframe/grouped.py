"""``sdf.group_by(...)``: records re-keyed (and repartitioned) by a group, ready to aggregate."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.dataframe.aggregations import Aggregation, check_aggregations
from headwater.dataframe.expressions import Column, to_expr
from headwater.errors import ConfigError
from headwater.runtime.aggregate import RunningAggregate
from headwater.runtime.repartition import GroupKey, repartition_topic_name
from headwater.runtime.timers import KeyedProcess
from headwater.runtime.watermark import duration_ms
from headwater.runtime.window import EMIT_MODES, LateRecords, WindowAggregate, window_aggregate
from headwater.topic import Topic

if TYPE_CHECKING:
    from headwater.dataframe.dataframe import StreamingDataFrame
    from headwater.dataframe.graph import Node
    from headwater.dataframe.windows import Window

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

    def __init__(
        self,
        keyed: StreamingDataFrame,
        columns: list[str],
        name: str,
        key_step: GroupKey | None = None,
    ) -> None:
        self._keyed = keyed
        self.columns = columns
        self.name = name
        self._key_step = key_step

    def window(
        self,
        window: Window,
        *,
        allowed_lateness: Any = "0s",
        emit: str = "close",
        early_every: Any = None,
    ) -> Windowed:
        """Aggregate per group and window (see docs/time.md); call ``.agg(...)`` on the result.

        ``window`` is one of :mod:`headwater.windows` (tumbling, hopping, sliding, session,
        tumbling_count, hopping_count). A time window closes when the watermark passes its
        end plus ``allowed_lateness`` (a timedelta or text like ``"10s"``); ``emit="close"``
        sends each window's result once, then, while ``emit="update"`` sends a window's new
        result after every batch that changed it. ``early_every`` (a duration) also sends,
        that often (wall clock), the result so far of every open window that changed::

            per_minute = sdf.group_by("customer").window(windows.tumbling("1m")).agg(
                total=agg.sum("price"), n=agg.count()
            )
        """
        from headwater.dataframe.windows import Window as WindowClass

        if not isinstance(window, WindowClass):
            raise ConfigError(
                f"window() takes a window such as windows.tumbling('1m'), got "
                f"{type(window).__name__}"
            )
        if emit not in EMIT_MODES:
            raise ConfigError(f"window(emit={emit!r}): use 'close' or 'update'")
        if emit == "update" and window.kind == "sliding":
            raise ConfigError(
                "window(emit='update') is not available for sliding windows (their windows "
                "are computed when they close); use emit='close'"
            )
        lateness = duration_ms(allowed_lateness, "allowed_lateness")
        early = None
        if early_every is not None:
            if window.by_count or window.kind == "sliding":
                raise ConfigError(
                    f"window(early_every=...) is for tumbling, hopping and session windows, "
                    f"not {window.kind}"
                )
            early = duration_ms(early_every, "early_every", zero=False) / 1000
        return Windowed(self, window, lateness, emit, early)

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

    def process(
        self, fn: Callable[..., Any], on_timer: Callable[..., Any] | None = None
    ) -> StreamingDataFrame:
        """A keyed process function with timers (Flink's KeyedProcessFunction; see
        docs/time.md). ``fn(value, ctx)`` runs per record: ``ctx.key``, ``ctx.state`` (the
        group's State), ``ctx.timers`` (``register_event_time(ts_ms)``,
        ``register_processing_time(ts_ms)``, ``delete_...``), ``ctx.timestamp`` and
        ``ctx.watermark``. ``on_timer(key, timestamp, ctx)`` runs when a timer fires. Both
        return None, a dict or a list of dicts: the output records, keyed by the group. State
        and timers are kept in the store ``<group_by name>-process``."""
        store = f"{self.name}-process"
        if store in self._keyed._app.stores:
            raise ConfigError(
                f"group_by name {self.name!r} already has a process() (store {store!r}); "
                "group again with group_by(..., name='another-name') for a second"
            )
        operator = KeyedProcess(fn, on_timer, store)
        self._keyed._store(True, store, "process")
        if self._key_step is not None:
            self._key_step.watermarks = True
        return self._keyed._then(operator)

    def __repr__(self) -> str:
        return f"GroupBy({', '.join(map(repr, self.columns))}, name={self.name!r})"


class Windowed:
    """A grouped stream cut into windows: :meth:`agg` aggregates each group's windows,
    :meth:`late` is the stream of records that came too late for theirs."""

    def __init__(
        self,
        group: GroupBy,
        window: Window,
        lateness_ms: int,
        emit: str,
        early_every: float | None = None,
    ) -> None:
        self._group = group
        self.window = window
        self.lateness_ms = lateness_ms
        self.emit = emit
        self.early_every = early_every
        self._node: Node | None = None

    def agg(self, **aggs: Aggregation) -> StreamingDataFrame:
        """One record per group and window: the group columns, ``window_start`` and
        ``window_end`` (epoch ms) and one column per aggregation, keyed by the group."""
        group = self._group
        checked = check_aggregations(dict(aggs), group.columns, "agg")
        if self._node is not None:
            raise ConfigError(
                "this window already has its agg(...); compute every aggregate in one call"
            )
        store = f"{group.name}-{self.window.kind}"
        keyed = group._keyed
        if store in keyed._app.stores:
            raise ConfigError(
                f"group_by name {group.name!r} already has a {self.window.kind} window (store "
                f"{store!r}); group again with group_by(..., name='another-name') for a second"
            )
        keyed._store(True, store, "window")
        operator = window_aggregate(
            group.columns,
            self.window,
            checked,
            store,
            self.emit,
            self.lateness_ms,
            self.early_every,
        )
        if group._key_step is not None:
            group._key_step.watermarks = True
        out = keyed._then(operator)
        self._node = out._node
        return out

    @property
    def late_records(self) -> int:
        """How many late records this window has met in this process (a metric)."""
        if self._node is None:
            return 0
        return int(self._node.operator.late_records)  # type: ignore[attr-defined]

    def apply_window(self, fn: Callable[[Any], Any], name: str = "result") -> StreamingDataFrame:
        """``fn(records)`` per window, with the window's records as a pandas DataFrame in
        event-time order; its result goes in the column ``name``."""
        from headwater.dataframe.aggregations import apply_window

        return self.agg(**{name: apply_window(fn)})

    def late(self) -> StreamingDataFrame:
        """The records that arrived after every window they belong to had closed, as they
        were read (send them to a topic, count them...). Without it they are dead letters."""
        from headwater.dataframe.dataframe import StreamingDataFrame

        if self._node is None:
            raise ConfigError(
                "call late() after agg(...): the late records are those of the window's aggregation"
            )
        operator = self._node.operator
        assert isinstance(operator, WindowAggregate)
        if operator.late_node is None:
            keyed = self._group._keyed
            operator.late_node = keyed._app._add(self._node, LateRecords())
        keyed = self._group._keyed
        return StreamingDataFrame(keyed._app, keyed.topic, operator.late_node, origin=keyed._origin)


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
    step = GroupKey(groups, name, topic)
    node = app._add(sdf._node, step)
    if topic is None:
        keyed = StreamingDataFrame(app, sdf.topic, node, origin=sdf._origin)
    else:
        root = app._add_repartition(topic, sdf.topic)
        keyed = StreamingDataFrame(app, topic, root, origin=sdf._origin)
    return GroupBy(keyed, list(groups), name, step)


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
