"""Deployments through the API against the real broker: replicas as real processes that consume,
scale, restart after a crash, roll back, stop, and come back when the server restarts."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient
from deploy_helpers import APP, MANIFEST, Project, add_cluster, consuming, replicas, waiting
from fastapi.testclient import TestClient
from kafka_helpers import read_all, wait_until
from platform_server import LiveServer

from headwater import Topic
from headwater.kafka.admin import TopicAdmin
from headwater.platform import PlatformSettings, create_app


@pytest.fixture
def cluster(live: LiveServer, bootstrap: str) -> str:
    return add_cluster(live, bootstrap)


def group_stable(bootstrap: str, group: str) -> bool:
    """True once the group's rebalance is over (the broker reports its state, not members)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    return bool(described.state == ConsumerGroupState.STABLE)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def greetings_seen(bootstrap: str, topic: str) -> set[str]:
    return {json.loads(m.value())["greeting"] for m in read_all(bootstrap, [topic])}


def test_deploy_scale_crash_and_roll_back(
    live: LiveServer,
    cluster: str,
    admin: TopicAdmin,
    bootstrap: str,
    produce: Callable[..., None],
) -> None:
    project = Project(live, admin)
    v1, v2 = project.commits
    for partition in range(3):
        produce(project.events, [(b"k", b'{"name": "Ada"}')], partition=partition)
    with live.client("editor") as editor:
        made = editor.post(
            f"/api/projects/{project.name}/deployments",
            json={"app": "hello-stream", "cluster": cluster, "replicas": 2, "env": {"X": "1"}},
        )
        assert made.status_code == 201, made.text
        deployment = made.json()
        assert deployment["commit"] == v2 and deployment["replicas"] == 2
        assert deployment["cpu"] == 0.5 and deployment["memory"] == "256Mi"  # from the manifest
        assert deployment["env"] == {"GREETING_STYLE": "plain", "X": "1"}
        assert deployment["enforcement"] in ("cgroup-v2", "cgroup-v1", "rlimit")
        ident = deployment["id"]

        # Two replicas share the three partitions, and both write v2's greeting.
        two = waiting(
            live, ident, lambda: consuming(live, ident, 2, v2, project.events), timeout=40
        )
        assert {r["index"] for r in two} == {0, 1}
        assert all(r["enforcement"] == deployment["enforcement"] for r in two)
        wait_until(lambda: greetings_seen(bootstrap, project.greetings) == {"hello from v2"})

        scaled = editor.patch(f"/api/deployments/{ident}", json={"replicas": 3})
        assert scaled.status_code == 200 and scaled.json()["replicas"] == 3
        three = waiting(
            live, ident, lambda: consuming(live, ident, 3, v2, project.events), timeout=40
        )
        kept = {r["index"]: r["pid"] for r in two}
        assert {r["index"]: r["pid"] for r in three if r["index"] < 2} == kept  # not restarted

        # SIGKILL one replica: the supervisor starts a new process in its place.
        victim = next(r for r in three if r["index"] == 1)
        os.kill(victim["pid"], signal.SIGKILL)

        def restarted() -> dict[str, Any] | None:
            for replica in replicas(live, ident):
                if (
                    replica["index"] == 1
                    and replica["status"] == "running"
                    and replica["pid"] not in (None, victim["pid"])
                    and replica["restarts"] == victim["restarts"] + 1
                ):
                    return replica
            return None

        waiting(live, ident, restarted, timeout=20)
        waiting(live, ident, lambda: consuming(live, ident, 3, v2, project.events), timeout=40)
        # Start the rollback from a settled group: the test broker can leave a group stuck when
        # members leave it mid-rebalance.
        waiting(live, ident, lambda: group_stable(bootstrap, project.group), timeout=30)
        assert not alive(victim["pid"])

        # Roll back to v1: every replica runs v1, and new records get v1's greeting.
        rolled = editor.patch(f"/api/deployments/{ident}", json={"commit": v1[:10]})
        assert rolled.status_code == 200 and rolled.json()["commit"] == v1
        back = waiting(
            live, ident, lambda: consuming(live, ident, 3, v1, project.events), timeout=60
        )
        assert not {r["pid"] for r in back} & {r["pid"] for r in three}
        produce(project.events, [(b"k", b'{"name": "Grace"}')], partition=0)
        wait_until(lambda: "hello from v1" in greetings_seen(bootstrap, project.greetings))

        with live.client("viewer") as viewer:
            logs = viewer.get(f"/api/deployments/{ident}/logs", params={"tail": 500})
            assert logs.status_code == 200
            texts = [line["text"] for line in logs.json()]
            assert any("exited with code -9" in t for t in texts), texts[-20:]
            assert any("app hello-" in t and "started" in t for t in texts)
            with viewer.stream(
                "GET", f"/api/deployments/{ident}/logs/stream", params={"tail": 3}
            ) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                events = stream.iter_lines()
                first = next(line for line in events if line.startswith("data: "))
                assert "text" in json.loads(first.removeprefix("data: "))

        stopped = editor.post(f"/api/deployments/{ident}/stop")
        assert stopped.status_code == 200 and stopped.json()["desired_state"] == "stopped"
        wait_until(lambda: replicas(live, ident) == [], timeout=30)
        assert not any(alive(r["pid"]) for r in back)
        started = editor.post(f"/api/deployments/{ident}/start")
        assert started.status_code == 200 and started.json()["desired_state"] == "running"
        wait_until(
            lambda: (
                len(replicas(live, ident)) == 3
                and all(r["pid"] and r["commit"] == v1 for r in replicas(live, ident))
            )
        )
        pids = [r["pid"] for r in replicas(live, ident)]
        assert editor.delete(f"/api/deployments/{ident}").status_code == 200
        wait_until(lambda: not any(alive(pid) for pid in pids), timeout=30)
        assert editor.get(f"/api/deployments/{ident}").status_code == 404


def test_a_crash_loop_is_failing_in_the_list_its_page_and_the_graph_alike(
    live: LiveServer, cluster: str, admin: TopicAdmin
) -> None:
    project = Project(live, admin, partitions=1)
    with live.client("editor") as editor:
        put = editor.put(
            f"/api/projects/{project.name}/files/app.py",
            json={"content": 'raise RuntimeError("crashing on purpose")\n'},
        )
        assert put.status_code == 200, put.text
        crash = editor.post(f"/api/projects/{project.name}/commits", json={"message": "crash"})
        assert crash.status_code == 201, crash.text
        made = editor.post(
            f"/api/projects/{project.name}/deployments",
            json={"app": "hello-stream", "cluster": cluster, "commit": crash.json()["id"]},
        )
        assert made.status_code == 201, made.text
        ident = made.json()["id"]

        def statuses() -> tuple[str, str, str]:
            one = editor.get(f"/api/deployments/{ident}").json()["status"]
            listed = editor.get(f"/api/projects/{project.name}/deployments").json()
            graph = editor.get("/api/graph", params={"cluster": cluster}).json()
            node = next(n for n in graph["nodes"] if n["id"] == f"deployment:{ident}")
            return one, listed[0]["status"], node["status"]

        try:
            # Between crashes the process is alive for a moment: it still is not ready.
            waiting(live, ident, lambda: statuses() == ("failing",) * 3, timeout=60)
            assert editor.get(f"/api/deployments/{ident}").json()["ready_replicas"] == 0
            assert not any(r["ready"] for r in replicas(live, ident))
            rolled = editor.patch(f"/api/deployments/{ident}", json={"commit": project.commits[1]})
            assert rolled.status_code == 200, rolled.text
            waiting(live, ident, lambda: statuses() == ("running",) * 3, timeout=60)
            assert editor.get(f"/api/deployments/{ident}").json()["ready_replicas"] == 1
        finally:
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200


def test_roles_and_bad_inputs_change_nothing(
    live: LiveServer, cluster: str, admin: TopicAdmin
) -> None:
    project = Project(live, admin, partitions=1)
    path = f"/api/projects/{project.name}/deployments"
    good = {"app": "hello-stream", "cluster": cluster}
    with live.client() as anonymous:
        assert anonymous.get(path).status_code == 401
        assert anonymous.post(path, json=good).status_code == 401
        for route in ("", "/replicas", "/logs"):
            assert anonymous.get(f"/api/deployments/1{route}").status_code == 401
        assert anonymous.post("/api/deployments/1/stop").status_code == 401
        assert anonymous.patch("/api/deployments/1", json={"replicas": 2}).status_code == 401
    with live.client("viewer") as viewer:
        assert viewer.get(path).status_code == 200
        refused = viewer.post(path, json=good)
        assert refused.status_code == 403 and "editor" in refused.json()["detail"]
        for method, route in (("patch", ""), ("delete", ""), ("post", "/stop"), ("post", "/start")):
            kwargs: dict[str, Any] = {"json": {"replicas": 2}} if method == "patch" else {}
            response = getattr(viewer, method)(f"/api/deployments/1{route}", **kwargs)
            assert response.status_code == 403, (method, route)
    with live.client("editor") as editor:
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({**good, "replicas": -1}, 422, "replicas"),
            ({**good, "replicas": 0}, 422, "replicas"),
            ({**good, "memory": "lots"}, 422, "memory"),
            ({**good, "env": {"1BAD": "x"}}, 422, "env"),
            ({**good, "app": "no-such-app"}, 404, "app"),
            ({**good, "commit": "deadbeef"}, 404, "commit"),
            ({**good, "commit": "not-hex!"}, 422, "commit"),
            ({**good, "secrets": {"TOKEN": "no-such-secret"}}, 422, "secrets"),
            ({**good, "cluster": "no-such-cluster"}, 404, ""),
            ({**good, "surprise": 1}, 422, "surprise"),
        ]
        for body, status, field in cases:
            response = editor.post(path, json=body)
            assert response.status_code == status, (body, response.text)
            if field:
                assert field in [e["field"] for e in response.json()["errors"]], response.text
        malformed = editor.post(
            path, content=b'{"app": ', headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["detail"]
        unknown = editor.post("/api/projects/no-such-project/deployments", json=good)
        assert unknown.status_code == 404 and "no-such-project" in unknown.json()["detail"]
        assert editor.get(path).json() == []
        assert editor.get("/api/deployments/999999").status_code == 404

        made = editor.post(path, json={**good, "state": "stopped"})
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
        again = editor.post(path, json=good)
        assert again.status_code == 409 and "PATCH" in again.json()["detail"]
        before = editor.get(f"/api/deployments/{ident}").json()
        for body in ({"replicas": -2}, {"commit": "deadbeef"}, {"cpu": 0}):
            assert editor.patch(f"/api/deployments/{ident}", json=body).status_code in (404, 422)
        assert editor.get(f"/api/deployments/{ident}").json() == before
        assert replicas(live, ident) == []  # stopped: nothing runs
        with live.client("admin") as admin_client:
            project_path = f"/api/projects/{project.name}"
            kept = admin_client.delete(project_path)
            assert kept.status_code == 409 and "hello-stream" in kept.json()["detail"]
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200
            assert admin_client.delete(project_path).status_code == 200


def test_server_restart_brings_deployments_back(
    tmp_path: Path, admin: TopicAdmin, bootstrap: str
) -> None:
    token = uuid.uuid4().hex[:8]
    events, greetings = f"events-{token}", f"greetings-{token}"
    admin.create([Topic(events, partitions=1), Topic(greetings, partitions=1)])
    settings = PlatformSettings(data_dir=tmp_path, admin_password="a-long-password")

    def logged_in(client: TestClient) -> None:
        response = client.post(
            "/api/auth/login", json={"username": "admin", "password": "a-long-password"}
        )
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]

    def running(client: TestClient, ident: int) -> list[int]:
        found = client.get(f"/api/deployments/{ident}/replicas").json()
        return [r["pid"] for r in found if r["status"] == "running" and r["partitions"]]

    with TestClient(create_app(settings)) as client:
        logged_in(client)
        assert (
            client.post(
                "/api/clusters", json={"name": "default", "bootstrap_servers": bootstrap}
            ).status_code
            == 201
        )
        assert (
            client.post(
                "/api/projects", json={"name": "restart", "template": "hello-stream"}
            ).status_code
            == 201
        )
        for path, content in (
            (
                "app.py",
                APP.format(
                    name=f"hello-{token}", events=events, greetings=greetings, greeting="hi"
                ),
            ),
            ("headwater.yaml", MANIFEST.format(events=events, greetings=greetings)),
        ):
            put = client.put(f"/api/projects/restart/files/{path}", json={"content": content})
            assert put.status_code == 200
        assert (
            client.post("/api/projects/restart/commits", json={"message": "v"}).status_code == 201
        )
        made = client.post("/api/projects/restart/deployments", json={"app": "hello-stream"})
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
        (first,) = wait_until(lambda: running(client, ident), timeout=40)
    assert not alive(first)  # the server stopped its replicas on the way out

    with TestClient(create_app(settings)) as client:
        logged_in(client)
        (second,) = wait_until(lambda: running(client, ident), timeout=40)
        assert second != first
