"""Metrics through the API: topic series sampled from the real broker, deployment figures,
Prometheus text, and who may read them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from deploy_helpers import Project, consuming, waiting
from kafka_helpers import wait_until
from platform_server import LiveServer
from prometheus_client.parser import text_string_to_metric_families

from headwater.kafka.admin import TopicAdmin
from headwater.platform.metrics import MetricsStore
from headwater.platform.metrics.deployment import deployment_series


@pytest.fixture
def cluster(live: LiveServer, bootstrap: str) -> str:
    name = f"metrics-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": name, "bootstrap_servers": bootstrap})
        assert made.status_code == 201, made.text
    return name


def scrape(live: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and sorted labels."""
    with live.client("viewer") as viewer:
        response = viewer.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def series(live: LiveServer, path: str, **params: Any) -> dict[str, list[Any]]:
    with live.client("viewer") as viewer:
        response = viewer.get(path, params=params)
    assert response.status_code == 200, response.text
    return {
        s["name"] + "".join(f"[{v}]" for v in s["labels"].values()): s["points"]
        for s in response.json()["series"]
    }


def test_topics_are_sampled_into_series_and_prometheus_text(
    live: LiveServer,
    cluster: str,
    bootstrap: str,
    make_topic: Callable[..., str],
    produce: Callable[..., None],
) -> None:
    topic = make_topic("metered")
    for i in range(10):  # separate batches: watermarks may trail the last one
        produce(topic, [(b"k", f"v{i}".encode())])
    group = f"readers-{uuid.uuid4().hex[:6]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, 4)], asynchronous=False)
    finally:
        consumer.close()

    path = f"/api/metrics/topics/{topic}"
    found = wait_until(
        lambda: (s := series(live, path, cluster=cluster)).get("rate") and s, timeout=30
    )
    assert found["messages"][-1][1] >= 9
    assert found[f"lag[{group}]"][-1][1] in (5, 6)  # the high watermark can trail by a batch
    assert all(len(point) == 2 and point[0] > 1.7e9 for point in found["messages"])

    labels = (("cluster", cluster), ("topic", topic))
    samples = scrape(live)
    assert samples[("headwater_topic_messages", labels)] >= 9
    assert ("headwater_topic_records_per_second", labels) in samples
    lag = ("headwater_consumer_group_lag", tuple(sorted((*labels, ("group", group)))))
    assert samples[lag] in (5, 6)
    requests = [
        value
        for (name, labels_), value in samples.items()
        if name == "headwater_http_requests_total"
        and dict(labels_)["route"] == "/api/metrics/topics/{name}"
        and dict(labels_)["status"] == "200"
    ]
    assert requests and requests[0] >= 1


def test_a_deployments_in_and_lag_are_its_own_groups_and_out_its_topics_rate(
    live: LiveServer,
    cluster: str,
    admin: TopicAdmin,
    bootstrap: str,
    produce: Callable[..., None],
) -> None:
    project = Project(live, admin, partitions=1)
    # Another project's group on the same input, far behind: not this deployment's lag.
    outsider = f"outsider-{uuid.uuid4().hex[:6]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": outsider})
    try:
        consumer.commit(offsets=[TopicPartition(project.events, 0, 0)], asynchronous=False)
    finally:
        consumer.close()
    with live.client("editor") as editor:
        made = editor.post(
            f"/api/projects/{project.name}/deployments",
            json={"app": "hello-stream", "cluster": cluster},
        )
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
    path = f"/api/metrics/deployments/{ident}"
    try:
        waiting(
            live, ident, lambda: consuming(live, ident, 1, project.commits[1], project.events), 40
        )

        def flowing() -> dict[str, list[Any]] | None:
            produce(project.events, [(b"k", b'{"name": "Ada"}')])
            found = series(live, path)
            rate_in = found.get(f"in[{project.events}]")
            return (
                found
                if rate_in and rate_in[-1][1] > 0 and found.get(f"out[{project.greetings}]")
                else None
            )

        found = wait_until(flowing, timeout=60, interval=1)
        per_topic = {name for name in found if "[" in name}
        assert per_topic == {
            f"in[{project.events}]",
            f"lag[{project.events}]",
            f"out[{project.greetings}]",
            f"out[{project.group}.dlq]",  # dead letters are an output too
        }
        # Beside them, the app's own series, as its replicas report them.
        assert set(found) - per_topic <= {
            "busy_ratio",
            "checkpoints",
            "checkpoint_seconds",
            "checkpoint_offsets",
            "checkpoint_changelog_records",
            "checkpoint_failures",
        }
        with live.client("viewer") as viewer:
            body = viewer.get(path).json()
        assert body["group"] == project.group
        labels = {s["name"]: s["labels"] for s in body["series"]}
        assert labels["lag"] == {"topic": project.events}
        # The outsider's lag is the topic's whole length; this deployment's is small.
        topic = series(live, f"/api/metrics/topics/{project.events}", cluster=cluster)
        assert topic[f"lag[{outsider}]"][-1][1] >= 1
        assert found[f"lag[{project.events}]"][-1][1] < topic[f"lag[{outsider}]"][-1][1]

        live.context.metrics.record(ident, "records_per_second", 12.5)
        assert series(live, path)["records_per_second"][-1][1] == 12.5
        key = (
            "headwater_deployment_metric",
            (("deployment", str(ident)), ("labels", ""), ("metric", "records_per_second")),
        )
        assert scrape(live)[key] == 12.5
    finally:
        with live.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200
    with live.client("viewer") as viewer:
        assert viewer.get(path).status_code == 404


def test_in_is_what_the_group_consumed_not_what_was_written() -> None:
    store = MetricsStore()
    mine, theirs = (("group", "mine"),), (("group", "theirs"),)
    store.record_topic("c", "orders", "rate", 50.0, at=time.time())
    store.record_topic("c", "orders", "consumed", 0.0, mine, at=time.time())
    store.record_topic("c", "orders", "lag", 900, mine, at=time.time())
    store.record_topic("c", "orders", "consumed", 50.0, theirs, at=time.time())
    store.record_topic("c", "orders", "lag", 2, theirs, at=time.time())
    store.record_topic("c", "scores", "rate", 0.5, at=time.time())
    found = deployment_series(store, "c", "mine", ["orders"], ["scores"])
    values = {
        (name, dict(labels)["topic"]): points[-1][1] for (name, labels), points in found.items()
    }
    assert values == {("in", "orders"): 0.0, ("lag", "orders"): 900.0, ("out", "scores"): 0.5}
    # Before a replica names its group, nothing is claimed for it.
    assert set(deployment_series(store, "c", None, ["orders"], ["scores"])) == {
        ("out", (("topic", "scores"),))
    }


def test_old_points_fall_out_of_the_hour(live: LiveServer) -> None:
    store = live.context.metrics.store
    deployment = f"dep-{uuid.uuid4().hex[:6]}"
    store.record(deployment, "x", 1, at=1_000.0)
    store.record(deployment, "x", 2)
    assert [v for _, v in store.deployment(deployment)[("x", ())]] == [2.0]


def test_metrics_need_a_token_and_health_does_not(live: LiveServer, cluster: str) -> None:
    with live.client() as anonymous:
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/api/metrics/topics/x").status_code == 401
        assert anonymous.get("/api/metrics/deployments/1").status_code == 401
        assert anonymous.get("/healthz").json()["status"] == "ok"
    with live.client("viewer") as viewer:
        wrong = viewer.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        unknown = viewer.get("/api/metrics/topics/x", params={"cluster": "no-such-cluster"})
        assert unknown.status_code == 404 and "no-such-cluster" in unknown.json()["detail"]
