"""Topics through the API against the real broker: list, detail with lag, create, delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from fastapi.testclient import TestClient
from kafka_helpers import wait_until
from platform_server import LiveServer

from headwater.platform import PlatformSettings, create_app


@pytest.fixture
def cluster(live: LiveServer, bootstrap: str) -> str:
    """A cluster on the test broker; tests name it, as other tests add clusters of their own."""
    name = f"topics-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": name, "bootstrap_servers": bootstrap})
        assert made.status_code == 201, made.text
    return name


def listed(live: LiveServer, cluster: str) -> dict[str, dict[str, Any]]:
    with live.client("viewer") as viewer:
        response = viewer.get("/api/topics", params={"cluster": cluster})
        assert response.status_code == 200, response.text
        return {t["name"]: t for t in response.json()}


def test_created_topic_is_listed_with_count_rate_and_group_lag(
    live: LiveServer, cluster: str, bootstrap: str, produce: Callable[..., None]
) -> None:
    name = f"orders-{uuid.uuid4().hex[:6]}"
    with live.client("editor") as editor:
        made = editor.post(
            "/api/topics",
            params={"cluster": cluster},
            json={"name": name, "partitions": 3, "retention_ms": 3_600_000},
        )
        assert made.status_code == 201, made.text
        assert made.json()["partitions"] == 3 and made.json()["messages"] == 0
    row = listed(live, cluster)[name]
    assert row["partitions"] == 3 and row["replication"] == 1 and not row["internal"]
    assert row["config"]["retention.ms"] == "3600000"
    assert row["config"]["cleanup.policy"] == "delete"
    # One record per produce call: separate batches, as watermarks may trail by one batch.
    for i in range(10):
        produce(name, [(b"k", f"v{i}".encode())], partition=0)
    wait_until(lambda: listed(live, cluster)[name]["messages"] >= 9, timeout=10)
    assert listed(live, cluster)[name]["rate"] > 0

    group = f"readers-{uuid.uuid4().hex[:6]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(name, 0, 4)], asynchronous=False)
    finally:
        consumer.close()
    with live.client("viewer") as viewer:
        detail = viewer.get(f"/api/topics/{name}", params={"cluster": cluster}).json()
    assert [p["partition"] for p in detail["offsets"]] == [0, 1, 2]
    assert detail["offsets"][0]["high"] >= 9 and detail["offsets"][1]["high"] == 0
    assert detail["consumer_groups"] is not None, detail["consumer_groups_note"]
    (reader,) = [g for g in detail["consumer_groups"] if g["group"] == group]
    assert reader["partitions"][0]["committed"] == 4
    assert 5 <= reader["lag"] <= 6  # the high watermark can trail by the last batch
    with live.client("viewer") as viewer:
        missing = viewer.get("/api/topics/no-such-topic", params={"cluster": cluster})
        assert missing.status_code == 404 and "no-such-topic" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name!"}, "name"),
        ({"name": "__sneaky"}, "name"),
        ({"partitions": 0}, "partitions"),
        ({"retention": 1000}, "retention"),
        ({"retention_ms": -5}, "retention_ms"),
    ],
)
def test_bad_topics_are_refused_by_field_and_change_nothing(
    live: LiveServer, cluster: str, body: dict[str, Any], field: str
) -> None:
    name = f"bad-{uuid.uuid4().hex[:6]}"
    with live.client("editor") as editor:
        response = editor.post(
            "/api/topics", params={"cluster": cluster}, json={"name": name, **body}
        )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    topics = listed(live, cluster)
    assert name not in topics and body.get("name") not in topics


def test_existing_topic_is_a_conflict_and_delete_needs_admin_and_confirmation(
    live: LiveServer, cluster: str
) -> None:
    name = f"doomed-{uuid.uuid4().hex[:6]}"
    path, params = f"/api/topics/{name}", {"cluster": cluster}
    with live.client("editor") as editor:
        body = {"name": name, "compacted": True}
        assert editor.post("/api/topics", params=params, json=body).status_code == 201
        again = editor.post("/api/topics", params=params, json=body)
        assert again.status_code == 409 and "exists already" in again.json()["detail"]
        refused = editor.delete(path, params={**params, "confirm": name})
        assert refused.status_code == 403
    assert listed(live, cluster)[name]["config"]["cleanup.policy"] == "compact"
    with live.client("admin") as admin:
        for confirm in (None, "other-topic"):
            query = {**params, **({"confirm": confirm} if confirm else {})}
            unconfirmed = admin.delete(path, params=query)
            assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.json()["detail"]
        assert name in listed(live, cluster)
        assert admin.delete(path, params={**params, "confirm": name}).status_code == 200
        assert name not in listed(live, cluster)
        gone = admin.delete(path, params={**params, "confirm": name})
        assert gone.status_code == 404


def test_without_a_cluster_topics_answer_409_and_an_unknown_cluster_404(
    live: LiveServer, tmp_path: Path
) -> None:
    with live.client("viewer") as viewer:
        unknown = viewer.get("/api/topics", params={"cluster": "no-such-cluster"})
        assert unknown.status_code == 404 and "no-such-cluster" in unknown.json()["detail"]
    if live.backend != "sqlite":
        return  # the fresh server below needs no second run
    app = create_app(PlatformSettings(data_dir=tmp_path, admin_password="a-long-password"))
    with TestClient(app) as client:
        client.post("/api/auth/login", json={"username": "admin", "password": "a-long-password"})
        response = client.get("/api/topics")
    assert response.status_code == 409 and "POST /api/clusters" in response.json()["detail"]
