"""The pipeline graph: deployments between their topics, with live rates, status and lag."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query

from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import NAME
from headwater.platform.api.topics import ClusterName
from headwater.platform.auth.roles import Role
from headwater.platform.context import PlatformContext
from headwater.platform.deployments.status import deployment_status, ready_replicas
from headwater.platform.deployments.topology import deployment_topics
from headwater.platform.errors import PlatformError
from headwater.platform.graph import (
    AppFacts,
    DeploymentFacts,
    Graph,
    GroupTopic,
    TopicFacts,
    build_graph,
)
from headwater.platform.metrics import SAMPLE_SECONDS
from headwater.platform.projects.manifest import MANIFEST_FILE, parse_manifest

router = APIRouter(prefix="/api", tags=["graph"], responses=ERROR_RESPONSES)
# Figures older than this are from topics or groups that are gone: left out of the graph.
FRESH_SECONDS = max(60.0, 6 * SAMPLE_SECONDS)


def _deployments(context: PlatformContext, cluster: str) -> list[DeploymentFacts]:
    found = []
    for row in context.deployments.on_cluster(cluster):
        # replicas() first: it records the latest report that deployment_topics reads.
        replicas = context.deployments.replicas(row)
        topics = deployment_topics(context.deployments, context.supervisor, row)
        found.append(
            DeploymentFacts(
                id=row.id,
                project=row.project,
                app=row.app,
                commit=row.commit,
                status=deployment_status(row.desired_state, row.replicas, replicas),
                replicas=row.replicas,
                running=ready_replicas(replicas),
                group=topics.group,
                inputs=topics.inputs,
                outputs=topics.outputs,
            )
        )
    return found


def _sampled(
    context: PlatformContext, cluster: str
) -> tuple[dict[str, TopicFacts], dict[str, dict[str, GroupTopic]]]:
    """Topic rates and each group's lag and consumption rate, from the metrics sampler."""
    rates: dict[str, float] = {}
    lags: dict[tuple[str, str], float] = {}
    consumed: dict[tuple[str, str], float] = {}
    for name, topic, metric, labels, value in context.metrics.store.latest_topics(
        since=time.time() - FRESH_SECONDS
    ):
        if name != cluster:
            continue
        group = dict(labels).get("group")
        if metric == "rate":
            rates[topic] = value
        elif metric == "lag" and group is not None:
            lags[(group, topic)] = value
        elif metric == "consumed" and group is not None:
            consumed[(group, topic)] = value
    groups: dict[str, dict[str, GroupTopic]] = {}
    for (group, topic), lag in lags.items():
        groups.setdefault(group, {})[topic] = GroupTopic(lag, consumed.get((group, topic)))
    return {t: TopicFacts(rate) for t, rate in rates.items()}, groups


def _undeployed_apps(
    context: PlatformContext, project: str, deployments: list[DeploymentFacts]
) -> tuple[AppFacts, ...]:
    """The apps of ``project``'s headwater.yaml at main that are not deployed here."""
    deployed = {d.app for d in deployments if d.project == project}
    with context.projects.open(project) as repo:
        head = repo.head()
        snapshot = repo.snapshot(head) if head else {}
        if MANIFEST_FILE not in snapshot:
            return ()
        try:
            manifest = parse_manifest(repo.read_blob(snapshot[MANIFEST_FILE][0]))
        except PlatformError:  # a broken manifest draws nothing; its editor says why
            return ()
    return tuple(
        AppFacts(project, app.name, tuple(app.inputs), tuple(app.outputs))
        for app in manifest.apps
        if app.name not in deployed
    )


@router.get("/graph", response_model=Graph, **secured(Role.viewer))
def pipeline_graph(
    context: Context,
    cluster: ClusterName = None,
    project: Annotated[
        str | None,
        Query(
            pattern=NAME,
            description="the project edited on the canvas: its apps not deployed here show too",
        ),
    ] = None,
) -> Graph:
    """Deployments and outside producers / consumer groups as nodes, topics as edges.

    Rates and lags come from the metrics sampler (every few seconds): null until a topic or
    group has been sampled twice.
    """
    name, _ = context.clusters.resolve(cluster)
    topics, groups = _sampled(context, name)
    deployments = _deployments(context, name)
    apps = _undeployed_apps(context, project, deployments) if project else ()
    return build_graph(name, deployments, topics, groups, apps)
