"""App: the entry point that owns topics, pipelines and the connection to the cluster."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from headwater.dataframe.dataframe import LocalData, StreamingDataFrame
from headwater.dataframe.tables import GlobalTable, Table
from headwater.environment import UNTIL_ENV
from headwater.errors import ConfigError
from headwater.kafka.settings import KafkaSettings
from headwater.plan import Plan, PlanBuilder
from headwater.runtime.compile import compile_plan
from headwater.runtime.graph import Node, describe
from headwater.runtime.loop.settings import Guarantee, OnError, RunSettings
from headwater.runtime.operators.steps import Operator
from headwater.serde.codecs import Serde
from headwater.topic import Topic

if TYPE_CHECKING:
    import pandas as pd

    from headwater.runtime.loop.history import HistoryResult
    from headwater.runtime.loop.local import LocalResult
    from headwater.runtime.loop.runner import Runner

__all__ = ["App", "Guarantee", "OnError"]
_APP_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class App:
    """A Headwater application: one consumer group reading its input topics.

    >>> app = App("orders-app", broker="localhost:9092")
    >>> orders = app.topic("orders", key="str", value="json")
    >>> sdf = app.dataframe(orders)
    >>> sdf = sdf[sdf["amount"] > 10]
    >>> sdf["amount_eur"] = sdf["amount"] * 0.9
    >>> _ = sdf.to_topic(app.topic("big-orders"))
    >>> [step["kind"] for step in app.topology()["steps"]]
    ['source', 'filter', 'assign', 'to_topic']
    >>> [n["kind"] for n in app.describe()["nodes"]]
    ['source', 'filter', 'assign', 'to_topic']

    ``on_error="dead-letter"`` (the default) sends a record that fails to decode or makes user
    code raise to the dead-letter topic (``<name>.dlq`` unless ``dead_letter_topic`` is given)
    with the reason and origin in its headers; ``on_error="raise"`` stops the app instead.

    ``standby_replicas=1`` makes each replica keep warm copies of stores of partitions other
    replicas own (tailing their changelogs), so a failover replays only a short tail.
    """

    def __init__(
        self,
        name: str,
        broker: str | KafkaSettings | None = None,
        *,
        on_error: OnError = "dead-letter",
        dead_letter_topic: str | None = None,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        commit_interval: float | None = None,
        max_batch_records: int = 10_000,
        max_batch_wait: float = 0.1,
        consumer_config: dict[str, Any] | None = None,
        producer_config: dict[str, Any] | None = None,
        create_topics: bool = True,
        guarantee: Guarantee = "at-least-once",
        state_dir: str | Path = "state",
        standby_replicas: int = 0,
    ) -> None:
        if not isinstance(name, str) or not _APP_NAME.match(name):
            raise ConfigError(
                f"app name {name!r} is invalid: use 1-200 letters, digits, '.', '_' or '-' "
                "(it is the consumer group id and prefixes the dead-letter topic)"
            )
        if guarantee not in ("at-least-once", "exactly-once"):
            raise ConfigError(f"guarantee={guarantee!r}: use 'at-least-once' or 'exactly-once'")
        if on_error not in ("dead-letter", "raise"):
            raise ConfigError(f"on_error={on_error!r}: use 'dead-letter' or 'raise'")
        if auto_offset_reset not in ("earliest", "latest"):
            raise ConfigError(
                f"auto_offset_reset={auto_offset_reset!r}: use 'earliest' or 'latest'"
            )
        if commit_interval is None:
            # Under exactly-once, outputs become visible when their transaction commits: a
            # short interval is the latency read_committed readers see (Kafka Streams' too).
            commit_interval = 0.1 if guarantee == "exactly-once" else 5.0
        _positive("commit_interval", commit_interval)
        _positive("max_batch_wait", max_batch_wait)
        if not isinstance(max_batch_records, int) or max_batch_records < 1:
            raise ConfigError("max_batch_records must be an integer >= 1")
        if (
            not isinstance(standby_replicas, int)
            or isinstance(standby_replicas, bool)
            or standby_replicas < 0
        ):
            raise ConfigError(
                f"standby_replicas={standby_replicas!r}: give an integer >= 0 (0: no standbys; "
                "1: each stateful partition keeps a warm copy on one other replica)"
            )
        self.name = name
        self.settings = KafkaSettings.coerce(broker)
        self.on_error: OnError = on_error
        self.dead_letter_topic = (
            Topic(dead_letter_topic or f"{name}.dlq", key="bytes", value="bytes")
            if on_error == "dead-letter"
            else None
        )
        self.auto_offset_reset = auto_offset_reset
        self.commit_interval = commit_interval
        self.max_batch_records = max_batch_records
        self.max_batch_wait = max_batch_wait
        self.consumer_config = dict(consumer_config or {})
        self.producer_config = dict(producer_config or {})
        self.create_topics = create_topics
        self.guarantee: Guarantee = guarantee
        self.state_dir = Path(state_dir)
        self.standby_replicas = standby_replicas
        self._builder = PlanBuilder(name, self.dead_letter_topic)
        # The operators of the latest local run, for their metrics (``late_records``).
        self._operators: dict[str, Operator] = {}
        self._runner: Runner | None = None

    def topic(
        self,
        name: str,
        *,
        key: str | Serde = "str",
        value: str | Serde = "json",
        timestamp: str | None = None,
        partitions: int = 1,
        replication: int = 1,
        config: dict[str, str] | None = None,
    ) -> Topic:
        """Declare a topic: its serializers, event-time field, and settings for creating it."""
        topic = Topic(name, key, value, timestamp, partitions, replication, dict(config or {}))
        return self._builder.declare(topic)

    def dataframe(self, topic: Topic | str) -> StreamingDataFrame:
        """A StreamingDataFrame over ``topic``; one per input topic."""
        if isinstance(topic, str):
            topic = self._builder.topics.get(topic) or self.topic(topic)
        if topic.name in self._builder.sources:
            raise ConfigError(
                f"app.dataframe({topic.name!r}) was already called; reuse that DataFrame "
                "(branches are made by calling methods on it twice)"
            )
        root = self._builder.source(topic)
        return StreamingDataFrame(self, topic, root)

    def global_table(self, topic: Topic | str, *, name: str | None = None) -> GlobalTable:
        """A global table over the compacted ``topic``: every replica reads all its partitions
        into a local copy before processing any record, then keeps it updated; a null value
        deletes its key. Join it with ``sdf.join_table(table, on=...)`` (docs/joins.md)."""
        if isinstance(topic, str):
            topic = self._builder.topics.get(topic) or self.topic(topic)
        table = GlobalTable(name or topic.name, topic)
        self._builder.register_global_table(table.name, topic)
        return table

    def table(self, topic: Topic | str, *, name: str | None = None) -> Table:
        """A table over the compacted ``topic``, co-partitioned with the streams that join it:
        each replica keeps the rows of the partitions it is assigned, in a store restored like
        any other; a null value deletes its key. Join it with ``sdf.join_table(table)``; the
        stream must have as many partitions and be keyed alike (docs/joins.md)."""
        if isinstance(topic, str):
            topic = self._builder.topics.get(topic) or self.topic(topic)
        if topic.name in self._builder.sources:
            raise ConfigError(
                f"app.table({topic.name!r}): the topic is already read by this app; a table "
                "reads its topic alone"
            )
        return Table(name or topic.name, topic, self._builder.source(topic, table=True))

    @property
    def plan_builder(self) -> PlanBuilder:
        """The plan the app's DataFrames add their steps to."""
        return self._builder

    def plan(self) -> Plan:
        """The app's pipelines as a logical plan (see docs/topology.md): steps with JSON
        parameters, ``to_json()`` and ``Plan.from_json(doc, plan.callables.entries())``."""
        return self._builder.plan()

    def run_settings(self) -> RunSettings:
        """How the app runs (everything but its plan), as the runtime takes it."""
        return RunSettings(
            kafka=self.settings,
            on_error=self.on_error,
            auto_offset_reset=self.auto_offset_reset,
            commit_interval=self.commit_interval,
            max_batch_records=self.max_batch_records,
            max_batch_wait=self.max_batch_wait,
            consumer_config=dict(self.consumer_config),
            producer_config=dict(self.producer_config),
            create_topics=self.create_topics,
            guarantee=self.guarantee,
            state_dir=self.state_dir,
            standby_replicas=self.standby_replicas,
        )

    @property
    def input_topics(self) -> list[Topic]:
        return [self._builder.topics[name] for name in self._builder.sources]

    @property
    def output_topics(self) -> list[Topic]:
        return list(self._builder.outputs.values())

    @property
    def internal_topics(self) -> dict[str, str]:
        """Topics the app keeps itself (``group_by`` repartition topics), each mapped to the
        topic whose partition count it is created with; created at start-up, before inputs are
        checked."""
        return dict(self._builder.internal)

    def pipelines(self) -> dict[str, Node]:
        """The plan compiled: per input topic, the root of its operator tree."""
        return compile_plan(self.plan())

    def topology(self) -> dict[str, Any]:
        """The app's logical plan as JSON (``app.plan().to_json()``): every step with its
        kind, parameters and inputs; ``Plan.from_json`` with the plan's callable table gives the
        same plan back (see docs/topology.md)."""
        return self.plan().to_json()

    def describe(self) -> dict[str, Any]:
        """The compiled pipelines as the platform draws them: inputs, operators with their
        labels, outputs (a stable, versioned JSON document)."""
        dlq = self.dead_letter_topic.name if self.dead_letter_topic else None
        return describe(self.name, list(self.pipelines().values()), dlq)

    def run(self, until: str | int | datetime | None = None) -> None:
        """Process until SIGINT / SIGTERM or :meth:`stop`, then finish the batch and commit.

        ``until="end"`` makes a bounded run: it reads every input to the end it had at start,
        closes every window and fires every timer, commits and returns. ``until`` a time
        (epoch ms, ISO 8601 text or a datetime) also stops each input partition at its first
        record past that event time, and closes the windows that end by then. Without
        ``until``, ``$HEADWATER_UNTIL`` (set by ``headwater run --until``) is used if set.
        """
        from headwater.runtime.loop.bounds import Until, parse_until
        from headwater.runtime.loop.runner import Runner

        if not self._builder.sources:
            raise ConfigError("the app has no pipeline: call app.dataframe(topic) first")
        bound: Until | None = None
        if until is not None:
            bound = parse_until(until)
        elif os.environ.get(UNTIL_ENV):
            bound = parse_until(os.environ[UNTIL_ENV], UNTIL_ENV)
        self._runner = Runner(self.plan(), self.run_settings(), until=bound)
        try:
            self._runner.run()
        finally:
            self._runner = None

    def run_history(
        self, inputs: dict[str, Any], sinks: dict[str, Any] | None = None
    ) -> HistoryResult:
        """Run the app's pipelines over history, without a broker: ``inputs`` names per input
        topic what to read instead (a :mod:`headwater.sources` source, or a pandas / Polars
        DataFrame holding the topic's ``timestamp`` field); ``sinks`` per output topic where
        its records go instead of the result (a :mod:`headwater.sinks` sink). The run ends as
        ``run(until="end")`` does: every window closes and every timer fires.

        Returns a :class:`~headwater.runtime.loop.history.HistoryResult`: a Polars DataFrame
        per output topic without a sink, and the dead letters (see docs/history.md).
        """
        from headwater.runtime.loop.history import run_history

        if not self._builder.sources:
            raise ConfigError("the app has no pipeline: call app.dataframe(topic) first")
        return run_history(self.plan(), self.run_settings(), inputs, sinks)

    def stop(self) -> None:
        """Ask a running app to stop after its current batch (safe from any thread)."""
        runner = self._runner
        if runner is not None:
            runner.stop()

    def test(self, inputs: dict[str, Any]) -> Any:
        """Run every pipeline in-process: ``inputs`` maps topic names to lists of values.

        Returns a :class:`~headwater.runtime.loop.local.LocalResult` with ``outputs`` (a pandas
        DataFrame per output topic) and ``dead_letters``.
        """
        return self.run_local({name: (data, None, None) for name, data in inputs.items()})

    def run_local(self, inputs: dict[str, LocalData], tap: str | None = None) -> LocalResult:
        """Run the plan in-process: ``inputs`` maps topic names to (values, keys or None,
        timestamps or None); ``tap`` names a step whose output the result's ``tapped`` holds."""
        from headwater.runtime.loop.local import run_local  # pandas: loaded when a test needs it

        plan = self.plan()
        roots = compile_plan(plan)
        self._operators = {n.id: n.operator for root in roots.values() for n in root.walk()}
        return run_local(plan, self.run_settings(), inputs, tap, roots)

    def run_test(self, inputs: dict[str, LocalData], tap: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """For ``sdf.test``: the records step ``tap`` outputs, and the dead letters."""
        result = self.run_local(inputs, tap)
        return result.tapped, result.dead_letters

    def step_metric(self, step: str, name: str) -> int:
        """A metric (``late_records``) of step ``step``'s operator in the latest local run."""
        return int(getattr(self._operators.get(step), name, 0))

    @property
    def stores(self) -> dict[str, Topic]:
        """Every state store of the app and the input topic it is kept per partition of."""
        return dict(self._builder.stores)


def _positive(name: str, value: float) -> None:
    if not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{name} must be a number of seconds > 0, got {value!r}")
