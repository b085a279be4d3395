"""The one status rule the deployments list, a deployment's page and the graph share."""

from __future__ import annotations

import pytest

from headwater.platform.deployments.status import deployment_status, ready_replicas
from headwater.platform.deployments.supervisor import ReplicaInfo, ReplicaStatus


def replica(
    index: int,
    status: ReplicaStatus = "running",
    ready: bool = True,
    last_exit_code: int | None = None,
) -> ReplicaInfo:
    return ReplicaInfo(
        index=index,
        status=status,
        pid=1000 + index if status != "backoff" else None,
        commit="c" * 40,
        restarts=0 if last_exit_code is None else 1,
        started_at=None,
        last_exit_code=last_exit_code,
        partitions=[("orders", index)] if ready else None,
        ready=ready,
    )


def crashed(index: int) -> ReplicaInfo:
    """Waiting to restart after a crash."""
    return replica(index, status="backoff", ready=False, last_exit_code=1)


def restarting(index: int) -> ReplicaInfo:
    """Alive again after a crash, not yet in its group: a crash loop spends most time here."""
    return replica(index, ready=False, last_exit_code=1)


@pytest.mark.parametrize(
    ("desired", "replicas", "expected"),
    [
        (2, [replica(0), replica(1)], "running"),
        (2, [replica(0), crashed(1)], "degraded"),
        (2, [replica(0), replica(1, ready=False)], "degraded"),
        (1, [crashed(0)], "failing"),
        (1, [restarting(0)], "failing"),
        (2, [crashed(0), replica(1, ready=False)], "failing"),
        (1, [replica(0, ready=False)], "starting"),
        (1, [], "starting"),
        # A replica stopping (replaced by a redeploy) counts for nothing.
        (1, [replica(0, status="stopping"), replica(0, ready=False)], "starting"),
    ],
)
def test_the_status_of_a_running_deployment(
    desired: int, replicas: list[ReplicaInfo], expected: str
) -> None:
    assert deployment_status("running", desired, replicas) == expected


def test_a_stopped_deployment_is_stopped_while_its_replicas_stop() -> None:
    assert deployment_status("stopped", 1, [replica(0, status="stopping")]) == "stopped"


def test_ready_replicas_leave_out_those_stopping_and_starting() -> None:
    found = [replica(0), replica(1, ready=False), replica(2, status="stopping", ready=False)]
    assert ready_replicas(found) == 1
