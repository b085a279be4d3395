"""Replicas, CPU and memory: headwater.yaml is the default, a value set on the deployment
overrides it until reset, and a redeploy applies the new commit's values to the rest."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_helpers import MANIFEST, Project, add_cluster
from platform_server import LiveServer

from headwater.kafka.admin import TopicAdmin

BIGGER = MANIFEST.replace("replicas: 1", "replicas: 2").replace("cpu: 0.5", "cpu: 1")
BIGGER = BIGGER.replace("memory: 256Mi", "memory: 512Mi")


def resources(deployment: dict[str, Any]) -> tuple[int, float, str, list[str]]:
    d = deployment
    return d["replicas"], d["cpu"], d["memory"], d["overrides"]


@pytest.fixture
def project(live: LiveServer, admin: TopicAdmin) -> Project:
    return Project(live, admin)


def test_values_set_on_a_deployment_override_headwater_yaml_until_reset(
    live: LiveServer, project: Project, bootstrap: str
) -> None:
    cluster = add_cluster(live, bootstrap)
    with live.client("editor") as editor:
        # Stopped: what is stored and shown matters here, not the processes.
        made = editor.post(
            f"/api/projects/{project.name}/deployments",
            json={"app": "hello-stream", "cluster": cluster, "cpu": 0.25, "state": "stopped"},
        )
        assert made.status_code == 201, made.text
        deployment = made.json()
        assert resources(deployment) == (1, 0.25, "256Mi", ["cpu"])
        assert deployment["manifest"] == {"replicas": 1, "cpu": 0.5, "memory": "256Mi"}
        path = f"/api/deployments/{deployment['id']}"

        # A commit whose headwater.yaml asks for more: the values not set here follow it.
        put = editor.put(
            f"/api/projects/{project.name}/files/headwater.yaml",
            json={"content": BIGGER.format(events=project.events, greetings=project.greetings)},
        )
        assert put.status_code == 200, put.text
        bigger = editor.post(f"/api/projects/{project.name}/commits", json={"message": "bigger"})
        assert bigger.status_code == 201, bigger.text
        redeployed = editor.patch(path, json={"commit": bigger.json()["id"]}).json()
        assert resources(redeployed) == (2, 0.25, "512Mi", ["cpu"])
        assert redeployed["manifest"] == {"replicas": 2, "cpu": 1.0, "memory": "512Mi"}

        # Memory set by hand, CPU handed back to the manifest.
        changed = editor.patch(path, json={"memory": "300Mi", "reset": ["cpu"]}).json()
        assert resources(changed) == (2, 1.0, "300Mi", ["memory"])
        # Rolling back to the first commit: its manifest's replicas and CPU, the memory kept.
        back = editor.patch(path, json={"commit": project.commits[0]}).json()
        assert resources(back) == (1, 0.5, "300Mi", ["memory"])
        assert editor.get(path).json()["overrides"] == ["memory"]

        # A reset of something that is not a resource is refused, naming the field.
        wrong = editor.patch(path, json={"reset": ["disk"]})
        assert wrong.status_code == 422
        assert any(e["field"].startswith("reset") for e in wrong.json()["errors"]), wrong.text
        assert resources(editor.get(path).json()) == (1, 0.5, "300Mi", ["memory"])
        assert editor.delete(path).status_code == 200
