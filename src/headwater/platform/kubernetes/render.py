"""An app release as Kubernetes manifests: plain dicts, no client, no cluster.

Per app: a headless Service (the StatefulSet's network identity, and where Prometheus scrapes
each replica's metrics) and a StatefulSet whose pods

- clone the project at the release's commit in an init container (from the platform's Git
  server, the API token in the app's Secret) into a shared ``emptyDir``;
- run ``headwater run ENTRYPOINT`` there with CPU and memory requests equal to their limits;
- keep their state on a volume of their own (``volumeClaimTemplates``), mounted where the
  app's default ``state_dir`` is, so a restarted replica finds its stores;
- read secrets through ``secretKeyRef`` into the app's Secret: their values are never in the
  StatefulSet. The Secret itself is rendered apart (``secret_manifest``), only where the values
  are known (the platform's apply); a dry run names the keys it needs.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml

from headwater.kafka.settings import BROKER_ENV
from headwater.platform.kubernetes.spec import METRICS_PORT, AppRelease, KubernetesTarget, check

Manifest = dict[str, Any]

APP_DIR = "/app"
STATE_DIR = f"{APP_DIR}/state"  # an App's default state_dir ("state") in its working folder
GIT_TOKEN_KEY = "HEADWATER_GIT_TOKEN"
FIELD_MANAGER = "headwater"
METRICS_ENV = "HEADWATER_METRICS_ADDRESS"
COMMIT_LABEL = "headwater.dev/commit"
# Clones without writing the token into .git/config: a credential helper reads it from the env.
CLONE_SCRIPT = (
    "set -eu; "
    "git -c credential.helper='!f() { echo username=headwater; "
    'echo "password=${HEADWATER_GIT_TOKEN:-}"; }; f\' '
    'clone --quiet "$REPOSITORY" /app && git -C /app checkout --quiet "$COMMIT"'
)


def labels(release: AppRelease) -> dict[str, str]:
    """The labels that select an app's pods (never changed by a redeploy)."""
    return {
        "app.kubernetes.io/name": release.app,
        "app.kubernetes.io/part-of": release.project,
        "app.kubernetes.io/managed-by": "headwater",
    }


def service_manifest(release: AppRelease, target: KubernetesTarget) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(release, target),
        "spec": {
            "clusterIP": "None",  # headless: one address per replica, for the StatefulSet
            "selector": labels(release),
            "ports": [
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"},
            ],
        },
    }


def statefulset_manifest(release: AppRelease, target: KubernetesTarget) -> Manifest:
    memory = release.memory
    cpu = _cpu(release.cpu)
    quantities = {"cpu": cpu, "memory": memory}
    resources = {"requests": quantities, "limits": dict(quantities)}
    repository = f"{target.git_url.rstrip('/')}/git/{release.project}.git"
    volume_claim: Manifest = {
        "metadata": {"name": "state"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": target.state_size}},
        },
    }
    if target.storage_class is not None:
        volume_claim["spec"]["storageClassName"] = target.storage_class
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(release, target),
        "spec": {
            "serviceName": release.name,
            "replicas": release.replicas,
            # Replicas are consumers of one group: they start and stop independently.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels(release)},
            "template": {
                "metadata": {
                    "labels": {**labels(release), COMMIT_LABEL: release.commit},
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(METRICS_PORT),
                    },
                },
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "runAsGroup": 1000,
                        "fsGroup": 1000,
                    },
                    "initContainers": [
                        {
                            "name": "checkout",
                            "image": target.git_image,
                            "command": ["sh", "-c", CLONE_SCRIPT],
                            "env": [
                                {"name": "REPOSITORY", "value": repository},
                                {"name": "COMMIT", "value": release.commit},
                                {"name": "HOME", "value": "/tmp"},
                                _secret_ref(release, GIT_TOKEN_KEY, optional=True),
                            ],
                            "volumeMounts": [{"name": "code", "mountPath": APP_DIR}],
                            "securityContext": _container_security(),
                        }
                    ],
                    "containers": [
                        {
                            "name": "app",
                            "image": target.image,
                            "command": ["headwater", "run", release.entrypoint],
                            "workingDir": APP_DIR,
                            "env": _env(release),
                            "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
                            "resources": resources,
                            "volumeMounts": [
                                {"name": "code", "mountPath": APP_DIR},
                                {"name": "state", "mountPath": STATE_DIR},
                            ],
                            "securityContext": _container_security(),
                        }
                    ],
                    "volumes": [{"name": "code", "emptyDir": {}}],
                },
            },
            "volumeClaimTemplates": [volume_claim],
        },
    }


def secret_manifest(
    release: AppRelease, target: KubernetesTarget, values: dict[str, str]
) -> Manifest:
    """The app's Secret with ``values`` (environment variable -> value), base64 as the API
    stores them."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(release, target, release.secret_name),
        "type": "Opaque",
        "data": {
            key: base64.b64encode(value.encode()).decode("ascii")
            for key, value in sorted(values.items())
        },
    }


def render(release: AppRelease, target: KubernetesTarget) -> list[Manifest]:
    """The app's Service and StatefulSet, checked first (Invalid names each wrong field)."""
    check(target, release)
    return [service_manifest(release, target), statefulset_manifest(release, target)]


def to_yaml(manifests: list[Manifest]) -> str:
    """Manifests as one multi-document YAML file, as kubectl and GitOps tools read them."""
    return yaml.safe_dump_all(manifests, sort_keys=False, default_flow_style=False)


def _metadata(release: AppRelease, target: KubernetesTarget, name: str | None = None) -> Manifest:
    return {"name": name or release.name, "namespace": target.namespace, "labels": labels(release)}


def _env(release: AppRelease) -> list[Manifest]:
    plain = {
        **release.env,
        BROKER_ENV: release.bootstrap,
        METRICS_ENV: f"0.0.0.0:{METRICS_PORT}",
    }
    env: list[Manifest] = [{"name": key, "value": value} for key, value in sorted(plain.items())]
    env += [_secret_ref(release, key) for key in sorted(release.secret_env)]
    return env


def _secret_ref(release: AppRelease, key: str, optional: bool = False) -> Manifest:
    ref: Manifest = {"name": release.secret_name, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": key, "valueFrom": {"secretKeyRef": ref}}


def _container_security() -> Manifest:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _cpu(cores: float) -> str:
    """Cores as a Kubernetes quantity in millicores: 0.5 -> 500m, 2 -> 2000m."""
    return f"{max(1, round(cores * 1000))}m"
