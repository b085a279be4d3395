"""The one status rule of a deployment, shared by the deployments list, its page and the graph.

A replica is *ready* once it has reported its partitions (it joined its consumer group), or has
stayed up ``READY_AFTER`` seconds without reporting. A process that is alive but crashed before
and is not ready again does not count: a crash loop spends most of its time starting.

- ``stopped``: the deployment is meant to be stopped.
- ``running``: every desired replica is ready.
- ``degraded``: some replicas are ready, not all.
- ``failing``: none is ready and one has crashed (it waits to restart, or restarts again).
- ``starting``: none is ready yet and none has crashed: a fresh start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from headwater.platform.deployments.supervisor import ReplicaInfo

DeploymentStatus = Literal["running", "starting", "degraded", "failing", "stopped"]
STATUSES: tuple[DeploymentStatus, ...] = ("running", "starting", "degraded", "failing", "stopped")


def ready_replicas(replicas: Sequence[ReplicaInfo]) -> int:
    """Replicas of the deployment's current set that are ready (those stopping left out)."""
    return sum(r.ready for r in replicas if r.status != "stopping")


def deployment_status(
    desired_state: str, desired_replicas: int, replicas: Sequence[ReplicaInfo]
) -> DeploymentStatus:
    if desired_state != "running":
        return "stopped"
    current = [r for r in replicas if r.status != "stopping"]
    ready = ready_replicas(current)
    if ready >= desired_replicas:
        return "running"
    if ready > 0:
        return "degraded"
    if any(r.last_exit_code is not None for r in current):
        return "failing"
    return "starting"
