"""The logical plan: what an app's pipelines do, as data.

A plan is a list of steps, each a kind (``filter``, ``window``...), JSON parameters and the ids
of the steps whose records it reads (one today; joins will read two). It names the topics the
app reads, writes and keeps, and the state stores of its steps. User code is kept aside in the
plan's callable table (see :mod:`headwater.plan.values`), so :meth:`Plan.to_json` is plain JSON
and :meth:`Plan.from_json` with the same table gives the plan back. The runtime compiles a plan
into operators (``headwater.runtime.compile``); nothing here knows how a step runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.errors import ConfigError
from headwater.plan.values import CallableTable, decode, encode
from headwater.topic import Topic

PLAN_VERSION = 1


@dataclass
class Step:
    """One step of a pipeline. ``params`` is JSON; ``schema`` the output's value columns when
    the plan knows them (after a ``select`` or an aggregation), else None."""

    id: str
    kind: str
    inputs: list[str]
    params: dict[str, Any]
    schema: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "inputs": list(self.inputs),
            "params": self.params,
            "schema": self.schema,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Step:
        schema = doc.get("schema")
        return cls(
            str(doc["id"]),
            str(doc["kind"]),
            [str(i) for i in doc["inputs"]],
            dict(doc["params"]),
            None if schema is None else [str(c) for c in schema],
        )


@dataclass
class Plan:
    """An app's pipelines: steps in the order they were added, and what they name."""

    app: str
    steps: list[Step]
    topics: dict[str, Topic]
    outputs: list[str]
    stores: dict[str, str]  # store -> the input topic it is kept per partition of
    internal_topics: dict[str, str]  # repartition topic -> the topic it re-keys
    dead_letter_topic: Topic | None
    callables: CallableTable = field(default_factory=CallableTable)
    # Global tables: name -> the topic every member reads whole into a local copy.
    global_tables: dict[str, str] = field(default_factory=dict)

    @property
    def sources(self) -> dict[str, Step]:
        """Per topic read, the ``source`` step that starts its pipeline."""
        return {s.params["topic"]: s for s in self.steps if s.kind == "source"}

    @property
    def input_topics(self) -> list[Topic]:
        """Every topic the app reads, its repartition topics included."""
        return [self.topics[name] for name in self.sources]

    @property
    def output_topics(self) -> list[Topic]:
        return [self.topics[name] for name in self.outputs]

    @property
    def store_topics(self) -> dict[str, Topic]:
        """Every state store and the input topic it is kept per partition of."""
        return {store: self.topics[topic] for store, topic in self.stores.items()}

    @property
    def joins(self) -> list[tuple[Step, str, str]]:
        """Every step with two inputs, and the topic each input comes from at the start (a
        repartition topic's upstream: they have as many partitions)."""
        return [
            (s, self._origin(s.inputs[0]), self._origin(s.inputs[1]))
            for s in self.steps
            if len(s.inputs) > 1
        ]

    def _origin(self, step_id: str) -> str:
        steps = {s.id: s for s in self.steps}
        step = steps[step_id]
        while step.inputs:
            step = steps[step.inputs[0]]
        topic = str(step.params["topic"])
        while topic in self.internal_topics:
            topic = self.internal_topics[topic]
        return topic

    @property
    def global_table_topics(self) -> dict[str, Topic]:
        """Every global table and the topic it is read from."""
        return {name: self.topics[topic] for name, topic in self.global_tables.items()}

    def children(self, step_id: str) -> list[Step]:
        return [s for s in self.steps if step_id in s.inputs]

    def value(self, step: Step, name: str) -> Any:
        """A parameter with its expressions and callables restored."""
        return decode(step.params[name], self.callables)

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON; :meth:`from_json` with :attr:`callables` rebuilds it."""
        return {
            "version": PLAN_VERSION,
            "app": self.app,
            "topics": [_topic_json(t, self.callables) for t in self.topics.values()],
            "steps": [s.to_json() for s in self.steps],
            "outputs": list(self.outputs),
            "stores": dict(self.stores),
            "internal_topics": dict(self.internal_topics),
            "global_tables": dict(self.global_tables),
            "dead_letter_topic": (
                None
                if self.dead_letter_topic is None
                else _topic_json(self.dead_letter_topic, self.callables)
            ),
            "callables": self.callables.names(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], callables: Mapping[str, Any]) -> Plan:
        """The plan ``doc`` describes, its user code taken from ``callables`` (id -> object,
        as :meth:`CallableTable.entries` of the original plan gives it)."""
        if doc.get("version") != PLAN_VERSION:
            raise ConfigError(
                f"plan version {doc.get('version')!r} is not {PLAN_VERSION}: describe the app "
                "again with this version of Headwater"
            )
        missing = sorted(set(doc["callables"]) - set(callables))
        if missing:
            raise ConfigError(
                f"the plan refers to callables {missing} that are not given; pass the table of "
                "the plan it was made from (plan.callables.entries())"
            )
        table = CallableTable(callables)
        dead = doc["dead_letter_topic"]
        return cls(
            app=str(doc["app"]),
            steps=[Step.from_json(s) for s in doc["steps"]],
            topics={t["name"]: _topic(t, table) for t in doc["topics"]},
            outputs=[str(o) for o in doc["outputs"]],
            stores={str(k): str(v) for k, v in doc["stores"].items()},
            internal_topics={str(k): str(v) for k, v in doc["internal_topics"].items()},
            dead_letter_topic=None if dead is None else _topic(dead, table),
            callables=table,
            global_tables={str(k): str(v) for k, v in doc.get("global_tables", {}).items()},
        )


def _topic_json(topic: Topic, table: CallableTable) -> dict[str, Any]:
    return {
        "name": topic.name,
        "key": encode(topic.key, table),
        "value": encode(topic.value, table),
        "timestamp": topic.timestamp,
        "partitions": topic.partitions,
        "replication": topic.replication,
        "config": dict(topic.config),
    }


def _topic(doc: Mapping[str, Any], table: CallableTable) -> Topic:
    return Topic(
        doc["name"],
        key=decode(doc["key"], table),
        value=decode(doc["value"], table),
        timestamp=doc["timestamp"],
        partitions=doc["partitions"],
        replication=doc["replication"],
        config=dict(doc["config"]),
    )
