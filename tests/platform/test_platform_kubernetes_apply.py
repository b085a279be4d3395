"""Applying releases through the client's dynamic API, and reading pods back as replicas.

No Kubernetes cluster runs here, so these tests drive ``KubernetesApplier`` through a fake of
the one surface it uses (``resources.get``, ``server_side_apply``, ``get``, ``delete`` of
``kubernetes.dynamic.DynamicClient``); docs/kubernetes.md says what is not tested live."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_fake import FakeDynamicApi

from headwater.platform.errors import Invalid
from headwater.platform.kubernetes.apply import KubernetesApplier, pod_info
from headwater.platform.kubernetes.spec import AppRelease, KubernetesTarget

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TARGET = KubernetesTarget(namespace="streaming")
RELEASE = AppRelease(
    project="shop",
    app="scorer",
    commit=COMMIT,
    entrypoint="scorer.py",
    bootstrap="kafka:9092",
    replicas=2,
    cpu=1,
    memory="512Mi",
    secret_env=("DB_PASSWORD",),
)


def pod(index: int, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"shop-scorer-{index}",
            "labels": {"headwater.dev/commit": COMMIT},
        },
        "status": {"startTime": "2026-12-07T10:00:00Z", **status},
    }


def test_apply_sends_the_secret_first_then_service_and_statefulset_by_server_side_apply() -> None:
    api = FakeDynamicApi()
    KubernetesApplier(api, TARGET).apply(RELEASE, {"DB_PASSWORD": "pw"})
    assert api.applied == [
        ("Secret", "shop-scorer-secrets", "headwater"),
        ("Service", "shop-scorer", "headwater"),
        ("StatefulSet", "shop-scorer", "headwater"),
    ]
    assert api.objects[("StatefulSet", "streaming", "shop-scorer")]["spec"]["replicas"] == 2


def test_apply_refuses_a_release_whose_secret_has_no_value() -> None:
    api = FakeDynamicApi()
    with pytest.raises(Invalid, match="DB_PASSWORD"):
        KubernetesApplier(api, TARGET).apply(RELEASE, {})
    assert api.applied == []


def test_stop_scales_to_zero_and_keeps_the_rest_and_delete_tolerates_what_is_gone() -> None:
    api = FakeDynamicApi()
    applier = KubernetesApplier(api, TARGET)
    applier.apply(RELEASE, {"DB_PASSWORD": "pw"})
    applier.stop(RELEASE)
    statefulset = api.objects[("StatefulSet", "streaming", "shop-scorer")]
    assert statefulset["spec"]["replicas"] == 0
    assert statefulset["spec"]["template"]["spec"]["containers"][0]["name"] == "app"
    applier.delete(RELEASE)
    assert api.objects == {}
    applier.delete(RELEASE)  # a second delete finds nothing and says nothing


def test_status_reads_desired_ready_and_each_pod_back() -> None:
    api = FakeDynamicApi()
    applier = KubernetesApplier(api, TARGET)
    assert applier.status(RELEASE).desired == 0  # nothing applied yet
    applier.apply(RELEASE, {"DB_PASSWORD": "pw"})
    api.objects[("StatefulSet", "streaming", "shop-scorer")]["status"] = {"readyReplicas": 1}
    api.pods = [
        pod(
            1,
            conditions=[{"type": "Ready", "status": "False"}],
            containerStatuses=[
                {
                    "name": "app",
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 3}},
                }
            ],
        ),
        pod(
            0,
            conditions=[{"type": "Ready", "status": "True"}],
            containerStatuses=[{"name": "app", "restartCount": 0, "state": {"running": {}}}],
        ),
    ]
    status = applier.status(RELEASE)
    assert (status.desired, status.ready) == (2, 1)
    first, second = status.pods
    assert (first.index, first.status, first.ready, first.restarts) == (0, "running", True, 0)
    assert (second.index, second.status, second.ready) == (1, "backoff", False)
    assert (second.restarts, second.last_exit_code, second.commit) == (4, 3, COMMIT)
    assert second.started_at is not None and second.started_at.tzinfo is not None


def test_a_pod_being_deleted_is_stopping() -> None:
    info = pod_info({"metadata": {"name": "x-0", "deletionTimestamp": "2026-12-07T10:00:00Z"}})
    assert info.status == "stopping"
