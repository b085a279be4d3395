"""The plan as an app's DataFrames build it: steps added one by one, topics and stores named."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from headwater.errors import ConfigError
from headwater.plan.plan import Plan, Step
from headwater.plan.values import CallableTable, encode
from headwater.topic import Topic

# Steps whose output has the columns of their input.
_SAME_COLUMNS = {
    "filter",
    "set_key",
    "set_timestamp",
    "set_headers",
    "to_topic",
    "print",
    "late",
}


class PlanBuilder:
    """Collects an app's steps; :meth:`plan` gives the plan as it stands."""

    def __init__(self, app: str, dead_letter_topic: Topic | None) -> None:
        self.app = app
        self.dead_letter_topic = dead_letter_topic
        self.topics: dict[str, Topic] = {}
        self.sources: dict[str, str] = {}  # topic read -> its source step
        self.outputs: dict[str, Topic] = {}
        self.stores: dict[str, Topic] = {}
        self.internal: dict[str, str] = {}
        self.global_tables: dict[str, Topic] = {}
        self._steps: dict[str, Step] = {}
        self._callables = CallableTable()
        self._ids = itertools.count()

    def declare(self, topic: Topic) -> Topic:
        known = self.topics.get(topic.name)
        if known is not None and known != topic:
            raise ConfigError(f"topic {topic.name!r} is declared twice with different settings")
        self.topics[topic.name] = topic
        return topic

    def source(self, topic: Topic, *, upstream: Topic | None = None, table: bool = False) -> str:
        """The step starting the pipeline of ``topic`` (a repartition topic fed from
        ``upstream`` when that is given; a table's topic, whose tombstones it keeps, when
        ``table``)."""
        params: dict[str, Any] = {"topic": topic.name, "watermarks": None}
        if upstream is not None:
            params["internal"] = True
            self.internal[topic.name] = upstream.name
        if table:
            params["table"] = True
        self.topics.setdefault(topic.name, topic)
        step = self._new("source", [], params)
        self.sources[topic.name] = step
        return step

    def add(
        self, input: str, kind: str, params: dict[str, Any], schema: list[str] | None = None
    ) -> str:
        """A step reading the output of step ``input``; ``params`` may hold expressions and
        callables (they are kept by reference, see :mod:`headwater.plan.values`). ``schema``:
        the output's value columns, when the step sets them all (an aggregation)."""
        return self._new(kind, [input], params, schema)

    def add_join(
        self,
        left: str,
        right: str,
        kind: str,
        params: dict[str, Any],
        schema: list[str] | None = None,
    ) -> str:
        """A step reading the outputs of steps ``left`` and ``right`` (a join)."""
        return self._new(kind, [left, right], params, schema)

    def set(self, step: str, name: str, value: Any) -> None:
        """Configure a step after it was added (``with_watermarks`` on a pipeline's source)."""
        self._steps[step].params[name] = encode(value, self._callables)

    def get(self, step: str, name: str) -> Any:
        return self._steps[step].params.get(name)

    def kind(self, step: str) -> str:
        return self._steps[step].kind

    def columns(self, step: str) -> list[str] | None:
        """The value columns out of ``step`` where the plan knows them."""
        return self._steps[step].schema

    def root(self, step: str) -> str:
        """The source step of the pipeline ``step`` belongs to."""
        while self._steps[step].inputs:
            step = self._steps[step].inputs[0]
        return step

    def register_store(self, name: str, topic: Topic) -> None:
        known = self.stores.get(name)
        if known is not None and known.name != topic.name:
            raise ConfigError(
                f"store {name!r} is used by the pipelines of topics {known.name!r} and "
                f"{topic.name!r}; give one of them another name with store='...'"
            )
        self.stores[name] = topic

    def register_global_table(self, name: str, topic: Topic) -> None:
        known = self.global_tables.get(name)
        if known is not None and known.name != topic.name:
            raise ConfigError(
                f"global table {name!r} is declared for topics {known.name!r} and "
                f"{topic.name!r}; give one of them another name with name='...'"
            )
        if topic.name in self.sources:
            raise ConfigError(
                f"topic {topic.name!r} is read as a stream and as a global table; a table's "
                "topic is read whole by every member, so read it one way"
            )
        self.declare(topic)
        self.global_tables[name] = topic

    def register_output(self, topic: Topic) -> None:
        self.topics.setdefault(topic.name, topic)
        self.outputs[topic.name] = topic

    def plan(self) -> Plan:
        """A copy of the plan so far (later steps do not change it)."""
        return Plan(
            app=self.app,
            steps=[copy.deepcopy(s) for s in self._steps.values()],
            topics=dict(self.topics),
            outputs=list(self.outputs),
            stores={name: topic.name for name, topic in self.stores.items()},
            internal_topics=dict(self.internal),
            dead_letter_topic=self.dead_letter_topic,
            callables=CallableTable(self._callables.entries()),
            global_tables={name: topic.name for name, topic in self.global_tables.items()},
        )

    def _new(
        self,
        kind: str,
        inputs: list[str],
        params: dict[str, Any],
        schema: list[str] | None = None,
    ) -> str:
        if schema is None:
            schema = _schema(kind, params, [self._steps[i].schema for i in inputs])
        step = Step(f"n{next(self._ids)}", kind, inputs, encode(params, self._callables), schema)
        self._steps[step.id] = step
        return step.id


def _schema(kind: str, params: dict[str, Any], inputs: list[list[str] | None]) -> list[str] | None:
    """The output's value columns where the step and its input tell them."""
    if kind == "select":
        return list(params["columns"])
    columns = inputs[0] if inputs else None
    if columns is None:
        return None
    if kind in _SAME_COLUMNS:
        return list(columns)
    if kind == "assign":
        return [*columns, *(c for c in params["columns"] if c not in columns)]
    if kind == "drop":
        return [c for c in columns if c not in params["columns"]]
    if kind == "rename":
        renamed = dict(params["columns"])
        return [renamed.get(c, c) for c in columns]
    if kind == "group_by":
        return [*columns, *(c for c in params["by"] if c not in columns)]
    if kind in ("predict", "learn"):
        added = [params["prefix"] + c for c in params["outputs"]]
        return [*columns, *(c for c in added if c not in columns)]
    return None
