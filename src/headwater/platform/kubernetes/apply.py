"""Applying an app's manifests to a cluster and reading its status back.

Server-side apply through the official client's dynamic API (``kubernetes.dynamic``): the API
server merges what the platform owns (field manager ``headwater``) with what others set, so
applying the same manifests twice changes nothing, and a redeploy changes only what moved.
Stopping applies ``replicas: 0`` and keeps the volumes: a restarted app finds its state.

``KubernetesApplier`` takes the client's API surface as an argument (``connect`` builds the real
one from a kubeconfig or the pod's service account), so tests without a cluster pass a fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from headwater.platform.errors import Invalid, Unavailable
from headwater.platform.kubernetes.render import (
    COMMIT_LABEL,
    FIELD_MANAGER,
    Manifest,
    labels,
    render,
    secret_manifest,
)
from headwater.platform.kubernetes.spec import AppRelease, KubernetesTarget

PodStatus = Literal["running", "backoff", "stopping"]


class DynamicApi(Protocol):
    """What the applier uses of ``kubernetes.dynamic.DynamicClient``."""

    @property
    def resources(self) -> Any: ...

    def server_side_apply(
        self,
        resource: Any,
        body: Manifest | None = None,
        name: str | None = None,
        namespace: str | None = None,
        force_conflicts: bool | None = None,
        **kwargs: Any,
    ) -> Any: ...

    def get(
        self, resource: Any, name: str | None = None, namespace: str | None = None, **kwargs: Any
    ) -> Any: ...

    def delete(
        self, resource: Any, name: str | None = None, namespace: str | None = None, **kwargs: Any
    ) -> Any: ...


@dataclass(frozen=True)
class PodInfo:
    """One replica (pod) as the cluster reports it."""

    index: int
    name: str
    status: PodStatus
    commit: str
    restarts: int
    started_at: datetime | None
    last_exit_code: int | None
    ready: bool


@dataclass(frozen=True)
class ReleaseStatus:
    desired: int
    ready: int
    pods: tuple[PodInfo, ...]


def connect(context: str | None = None) -> DynamicApi:
    """The dynamic client of the cluster: in a pod, its service account; else the kubeconfig
    (``context`` or its current one). Needs the `kubernetes` extra."""
    try:
        from kubernetes import client, config, dynamic
    except ImportError:
        raise Invalid(
            "deploying to Kubernetes needs the official client: pip install 'headwater[kubernetes]'"
        ) from None
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        try:
            config.load_kube_config(context=context)  # type: ignore[no-untyped-call]
        except config.ConfigException as exc:
            raise Unavailable(f"no Kubernetes configuration found: {exc}") from None
    api: DynamicApi = dynamic.DynamicClient(client.ApiClient())  # type: ignore[no-untyped-call]
    return api


class KubernetesApplier:
    """Applies releases to one target and reads their pods back."""

    def __init__(self, api: DynamicApi, target: KubernetesTarget) -> None:
        self._api = api
        self._target = target

    def apply(self, release: AppRelease, secret_values: dict[str, str]) -> list[Manifest]:
        """Apply the app's Secret (with ``secret_values``), Service and StatefulSet, in that
        order (pods that start find their Secret); returns what was applied, values left out."""
        manifests = render(release, self._target)
        missing = sorted(set(release.secret_env) - set(secret_values))
        if missing:
            raise Invalid(f"no value for the secret variable(s) {', '.join(missing)}")
        self._apply(secret_manifest(release, self._target, secret_values))
        for manifest in manifests:
            self._apply(manifest)
        return manifests

    def stop(self, release: AppRelease) -> None:
        """Scale the app to zero replicas; its volumes and Secret stay."""
        self._apply(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": release.name, "namespace": self._target.namespace},
                "spec": {"replicas": 0},
            }
        )

    def delete(self, release: AppRelease) -> None:
        """Remove the StatefulSet, Service and Secret (volumes stay, as Kubernetes keeps them)."""
        for api_version, kind, name in (
            ("apps/v1", "StatefulSet", release.name),
            ("v1", "Service", release.name),
            ("v1", "Secret", release.secret_name),
        ):
            resource = self._api.resources.get(api_version=api_version, kind=kind)
            try:
                self._api.delete(resource, name=name, namespace=self._target.namespace)
            except Exception as exc:
                if getattr(exc, "status", None) != 404:  # gone already
                    raise

    def status(self, release: AppRelease) -> ReleaseStatus:
        """Desired and ready replicas of the StatefulSet and each of its pods."""
        namespace = self._target.namespace
        statefulsets = self._api.resources.get(api_version="apps/v1", kind="StatefulSet")
        try:
            found = _as_dict(self._api.get(statefulsets, name=release.name, namespace=namespace))
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return ReleaseStatus(desired=0, ready=0, pods=())
            raise
        pods_api = self._api.resources.get(api_version="v1", kind="Pod")
        selector = ",".join(f"{key}={value}" for key, value in labels(release).items())
        pods = _as_dict(self._api.get(pods_api, namespace=namespace, label_selector=selector))
        return ReleaseStatus(
            desired=int(found.get("spec", {}).get("replicas") or 0),
            ready=int(found.get("status", {}).get("readyReplicas") or 0),
            pods=tuple(sorted((pod_info(p) for p in pods.get("items", [])), key=_index)),
        )

    def _apply(self, manifest: Manifest) -> None:
        resource = self._api.resources.get(
            api_version=manifest["apiVersion"], kind=manifest["kind"]
        )
        self._api.server_side_apply(
            resource,
            body=manifest,
            name=manifest["metadata"]["name"],
            namespace=manifest["metadata"]["namespace"],
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )


def pod_info(pod: Manifest) -> PodInfo:
    """A pod of a StatefulSet as the deployment views show a replica."""
    metadata = pod.get("metadata", {})
    status = pod.get("status", {})
    name = str(metadata.get("name", ""))
    containers = [c for c in status.get("containerStatuses") or [] if c.get("name") == "app"]
    app = containers[0] if containers else {}
    waiting = (app.get("state") or {}).get("waiting") or {}
    terminated = (app.get("lastState") or {}).get("terminated") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    state: PodStatus = "running"
    if metadata.get("deletionTimestamp"):
        state = "stopping"
    elif waiting.get("reason") in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"):
        state = "backoff"
    started = status.get("startTime")
    return PodInfo(
        index=int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else 0,
        name=name,
        status=state,
        commit=str((metadata.get("labels") or {}).get(COMMIT_LABEL, "")),
        restarts=int(app.get("restartCount") or 0),
        started_at=_time(started),
        last_exit_code=terminated.get("exitCode"),
        ready=ready,
    )


def _index(pod: PodInfo) -> int:
    return pod.index


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _as_dict(found: Any) -> Manifest:
    """The client's ResourceInstance (or a plain dict) as a dict."""
    if isinstance(found, dict):
        return found
    result: Manifest = found.to_dict()
    return result
