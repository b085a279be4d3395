"""What a user looks at in a Kafka cluster besides topic listings: consumer groups (members,
assignment, lag per partition) and a topic's settings (configuration, partitions), which
editors change where the broker allows."""

from __future__ import annotations

import time
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from headwater.errors import BrokerError, ConfigError
from headwater.kafka.topic_settings import KEYED_DATA_WARNING, TopicSettings
from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES, ErrorOut
from headwater.platform.api.metrics import SeriesOut
from headwater.platform.api.schemas import Integer
from headwater.platform.api.topics import ClusterName, TopicPath
from headwater.platform.auth.roles import Role
from headwater.platform.errors import Invalid, NotFound, Unavailable
from headwater.platform.metrics import KEEP_SECONDS, SAMPLE_SECONDS
from headwater.platform.topics import ClusterView

router = APIRouter(
    prefix="/api",
    tags=["kafka"],
    responses={
        **ERROR_RESPONSES,
        502: {"model": ErrorOut, "description": "The Kafka cluster did not answer"},
    },
)
GroupPath = Annotated[str, Path(min_length=1, max_length=255, description="the group's id")]
# The settings the Topics page edits; others are shown, and changed with the broker's tools.
Editable = Literal["retention.ms", "retention.bytes", "cleanup.policy", "min.insync.replicas"]
EDITABLE: tuple[str, ...] = get_args(Editable)


class MemberOut(BaseModel):
    member_id: str
    client_id: str
    host: str
    assignment: list[tuple[str, int]] = Field(description="(topic, partition) pairs")


class GroupPartitionLagOut(BaseModel):
    topic: str
    partition: int
    committed: int
    end: int
    lag: int
    member: str | None = Field(description="the member the partition is assigned to")


class GroupDetailOut(BaseModel):
    group: str
    state: str
    members: list[MemberOut]
    partitions: list[GroupPartitionLagOut]
    lag: int


class GroupSummaryOut(BaseModel):
    group: str
    state: str
    members: int
    topics: list[str] = Field(description="topics the group has committed offsets on")
    lag: int = Field(description="records of those topics it has not committed, all partitions")


class GroupLagHistoryOut(BaseModel):
    cluster: str
    group: str
    sample_seconds: float = Field(description="how often lag is sampled")
    keep_seconds: float = Field(description="how far back series go")
    series: list[SeriesOut] = Field(
        description="lag per partition, labelled topic and partition, oldest point first"
    )


class ConfigEntryOut(BaseModel):
    value: str | None
    default: bool
    read_only: bool
    editable: bool = Field(description="one the Topics page edits")


class TopicConfigOut(BaseModel):
    topic: str
    partitions: int
    config: dict[str, ConfigEntryOut]
    keyed_data_warning: str = Field(description="what growing the partitions does to keyed data")


class TopicConfigPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: dict[Editable, str | None] = Field(
        min_length=1,
        description="keys to set; null hands a key back to the broker's default; others stay",
        examples=[{"retention.ms": "86400000", "cleanup.policy": "delete"}],
    )


class PartitionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partitions: Integer = Field(ge=1, le=10_000, description="the new total, above the current")
    accept_key_remapping: bool = Field(
        default=False, description=f"must be true: {KEYED_DATA_WARNING}"
    )


def _unavailable(exc: BrokerError) -> Unavailable:
    return Unavailable(str(exc))


@router.get("/groups", response_model=list[GroupSummaryOut], **secured(Role.viewer))
def list_groups(context: Context, cluster: ClusterName = None) -> list[GroupSummaryOut]:
    """Every consumer group of the cluster with its state, member count and total lag."""
    _, settings = context.clusters.resolve(cluster)
    view = ClusterView(settings)
    try:
        counts = view.partitions()
        committed = view.group_offsets()
        described = view.describe_groups(list(committed))
        read = {t for offsets in committed.values() for t, _ in offsets}
        ends = {
            (t, p.partition): p.high
            for t, parts in view.offsets({t: n for t, n in counts.items() if t in read}).items()
            for p in parts
        }
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    found = []
    for group, offsets in committed.items():
        description = described.get(group)
        found.append(
            GroupSummaryOut(
                group=group,
                state=description.state if description else "unknown",
                members=len(description.members) if description else 0,
                topics=sorted({t for t, _ in offsets}),
                lag=sum(max(0, ends.get(tp, offset) - offset) for tp, offset in offsets.items()),
            )
        )
    return found


@router.get("/groups/{group}/lag", response_model=GroupLagHistoryOut, **secured(Role.viewer))
def group_lag_history(
    group: GroupPath,
    context: Context,
    cluster: ClusterName = None,
    minutes: Annotated[
        int, Query(ge=1, le=int(KEEP_SECONDS // 60), description="how far back, in minutes")
    ] = int(KEEP_SECONDS // 60),
) -> GroupLagHistoryOut:
    """The group's lag per partition over time, as the platform sampled it (every few seconds,
    kept for an hour): empty series until the group has been sampled."""
    name, _ = context.clusters.resolve(cluster)
    since = time.time() - minutes * 60
    found = context.metrics.store.group(name, group)
    series = [
        SeriesOut(name=metric, labels=dict(labels), points=recent)
        for (metric, labels), points in found.items()
        if metric == "lag" and (recent := [p for p in points if p[0] >= since])
    ]
    series.sort(key=lambda s: (s.labels.get("topic", ""), int(s.labels.get("partition", "0"))))
    return GroupLagHistoryOut(
        cluster=name,
        group=group,
        sample_seconds=SAMPLE_SECONDS,
        keep_seconds=KEEP_SECONDS,
        series=series,
    )


@router.get("/groups/{group}", response_model=GroupDetailOut, **secured(Role.viewer))
def get_group(group: GroupPath, context: Context, cluster: ClusterName = None) -> GroupDetailOut:
    """A consumer group: its state, members with their partitions, and lag per partition."""
    name, settings = context.clusters.resolve(cluster)
    view = ClusterView(settings)
    try:
        counts = view.partitions()  # first: a cluster that does not answer says so here
        committed = view.group_offsets().get(group)
        described = view.describe_groups([group]).get(group)
        if committed is None and (described is None or not described.members):
            raise NotFound(f"no consumer group {group!r} on cluster {name!r}")
        committed = committed or {}
        topics = sorted({t for t, _ in committed})
        counts = {t: n for t, n in counts.items() if t in topics}
        ends = {
            (t, p.partition): p.high for t, parts in view.offsets(counts).items() for p in parts
        }
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    owner = {
        tp: member.client_id or member.member_id
        for member in (described.members if described else ())
        for tp in member.assignment
    }
    partitions = [
        GroupPartitionLagOut(
            topic=topic,
            partition=partition,
            committed=offset,
            end=ends.get((topic, partition), offset),
            # Watermarks can trail the log end on some brokers: never a negative lag.
            lag=max(0, ends.get((topic, partition), offset) - offset),
            member=owner.get((topic, partition)),
        )
        for (topic, partition), offset in sorted(committed.items())
    ]
    return GroupDetailOut(
        group=group,
        state=described.state if described else "unknown",
        members=[
            MemberOut(
                member_id=m.member_id,
                client_id=m.client_id,
                host=m.host,
                assignment=list(m.assignment),
            )
            for m in (described.members if described else ())
        ],
        partitions=partitions,
        lag=sum(p.lag for p in partitions),
    )


def _config(context: Context, topic: str, cluster: str | None) -> TopicConfigOut:
    name, settings = context.clusters.resolve(cluster)
    view = ClusterView(settings)
    try:
        counts = view.partitions()
        if topic not in counts:
            raise NotFound(f"no topic {topic!r} on cluster {name!r}; list topics to see them")
        entries = TopicSettings(settings).config(topic)
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    return TopicConfigOut(
        topic=topic,
        partitions=counts[topic],
        config={
            key: ConfigEntryOut(
                value=None if entry.sensitive else entry.value,
                default=entry.default,
                read_only=entry.read_only,
                editable=key in EDITABLE and not entry.read_only,
            )
            for key, entry in entries.items()
        },
        keyed_data_warning=KEYED_DATA_WARNING,
    )


@router.get("/topics/{name}/config", response_model=TopicConfigOut, **secured(Role.viewer))
def get_topic_config(
    name: TopicPath, context: Context, cluster: ClusterName = None
) -> TopicConfigOut:
    """Every configuration entry of the topic, which of them are the broker's defaults, and
    its partition count."""
    return _config(context, name, cluster)


@router.patch("/topics/{name}/config", response_model=TopicConfigOut, **secured(Role.editor))
def change_topic_config(
    name: TopicPath, body: TopicConfigPatch, context: Context, cluster: ClusterName = None
) -> TopicConfigOut:
    """Change some settings (IncrementalAlterConfigs): the others keep their values."""
    unknown = sorted(set(body.config) - set(EDITABLE))
    if unknown:
        message = f"{', '.join(unknown)} cannot be changed here; editable: {', '.join(EDITABLE)}"
        raise Invalid(message, [{"field": f"config.{key}", "message": message} for key in unknown])
    _config(context, name, cluster)  # 404 before a change to a topic that is not there
    _, settings = context.clusters.resolve(cluster)
    try:
        changes: dict[str, str | None] = {str(key): value for key, value in body.config.items()}
        TopicSettings(settings).alter(name, changes)
    except ConfigError as exc:
        raise Invalid(str(exc), [{"field": "config", "message": str(exc)}]) from exc
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    return _config(context, name, cluster)


@router.post("/topics/{name}/partitions", response_model=TopicConfigOut, **secured(Role.editor))
def grow_partitions(
    name: TopicPath, body: PartitionsIn, context: Context, cluster: ClusterName = None
) -> TopicConfigOut:
    """Grow the topic to `partitions` partitions; `accept_key_remapping` must acknowledge what
    that does to keyed data."""
    current = _config(context, name, cluster).partitions
    if not body.accept_key_remapping:
        message = f"confirm with accept_key_remapping: {KEYED_DATA_WARNING}"
        raise Invalid(message, [{"field": "accept_key_remapping", "message": message}])
    if body.partitions <= current:
        message = f"the topic has {current} partitions; give more (partitions never shrink)"
        raise Invalid(message, [{"field": "partitions", "message": message}])
    _, settings = context.clusters.resolve(cluster)
    try:
        TopicSettings(settings).grow_partitions(name, body.partitions)
    except ConfigError as exc:
        raise Invalid(str(exc), [{"field": "partitions", "message": str(exc)}]) from exc
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    return _config(context, name, cluster)
