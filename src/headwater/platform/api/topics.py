"""Topics of a Kafka cluster: everyone reads them, editors create them, admins delete them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.errors import BrokerError, ConfigError, TopicExistsError
from headwater.kafka.admin import TopicAdmin
from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES, ErrorOut
from headwater.platform.api.schemas import NAME, Integer, OkOut, described_pattern
from headwater.platform.auth.roles import Role
from headwater.platform.errors import Conflict, Invalid, NotFound, PlatformError, Unavailable
from headwater.platform.kafka_log import KAFKA_LOG
from headwater.platform.topics import RATE_WINDOW_SECONDS, ClusterView, summary
from headwater.topic import Topic

router = APIRouter(
    prefix="/api/topics",
    tags=["topics"],
    responses={
        **ERROR_RESPONSES,
        502: {"model": ErrorOut, "description": "The Kafka cluster did not answer"},
    },
)
TOPIC_NAME = described_pattern(r"^[A-Za-z0-9._-]{1,249}$", "letters, digits and . _ -, at most 249")
TopicPath = Annotated[str, Path(pattern=TOPIC_NAME, description="the topic's name")]
ClusterName = Annotated[
    str | None,
    Query(
        pattern=NAME,
        description=(
            "the cluster to use; by default the one named `default`, else the only one configured"
        ),
    ),
]


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOPIC_NAME, description="letters, digits and . _ -, at most 249")
    # A partition costs the cluster files and memory on every replica; a single request for
    # thousands is a typo more often than a plan (and takes a one-node cluster minutes).
    partitions: Integer = Field(default=1, ge=1, le=1_000)
    replication: Integer = Field(default=1, ge=1, le=32)
    retention_ms: Integer | None = Field(
        default=None,
        ge=-1,
        le=2**63 - 1,
        description="how long records are kept; -1 keeps them forever",
    )
    compacted: bool = Field(default=False, description="keep the latest record per key")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value in (".", ".."):
            raise ValueError("'.' and '..' are not valid topic names")
        if value.startswith("__"):
            raise ValueError("names starting with '__' are reserved for Kafka's internal topics")
        return value


class PartitionOut(BaseModel):
    partition: int
    low: int = Field(description="first offset still stored")
    high: int = Field(description="next offset to be written (the high watermark)")


class GroupPartitionOut(BaseModel):
    partition: int
    committed: int
    lag: int


class GroupOut(BaseModel):
    group: str
    lag: int = Field(description="records not yet consumed, over all partitions")
    partitions: list[GroupPartitionOut]


class TopicOut(BaseModel):
    cluster: str
    name: str
    partitions: int
    replication: int
    config: dict[str, str] | None = Field(
        description="retention.ms and cleanup.policy where the broker reports them; null if it "
        "did not answer"
    )
    messages: int = Field(description="records stored: the sum of high - low watermarks")
    rate: float | None = Field(
        description=f"records/s produced over the last {RATE_WINDOW_SECONDS:.0f} s of samples "
        "taken when topics are read; null until the topic has been read twice"
    )
    internal: bool = Field(description="Kafka's (__*) or Headwater's state topics")


class TopicDetailOut(TopicOut):
    offsets: list[PartitionOut]
    consumer_groups: list[GroupOut] | None = Field(
        description="groups with committed offsets on the topic; null if the broker cannot say"
    )
    consumer_groups_note: str | None = None


def _unavailable(exc: BrokerError) -> PlatformError:
    return Unavailable(str(exc))


def _out(cluster: str, row: dict[str, Any]) -> TopicOut:
    return TopicOut(cluster=cluster, **{k: v for k, v in row.items() if not k.startswith("_")})


@router.get("", response_model=list[TopicOut], **secured(Role.viewer))
def list_topics(context: Context, cluster: ClusterName = None) -> list[TopicOut]:
    name, settings = context.clusters.resolve(cluster)
    try:
        rows = summary(ClusterView(settings), context.topic_rates, name)
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    return [_out(name, row) for row in rows]


@router.get("/{name}", response_model=TopicDetailOut, **secured(Role.viewer))
def get_topic(name: TopicPath, context: Context, cluster: ClusterName = None) -> TopicDetailOut:
    cluster_name, settings = context.clusters.resolve(cluster)
    view = ClusterView(settings)
    try:
        rows = summary(view, context.topic_rates, cluster_name, [name])
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    if not rows:
        raise NotFound(f"no topic {name!r} on cluster {cluster_name!r}; list topics to see them")
    row = rows[0]
    offsets = row["_offsets"]
    groups: list[GroupOut] | None = None
    note = None
    try:
        groups = []
        for group in view.groups_reading(name):
            parts = [
                GroupPartitionOut(
                    partition=p.partition,
                    committed=group.offsets[p.partition],
                    # Watermarks can trail the log end on some brokers: never a negative lag.
                    lag=max(0, p.high - group.offsets[p.partition]),
                )
                for p in offsets
                if p.partition in group.offsets
            ]
            groups.append(
                GroupOut(group=group.group, lag=sum(p.lag for p in parts), partitions=parts)
            )
    except BrokerError as exc:
        groups, note = None, f"the cluster does not report consumer groups: {exc}"
    return TopicDetailOut(
        **_out(cluster_name, row).model_dump(),
        offsets=[PartitionOut(partition=p.partition, low=p.low, high=p.high) for p in offsets],
        consumer_groups=groups,
        consumer_groups_note=note,
    )


@router.post("", response_model=TopicDetailOut, status_code=201, **secured(Role.editor))
def create_topic(body: TopicIn, context: Context, cluster: ClusterName = None) -> TopicDetailOut:
    cluster_name, settings = context.clusters.resolve(cluster)
    config = {"cleanup.policy": "compact" if body.compacted else "delete"}
    if body.retention_ms is not None:
        config["retention.ms"] = str(body.retention_ms)
    topic = Topic(
        body.name, partitions=body.partitions, replication=body.replication, config=config
    )
    try:
        TopicAdmin(settings, logger=KAFKA_LOG).create([topic], exist_ok=False)
    except TopicExistsError as exc:
        raise Conflict(f"topic {body.name!r} exists already on cluster {cluster_name!r}") from exc
    except ConfigError as exc:  # the cluster refused the settings (partitions, replication...)
        raise Invalid(str(exc)) from exc
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    context.topic_rates.forget(cluster_name, body.name)
    return get_topic(body.name, context, cluster_name)


@router.delete("/{name}", response_model=OkOut, **secured(Role.admin))
def delete_topic(
    name: TopicPath,
    context: Context,
    confirm: Annotated[
        str | None, Query(description="the topic's name again, to confirm the deletion")
    ] = None,
    cluster: ClusterName = None,
) -> OkOut:
    if confirm != name:
        raise PlatformError(
            f"deleting topic {name!r} loses its records: repeat its name with ?confirm={name}",
            [{"field": "confirm", "message": f"must equal the topic name {name!r}"}],
        )
    cluster_name, settings = context.clusters.resolve(cluster)
    admin = TopicAdmin(settings, logger=KAFKA_LOG)
    try:
        admin.delete([name])
    except ConfigError as exc:
        raise NotFound(f"no topic {name!r} on cluster {cluster_name!r}") from exc
    except BrokerError as exc:
        raise _unavailable(exc) from exc
    context.topic_rates.forget(cluster_name, name)
    return OkOut()
