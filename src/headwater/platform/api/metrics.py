"""Metrics: JSON series of the last hour for charts, and ``/metrics`` for Prometheus.

``/metrics`` needs a token like every route but ``/healthz``: give the scraper a viewer's API
token (``authorization: {credentials: TOKEN}`` in its scrape config).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import RowId
from headwater.platform.api.topics import ClusterName, TopicPath
from headwater.platform.auth.roles import Role
from headwater.platform.deployments.topology import deployment_topics
from headwater.platform.metrics import KEEP_SECONDS, SAMPLE_SECONDS
from headwater.platform.metrics.deployment import deployment_series
from headwater.platform.metrics.store import Point, SeriesKey

router = APIRouter(tags=["metrics"], responses=ERROR_RESPONSES)


class SeriesOut(BaseModel):
    name: str
    labels: dict[str, str]
    points: list[tuple[float, float]] = Field(description="[epoch seconds, value], oldest first")


class TopicMetricsOut(BaseModel):
    cluster: str
    topic: str
    sample_seconds: float = Field(description="how often topics are sampled")
    keep_seconds: float = Field(description="how far back series go")
    series: list[SeriesOut] = Field(
        description="messages (stored), rate (records/s) and lag (one per consumer group)"
    )


class DeploymentMetricsOut(BaseModel):
    deployment: int
    group: str | None = Field(description="the consumer group the figures are of; null until known")
    keep_seconds: float
    series: list[SeriesOut] = Field(
        description="in (records/s its group consumed), lag (its group's) and out (records/s "
        "written) per topic, labelled with it; and figures the deployment reported itself"
    )


def _series(found: dict[SeriesKey, list[Point]]) -> list[SeriesOut]:
    return [
        SeriesOut(name=name, labels=dict(labels), points=points)
        for (name, labels), points in sorted(found.items())
    ]


@router.get("/api/metrics/topics/{name}", response_model=TopicMetricsOut, **secured(Role.viewer))
def topic_metrics(
    name: TopicPath, context: Context, cluster: ClusterName = None
) -> TopicMetricsOut:
    """Empty series until the topic has been sampled (every few seconds)."""
    cluster_name, _ = context.clusters.resolve(cluster)
    return TopicMetricsOut(
        cluster=cluster_name,
        topic=name,
        sample_seconds=SAMPLE_SECONDS,
        keep_seconds=KEEP_SECONDS,
        series=_series(context.metrics.store.topic(cluster_name, name)),
    )


@router.get(
    "/api/metrics/deployments/{deployment_id}",
    response_model=DeploymentMetricsOut,
    **secured(Role.viewer),
)
def deployment_metrics(deployment_id: RowId, context: Context) -> DeploymentMetricsOut:
    """The deployment's last hour: empty until its topics have been sampled and, for in and
    lag, until a replica has named its consumer group."""
    row = context.deployments.get(deployment_id)
    context.supervisor.replicas(row.id)  # records the latest report: the group and topics
    topics = deployment_topics(context.deployments, context.supervisor, row)
    found = deployment_series(
        context.metrics.store, row.cluster, topics.group, topics.consumed, topics.produced
    )
    found.update(context.metrics.store.deployment(row.id))
    return DeploymentMetricsOut(
        deployment=row.id, group=topics.group, keep_seconds=KEEP_SECONDS, series=_series(found)
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    **secured(Role.viewer),
)
def prometheus(context: Context) -> Response:
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)
