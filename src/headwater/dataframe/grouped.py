"""``sdf.group_by(...)``: records re-keyed (and repartitioned) by a group, ready to aggregate."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import polars as pl

from headwater.dataframe.aggregations import Aggregation, check_aggregations
from headwater.dataframe.expressions import Column, to_expr
from headwater.errors import ConfigError
from headwater.plan.durations import duration_ms
from headwater.topic import Topic

if TYPE_CHECKING:
    from headwater.dataframe.windows import Window
    from headwater.plan import PlanBuilder

EMIT_MODES = ("close", "update")

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
GroupKeys = str | Column | pl.Expr | list[str | Column | pl.Expr]
F = TypeVar("F", bound="Frame")


class Frame(Protocol):
    """What grouping needs of a StreamingDataFrame (named here, so this module and the
    DataFrame's do not import each other: a DataFrame's ``group_by`` gives a GroupBy, whose
    aggregations give DataFrames of the same type)."""

    _node: str
    _plan: PlanBuilder
    _origin: Topic

    @property
    def topic(self) -> Topic: ...

    def _then(self: F, kind: str, params: dict[str, Any], schema: list[str] | None = None) -> F: ...

    def _store(self, stateful: bool, store: str | None, method: str) -> str | None: ...

    def _derived(self: F, topic: Topic, node: str) -> F: ...

    def _step_metric(self, step: str, name: str) -> int: ...


class GroupBy(Generic[F]):
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
        keyed: F,
        columns: list[str],
        name: str,
        key_step: str | None = None,
    ) -> None:
        self._keyed = keyed
        self.columns = columns
        self.name = name
        self._key_step = key_step  # the plan step keying the records by the group

    def window(
        self,
        window: Window,
        *,
        allowed_lateness: Any = "0s",
        emit: str = "close",
        early_every: Any = None,
    ) -> Windowed[F]:
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

    def agg_running(self, **aggs: Aggregation) -> F:
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
        if store in self._keyed._plan.stores:
            raise ConfigError(
                f"group_by name {self.name!r} already has an agg_running() (store {store!r}); "
                "compute every aggregate in one agg_running(...) call, or group again with "
                "group_by(..., name='another-name')"
            )
        self._keyed._store(True, store, "agg_running")
        params = {
            "by": self.columns,
            "aggregations": {name: a.spec() for name, a in checked.items()},
            "store": store,
        }
        return self._keyed._then("agg_running", params, [*self.columns, *checked])

    def process(self, fn: Callable[..., Any], on_timer: Callable[..., Any] | None = None) -> F:
        """A keyed process function with timers (Flink's KeyedProcessFunction; see
        docs/time.md). ``fn(value, ctx)`` runs per record: ``ctx.key``, ``ctx.state`` (the
        group's State), ``ctx.timers`` (``register_event_time(ts_ms)``,
        ``register_processing_time(ts_ms)``, ``delete_...``), ``ctx.timestamp`` and
        ``ctx.watermark``. ``on_timer(key, timestamp, ctx)`` runs when a timer fires. Both
        return None, a dict or a list of dicts: the output records, keyed by the group. State
        and timers are kept in the store ``<group_by name>-process``."""
        store = f"{self.name}-process"
        if store in self._keyed._plan.stores:
            raise ConfigError(
                f"group_by name {self.name!r} already has a process() (store {store!r}); "
                "group again with group_by(..., name='another-name') for a second"
            )
        for name, f in (("fn", fn), ("on_timer", on_timer)):
            if f is not None and not callable(f):
                raise ConfigError(f"process({name}=...) needs a function, got {type(f).__name__}")
        self._keyed._store(True, store, "process")
        self._carry_watermarks()
        return self._keyed._then("process", {"function": fn, "on_timer": on_timer, "store": store})

    def _carry_watermarks(self) -> None:
        """Windows and timers follow: the re-keying step sends watermark markers along."""
        if self._key_step is not None:
            self._keyed._plan.set(self._key_step, "watermarks", True)

    def __repr__(self) -> str:
        return f"GroupBy({', '.join(map(repr, self.columns))}, name={self.name!r})"


class Windowed(Generic[F]):
    """A grouped stream cut into windows: :meth:`agg` aggregates each group's windows,
    :meth:`late` is the stream of records that came too late for theirs."""

    def __init__(
        self,
        group: GroupBy[F],
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
        self._node: str | None = None  # the plan step of agg(...)
        self._late: str | None = None  # the plan step of late()

    def agg(self, **aggs: Aggregation) -> F:
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
        if store in keyed._plan.stores:
            raise ConfigError(
                f"group_by name {group.name!r} already has a {self.window.kind} window (store "
                f"{store!r}); group again with group_by(..., name='another-name') for a second"
            )
        keyed._store(True, store, "window")
        window = self.window
        params = {
            "by": group.columns,
            "window": {
                "kind": window.kind,
                "size": window.size,
                "step": window.step,
                "gap": window.gap,
            },
            "aggregations": {name: a.spec() for name, a in checked.items()},
            "store": store,
            "emit": self.emit,
            "allowed_lateness_ms": self.lateness_ms,
            "early_every_s": self.early_every,
        }
        group._carry_watermarks()
        out = keyed._then(
            "window", params, [*group.columns, "window_start", "window_end", *checked]
        )
        self._node = out._node
        return out

    @property
    def late_records(self) -> int:
        """How many late records this window has met in this process (a metric)."""
        if self._node is None:
            return 0
        return self._group._keyed._step_metric(self._node, "late_records")

    def apply_window(self, fn: Callable[[Any], Any], name: str = "result") -> F:
        """``fn(records)`` per window, with the window's records as a pandas DataFrame in
        event-time order; its result goes in the column ``name``."""
        from headwater.dataframe.aggregations import apply_window

        return self.agg(**{name: apply_window(fn)})

    def late(self) -> F:
        """The records that arrived after every window they belong to had closed, as they
        were read (send them to a topic, count them...). Without it they are dead letters."""
        if self._node is None:
            raise ConfigError(
                "call late() after agg(...): the late records are those of the window's aggregation"
            )
        keyed = self._group._keyed
        if self._late is None:
            self._late = keyed._plan.add(self._node, "late", {})
        return keyed._derived(keyed.topic, self._late)


def group_by(sdf: F, by: tuple[Any, ...], name: str | None, repartition: bool) -> GroupBy[F]:
    """Add the re-keying step after ``sdf`` and, when repartitioning, the pipeline root that
    reads the repartition topic; see :meth:`StreamingDataFrame.group_by`."""
    groups = _group_expressions(by)
    name = name if name is not None else "-".join(groups)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"group_by name {name!r} is invalid: it names the repartition topic and the state "
            "store, so use 1-100 letters, digits, '.', '_' or '-', "
            "e.g. group_by(..., name='by-customer')"
        )
    plan = sdf._plan
    topic = None
    if repartition:
        # Partitions here serve local runs; a live app gives it its input's partition count.
        topic = Topic(
            f"{plan.app}-{name}-repartition",
            key="json",
            value="json",
            partitions=sdf.topic.partitions,
        )
    params = {
        "by": groups,
        "name": name,
        "topic": None if topic is None else topic.name,
        "watermarks": False,
    }
    if topic is not None and (topic.name in plan.sources or topic.name in plan.topics):
        raise ConfigError(
            f"topic {topic.name!r} is already used by this app; two group_by() calls have "
            "the same name: give one group_by(..., name='...') another"
        )
    step = plan.add(sdf._node, "group_by", params)
    if topic is None:
        keyed = sdf._derived(sdf.topic, step)
    else:
        keyed = sdf._derived(topic, plan.source(topic, upstream=sdf.topic))
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
