"""The pipeline graph through the API: a deployed app between its topics, with live figures, while
records flow through it on the real broker."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from deploy_helpers import Project, add_cluster, consuming, waiting
from kafka_helpers import wait_until
from platform_server import LiveServer

from headwater.kafka.admin import TopicAdmin


def graph(live: LiveServer, cluster: str) -> dict[str, Any]:
    with live.client("viewer") as viewer:
        response = viewer.get("/api/graph", params={"cluster": cluster})
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


def test_graph_shows_the_deployment_between_its_topics_while_data_flows(
    live: LiveServer, admin: TopicAdmin, bootstrap: str, produce: Callable[..., None]
) -> None:
    cluster = add_cluster(live, bootstrap)
    project = Project(live, admin, partitions=1)
    with live.client("editor") as editor:
        made = editor.post(
            f"/api/projects/{project.name}/deployments",
            json={"app": "hello-stream", "cluster": cluster},
        )
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
    node_id = f"deployment:{ident}"
    try:
        waiting(
            live,
            ident,
            lambda: consuming(live, ident, 1, project.commits[-1], project.events),
            timeout=40,
        )

        def flowing() -> dict[str, Any] | None:
            # Records keep arriving, so every sample the server takes sees the topics grow.
            produce(project.events, [(b"k", b'{"name": "Ada"}')])
            found = graph(live, cluster)
            node = next(n for n in found["nodes"] if n["id"] == node_id)
            into = [e for e in found["edges"] if e["target"] == node_id]
            out = [e for e in found["edges"] if e["source"] == node_id]
            flow = [e for e in into + out if e["topic"] in (project.events, project.greetings)]
            if len(flow) != 2 or not all(e["rate"] for e in flow) or not node["throughput_in"]:
                return None
            return {"node": node, "into": into, "out": out, "graph": found}

        seen = waiting(live, ident, lambda: wait_until(flowing, timeout=90, interval=0.5), 95)

        # The replica dies: until its successor reports, the deployment keeps its group and
        # topics, and its group does not show up as an outside reader.
        with live.client("viewer") as viewer:
            (replica,) = viewer.get(f"/api/deployments/{ident}/replicas").json()
            os.kill(replica["pid"], signal.SIGKILL)

            def restarting() -> bool:
                replicas = viewer.get(f"/api/deployments/{ident}/replicas").json()
                return all(r["partitions"] is None for r in replicas)

            wait_until(restarting, timeout=20, interval=0.1)
        during = graph(live, cluster)
    finally:
        with live.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200

    node = seen["node"]
    assert node["kind"] == "deployment" and node["label"] == f"{project.name}/hello-stream"
    assert node["status"] == "running" and (node["replicas"], node["running_replicas"]) == (1, 1)
    assert node["commit"] == project.commits[-1] and node["group"] == project.group
    assert node["throughput_out"] > 0 and node["lag"] is not None and node["lag"] >= 0
    (into,) = seen["into"]
    assert into["topic"] == project.events and into["source"] == f"producer:{project.events}"
    assert into["rate"] > 0 and into["lag"] is not None
    out = {e["topic"]: e for e in seen["out"]}
    # Nobody reads the greetings: the edge ends in a sink node named after the topic.
    assert out[project.greetings]["target"] == f"sink:{project.greetings}"
    # The running topology adds what the manifest does not name: the app's dead-letter topic.
    assert set(out) == {project.greetings, f"{project.group}.dlq"}
    kinds = {n["id"]: n["kind"] for n in seen["graph"]["nodes"]}
    assert kinds[f"producer:{project.events}"] == "external_producer"
    assert kinds[f"sink:{project.greetings}"] == "sink"
    restarted = next(n for n in during["nodes"] if n["id"] == node_id)
    assert restarted["group"] == project.group
    assert f"group:{project.group}" not in {n["id"] for n in during["nodes"]}
    assert f"{project.group}.dlq" in {e["topic"] for e in during["edges"]}
    # Deleted: the deployment leaves the graph.
    assert node_id not in {n["id"] for n in graph(live, cluster)["nodes"]}


def test_graph_needs_a_user_and_a_known_cluster(live: LiveServer) -> None:
    with live.client() as anonymous:
        assert anonymous.get("/api/graph").status_code == 401
    with live.client("viewer") as viewer:
        missing = viewer.get("/api/graph", params={"cluster": "no-such-cluster"})
        assert missing.status_code == 404 and "no-such-cluster" in missing.json()["detail"]
    spec = live.app.openapi()["paths"]["/api/graph"]["get"]
    assert spec["x-required-role"] == "viewer"
