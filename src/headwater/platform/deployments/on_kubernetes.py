"""Deployments whose cluster's target is a Kubernetes namespace: applied, not supervised.

The service decides per deployment where it runs (its cluster's target); this module turns a
deployment into a release, hands it to the applier and reads its pods back as the same
``ReplicaInfo`` the local supervisor reports, so the deployment views and status rule serve
both. The applier factory is a constructor argument: tests without a cluster pass a fake.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from headwater.kafka.settings import OPTIONS_ENV, KafkaSettings
from headwater.platform.db.models import Deployment
from headwater.platform.deployments.supervisor import ReplicaInfo
from headwater.platform.kubernetes.apply import KubernetesApplier, connect
from headwater.platform.kubernetes.spec import AppRelease, KubernetesTarget

log = logging.getLogger("headwater.platform.kubernetes")

ApplierFactory = Callable[[KubernetesTarget], KubernetesApplier]


def connect_applier(target: KubernetesTarget) -> KubernetesApplier:
    """The real applier: the official client, from the pod's service account or kubeconfig."""
    return KubernetesApplier(connect(target.context), target)


def release_of(
    deployment: Deployment,
    entrypoint: str,
    settings: KafkaSettings,
    secret_env: tuple[str, ...] = (),
) -> AppRelease:
    return AppRelease(
        project=deployment.project,
        app=deployment.app,
        commit=deployment.commit,
        entrypoint=entrypoint,
        bootstrap=settings.bootstrap_servers,
        replicas=deployment.replicas if deployment.desired_state == "running" else 0,
        cpu=deployment.cpu,
        memory=deployment.memory,
        env=json.loads(deployment.env_json or "{}"),
        secret_env=secret_env,
    )


def secret_values(secrets: dict[str, str], settings: KafkaSettings) -> dict[str, str]:
    """What the app's Secret holds: its project secrets and the cluster's client options (SASL,
    SSL, credentials), which reach a local replica the same way."""
    values = dict(secrets)
    if settings.options:
        values[OPTIONS_ENV] = json.dumps(settings.options)
    return values


def pod_replicas(applier: KubernetesApplier, release: AppRelease) -> list[ReplicaInfo]:
    """The release's pods as replicas; none if the cluster cannot be read (logged)."""
    try:
        status = applier.status(release)
    except Exception as exc:  # an unreachable cluster must not break the deployment views
        log.warning("cannot read %s from Kubernetes: %s", release.name, exc)
        return []
    return [
        ReplicaInfo(
            index=pod.index,
            status=pod.status,
            pid=None,
            commit=pod.commit,
            restarts=pod.restarts,
            started_at=pod.started_at,
            last_exit_code=pod.last_exit_code,
            partitions=None,
            ready=pod.ready,
        )
        for pod in status.pods
    ]
