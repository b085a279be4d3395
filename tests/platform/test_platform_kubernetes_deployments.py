"""A cluster whose target is a Kubernetes namespace: its deployments are applied, not run here.

The platform's applier is given a fake of the client's dynamic API (no cluster runs here; see
docs/kubernetes.md): the test checks what reaches the API server and that pods read back show in
the same deployment views as local replicas."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import pytest
from kubernetes_fake import FakeDynamicApi
from platform_server import LiveServer

from headwater.platform.kubernetes.apply import KubernetesApplier
from headwater.platform.kubernetes.spec import KubernetesTarget

NAMESPACE = "streaming"


@pytest.fixture
def api(live: LiveServer) -> Iterator[FakeDynamicApi]:
    fake = FakeDynamicApi()
    service = live.context.deployments
    previous = service.kubernetes
    service.kubernetes = lambda target: KubernetesApplier(fake, target)
    service._appliers.clear()
    yield fake
    service.kubernetes = previous
    service._appliers.clear()


def statefulset(api: FakeDynamicApi, name: str) -> dict[str, object]:
    found: dict[str, object] = api.objects[("StatefulSet", NAMESPACE, name)]
    return found


def test_deployments_on_a_kubernetes_target_are_applied_scaled_stopped_and_read_back(
    live: LiveServer, api: FakeDynamicApi
) -> None:
    token = uuid.uuid4().hex[:6]
    cluster, project = f"k8s-{token}", f"kube-{token}"
    target = {"kind": "kubernetes", "namespace": NAMESPACE, "image": "reg.example/hw:1"}
    with live.client("admin") as admin:
        made = admin.post(
            "/api/clusters",
            json={
                "name": cluster,
                "bootstrap_servers": "kafka.streaming.svc:9092",
                "secret_options": {"sasl.password": "kafka-pw"},
                "deploy_target": target,
            },
        )
        assert made.status_code == 201, made.text
        assert made.json()["deploy_target"]["namespace"] == NAMESPACE
    with live.client("editor") as editor:
        assert (
            editor.post(
                "/api/projects", json={"name": project, "template": "hello-stream"}
            ).status_code
            == 201
        )
        stored = editor.put(f"/api/projects/{project}/secrets/db", json={"value": "db-pw-123"})
        assert stored.status_code == 200, stored.text
        created = editor.post(
            f"/api/projects/{project}/deployments",
            json={
                "app": project,
                "cluster": cluster,
                "replicas": 2,
                "memory": "1Gi",
                "secrets": {"DB_PASSWORD": "db"},
            },
        )
        assert created.status_code == 201, created.text
        ident = created.json()["id"]
        name = f"{project}-{project}"
        applied = statefulset(api, name)
        assert applied["spec"]["replicas"] == 2  # type: ignore[index]
        app = applied["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
        assert app["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
        assert "db-pw-123" not in json.dumps(applied) and "kafka-pw" not in json.dumps(applied)
        secret = api.objects[("Secret", NAMESPACE, f"{name}-secrets")]
        assert base64.b64decode(secret["data"]["DB_PASSWORD"]) == b"db-pw-123"
        options = json.loads(base64.b64decode(secret["data"]["HEADWATER_KAFKA_OPTIONS"]))
        assert options == {"sasl.password": "kafka-pw"}
        # Nothing runs on this machine for it.
        assert live.context.supervisor.replicas(ident) == []

        # The pods, as the cluster reports them, in the deployment's views.
        statefulset(api, name)["status"] = {"readyReplicas": 1}
        api.pods = [
            {
                "metadata": {"name": f"{name}-{i}", "labels": {"headwater.dev/commit": "c" * 40}},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True" if i == 0 else "False"}],
                    "containerStatuses": [{"name": "app", "restartCount": i}],
                },
            }
            for i in range(2)
        ]
        view = editor.get(f"/api/deployments/{ident}").json()
        assert (view["status"], view["ready_replicas"], view["enforcement"]) == (
            "degraded",
            1,
            "kubernetes",
        )
        replicas = editor.get(f"/api/deployments/{ident}/replicas").json()
        assert [(r["index"], r["ready"], r["restarts"]) for r in replicas] == [
            (0, True, 0),
            (1, False, 1),
        ]

        scaled = editor.patch(f"/api/deployments/{ident}", json={"replicas": 3, "cpu": 2})
        assert scaled.status_code == 200, scaled.text
        assert statefulset(api, name)["spec"]["replicas"] == 3  # type: ignore[index]
        stopped = editor.post(f"/api/deployments/{ident}/stop")
        assert stopped.status_code == 200, stopped.text
        assert statefulset(api, name)["spec"]["replicas"] == 0  # type: ignore[index]
        assert editor.post(f"/api/deployments/{ident}/start").status_code == 200
        assert statefulset(api, name)["spec"]["replicas"] == 3  # type: ignore[index]

        assert editor.delete(f"/api/deployments/{ident}").status_code == 200
        assert not [key for key in api.objects if key[2].startswith(name)]
    with live.client("admin") as admin:
        assert admin.delete(f"/api/projects/{project}").status_code == 200
        assert admin.delete(f"/api/clusters/{cluster}").status_code == 200


def test_a_bad_kubernetes_target_is_refused_with_its_field(live: LiveServer) -> None:
    with live.client("admin") as admin:
        refused = admin.post(
            "/api/clusters",
            json={
                "name": f"bad-{uuid.uuid4().hex[:6]}",
                "bootstrap_servers": "k:9092",
                "deploy_target": {"kind": "kubernetes", "namespace": "Team_A"},
            },
        )
        assert refused.status_code == 422
        fields = [e["field"] for e in refused.json()["errors"]]
        assert "deploy_target.namespace" in fields, refused.text
        assert "lowercase letters" in refused.text


def test_target_defaults_are_those_of_the_kubernetes_target() -> None:
    assert KubernetesTarget().namespace == "default"
