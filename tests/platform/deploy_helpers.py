"""A deployable hello-stream project and replica polling, shared by the deployment tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from kafka_helpers import wait_until
from platform_server import LiveServer

from headwater import Topic
from headwater.kafka.admin import TopicAdmin

APP = """
from headwater import App

# Fast group joins on the test broker (about 3 s instead of 23 s); a rebalance waits at most
# 10 s for a member that was killed mid-join.
fast = {{"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "max.poll.interval.ms": 10000}}
app = App({name!r}, consumer_config=fast)
events = app.topic({events!r}, value="json")
greetings = app.topic({greetings!r}, value="json")
sdf = app.dataframe(events)
sdf = sdf.apply(lambda event: {{**event, "greeting": {greeting!r}}})
sdf.to_topic(greetings)
"""
MANIFEST = """apps:
  - name: hello-stream
    entrypoint: app.py
    inputs: [{events}]
    outputs: [{greetings}]
    replicas: 1
    cpu: 0.5
    memory: 256Mi
    env: {{GREETING_STYLE: plain}}
"""


class Project:
    """A hello-stream project with two commits that differ in the greeting they write."""

    def __init__(self, live: LiveServer, admin: TopicAdmin, partitions: int = 3) -> None:
        token = uuid.uuid4().hex[:8]
        self.name, self.group = f"deploy-{token}", f"hello-{token}"
        self.events, self.greetings = f"events-{token}", f"greetings-{token}"
        admin.create(
            [Topic(self.events, partitions=partitions), Topic(self.greetings, partitions=1)]
        )
        self.commits: list[str] = []
        with live.client("editor") as editor:
            made = editor.post(
                "/api/projects", json={"name": self.name, "template": "hello-stream"}
            )
            assert made.status_code == 201, made.text
            for greeting in ("hello from v1", "hello from v2"):
                self._write(
                    editor,
                    "app.py",
                    APP.format(
                        name=self.group,
                        events=self.events,
                        greetings=self.greetings,
                        greeting=greeting,
                    ),
                )
                self._write(
                    editor,
                    "headwater.yaml",
                    MANIFEST.format(events=self.events, greetings=self.greetings),
                )
                commit = editor.post(
                    f"/api/projects/{self.name}/commits", json={"message": greeting}
                )
                assert commit.status_code == 201, commit.text
                self.commits.append(commit.json()["id"])

    def _write(self, client: httpx.Client, path: str, content: str) -> None:
        response = client.put(f"/api/projects/{self.name}/files/{path}", json={"content": content})
        assert response.status_code == 200, response.text


def add_cluster(live: LiveServer, bootstrap: str) -> str:
    """A new cluster on the server pointing at ``bootstrap``; its name."""
    name = f"deploy-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": name, "bootstrap_servers": bootstrap})
        assert made.status_code == 201, made.text
    return name


def replicas(live: LiveServer, deployment: int) -> list[dict[str, Any]]:
    with live.client("viewer") as viewer:
        response = viewer.get(f"/api/deployments/{deployment}/replicas")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found


def waiting(live: LiveServer, deployment: int, condition: Callable[[], Any], timeout: float) -> Any:
    """``wait_until``, failing with the replicas and the latest log lines to show why."""
    try:
        return wait_until(condition, timeout=timeout)
    except AssertionError:
        with live.client("viewer") as viewer:
            lines = viewer.get(f"/api/deployments/{deployment}/logs", params={"tail": 40}).json()
        shown = "\n".join(f"[{line['replica']}] {line['text']}" for line in lines)
        raise AssertionError(f"replicas: {replicas(live, deployment)}\nlog:\n{shown}") from None


def consuming(
    live: LiveServer, deployment: int, count: int, commit: str, topic: str
) -> list[dict[str, Any]] | None:
    """The replicas if exactly ``count`` run ``commit`` and split ``topic`` between them."""
    found = [r for r in replicas(live, deployment) if r["status"] == "running"]
    if len(found) != count or len(replicas(live, deployment)) != count:
        return None
    owned: list[set[int]] = []
    for replica in found:
        if replica["commit"] != commit or not replica["partitions"]:
            return None
        owned.append({p["partition"] for p in replica["partitions"] if p["topic"] == topic})
    if not all(owned) or sum(len(o) for o in owned) != len(set().union(*owned)):
        return None  # a replica owns nothing yet, or two claim one partition mid-rebalance
    return found
