"""The pipeline graph of one cluster: deployments and outside producers / consumer groups as
nodes, topics as edges, each with its live figures.

``build_graph`` is pure: the route gathers deployments, replica reports and sampled metrics and
hands them over, so the assembly is tested without a server or a broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from headwater.platform.deployments.status import DeploymentStatus
from headwater.platform.topics import is_internal

NodeKind = Literal["deployment", "app", "external_producer", "external_group", "sink"]
NodeStatus = DeploymentStatus | Literal["active", "idle", "not_deployed"]


@dataclass(frozen=True)
class DeploymentFacts:
    """One deployment as the graph needs it: the database row, its replicas' reports and the
    topics of its manifest entry (or of its running topology, which also names internal ones)."""

    id: int
    project: str
    app: str
    commit: str
    status: DeploymentStatus  # by the rule of deployments/status.py
    replicas: int  # desired
    running: int  # replicas ready now
    group: str | None  # the consumer group, once a replica reported it
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class AppFacts:
    """An app of the edited project's headwater.yaml with no deployment on the cluster: drawn
    between its topics so the canvas shows what the project holds, deployed or not."""

    project: str
    app: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class GroupTopic:
    """A consumer group on one topic: its lag and how fast it commits (records/s)."""

    lag: float
    consumed: float | None = None


@dataclass(frozen=True)
class TopicFacts:
    rate: float | None = None  # records/s written to the topic; None until sampled twice


@dataclass
class _Sum:
    """A sum that stays None until something is added."""

    value: float | None = None

    def add(self, more: float | None) -> None:
        if more is not None:
            self.value = (self.value or 0.0) + more


class GraphNode(BaseModel):
    # Every field is in each response: the generated web types need no `undefined`.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str = Field(
        description="deployment:ID, app:PROJECT/APP (not deployed), producer:TOPIC, group:NAME "
        "or sink:TOPIC"
    )
    kind: NodeKind
    label: str
    status: NodeStatus = Field(
        description="deployments: running, starting, degraded, failing or stopped, as the "
        "deployments API says; apps not deployed: not_deployed; others: active or idle"
    )
    deployment: int | None = None
    project: str | None = None
    app: str | None = None
    commit: str | None = None
    group: str | None = Field(default=None, description="the consumer group, if known")
    replicas: int | None = Field(default=None, description="desired replicas")
    running_replicas: int | None = None
    throughput_in: float | None = Field(
        default=None, description="records/s consumed from topics other nodes write"
    )
    throughput_out: float | None = Field(
        default=None, description="records/s written to topics other nodes read"
    )
    lag: float | None = Field(default=None, description="consumer lag over all inputs")


class GraphEdge(BaseModel):
    # Every field is in each response: the generated web types need no `undefined`.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str
    source: str = Field(description="the writing node's id")
    target: str = Field(description="the reading node's id")
    topic: str
    internal: bool = Field(description="a repartition, changelog or Kafka topic")
    rate: float | None = Field(description="records/s written to the topic; null until sampled")
    lag: float | None = Field(description="the reading group's lag on the topic, if known")


class Graph(BaseModel):
    cluster: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]


@dataclass
class _Builder:
    topics: dict[str, TopicFacts]
    groups: dict[str, dict[str, GroupTopic]]
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    producers: dict[str, list[str]] = field(default_factory=dict)  # topic -> node ids
    consumers: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    def rate(self, topic: str) -> float | None:
        return self.topics.get(topic, TopicFacts()).rate

    def deployment(self, facts: DeploymentFacts) -> None:
        node_id = f"deployment:{facts.id}"
        reads = self.groups.get(facts.group, {}) if facts.group else {}
        inputs, outputs = set(facts.inputs), set(facts.outputs)
        flow_in, flow_out, lag = _Sum(), _Sum(), _Sum()
        for topic in sorted(inputs):
            self.consumers.setdefault(topic, []).append((node_id, facts.group))
            if topic in reads:
                lag.add(reads[topic].lag)
                if topic not in outputs:  # its own repartition topics are not throughput
                    flow_in.add(reads[topic].consumed)
        for topic in sorted(outputs):
            self.producers.setdefault(topic, []).append(node_id)
            if topic not in inputs:
                flow_out.add(self.rate(topic))
        self.nodes[node_id] = GraphNode(
            id=node_id,
            kind="deployment",
            label=f"{facts.project}/{facts.app}",
            status=facts.status,
            deployment=facts.id,
            project=facts.project,
            app=facts.app,
            commit=facts.commit,
            group=facts.group,
            replicas=facts.replicas,
            running_replicas=facts.running,
            throughput_in=flow_in.value,
            throughput_out=flow_out.value,
            lag=lag.value,
        )

    def app(self, facts: AppFacts) -> None:
        node_id = f"app:{facts.project}/{facts.app}"
        for topic in sorted(set(facts.inputs)):
            self.consumers.setdefault(topic, []).append((node_id, None))
        for topic in sorted(set(facts.outputs)):
            self.producers.setdefault(topic, []).append(node_id)
        self.nodes[node_id] = GraphNode(
            id=node_id,
            kind="app",
            label=f"{facts.project}/{facts.app}",
            status="not_deployed",
            project=facts.project,
            app=facts.app,
        )

    def external_group(self, group: str, reads: dict[str, GroupTopic]) -> None:
        node_id = f"group:{group}"
        flow_in, lag = _Sum(), _Sum()
        for topic, figures in sorted(reads.items()):
            self.consumers.setdefault(topic, []).append((node_id, group))
            flow_in.add(figures.consumed)
            lag.add(figures.lag)
        self.nodes[node_id] = GraphNode(
            id=node_id,
            kind="external_group",
            label=group,
            status="active" if flow_in.value else "idle",
            group=group,
            throughput_in=flow_in.value,
            lag=lag.value,
        )

    def edges(self) -> list[GraphEdge]:
        found: list[GraphEdge] = []
        for topic in sorted(set(self.producers) | set(self.consumers)):
            rate = self.rate(topic)
            writers = self.producers.get(topic) or [self._end("producer", topic, rate)]
            readers = self.consumers.get(topic) or [(self._end("sink", topic, rate), None)]
            for source in writers:
                for target, group in readers:
                    figures = self.groups.get(group, {}).get(topic) if group else None
                    found.append(
                        GraphEdge(
                            id=f"{source}->{target}:{topic}",
                            source=source,
                            target=target,
                            topic=topic,
                            internal=is_internal(topic),
                            rate=rate,
                            lag=figures.lag if figures else None,
                        )
                    )
        return found

    def _end(self, kind: Literal["producer", "sink"], topic: str, rate: float | None) -> str:
        """A node for a topic's unknown writers (an outside producer) or for nobody reading."""
        node_id = f"{kind}:{topic}"
        self.nodes[node_id] = GraphNode(
            id=node_id,
            kind="external_producer" if kind == "producer" else "sink",
            label=topic,
            status="active" if rate else "idle",
            throughput_out=rate if kind == "producer" else None,
            throughput_in=rate if kind == "sink" else None,
        )
        return node_id


def build_graph(
    cluster: str,
    deployments: list[DeploymentFacts],
    topics: dict[str, TopicFacts],
    groups: dict[str, dict[str, GroupTopic]],
    apps: tuple[AppFacts, ...] = (),
) -> Graph:
    """The graph of ``cluster`` around its deployments: every deployment, every other consumer
    group that reads a topic a deployment reads or writes (with those topics), an outside
    producer for each such topic no deployment writes, and a sink for each topic a deployment
    writes that nobody reads. Groups on unrelated topics are left out: a shared cluster holds
    many, and they would bury the pipeline. ``groups`` maps a group to its figures per topic;
    ``topics`` the sampled write rates. ``apps`` (of a project being edited, not deployed on
    the cluster) are drawn like deployments without figures."""
    builder = _Builder(topics, groups)
    for facts in sorted(deployments, key=lambda d: d.id):
        builder.deployment(facts)
    for app in apps:
        builder.app(app)
    owned = {d.group for d in deployments if d.group}
    ends: list[DeploymentFacts | AppFacts] = [*deployments, *apps]
    touched = {t for d in ends for t in (*d.inputs, *d.outputs)}
    for group, reads in sorted(groups.items()):
        related = {topic: figures for topic, figures in reads.items() if topic in touched}
        if group not in owned and related:
            builder.external_group(group, related)
    edges = builder.edges()
    return Graph(cluster=cluster, nodes=sorted(builder.nodes.values(), key=_order), edges=edges)


def _order(node: GraphNode) -> tuple[int, str]:
    kinds = ("deployment", "app", "external_producer", "external_group", "sink")
    return kinds.index(node.kind), node.id
