"""Consumer groups and topic settings through the API, on the test broker (Apache Kafka).

Tansu does not implement IncrementalAlterConfigs for topics (docs/platform.md says so), so
editing is tested on Apache Kafka, the reference broker of the suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka_helpers import wait_until
from platform_server import LiveServer

from headwater import Topic
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings


@pytest.fixture
def cluster(live: LiveServer, bootstrap: str) -> str:
    name = f"views-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": name, "bootstrap_servers": bootstrap})
        assert made.status_code == 201, made.text
    return name


@pytest.fixture
def topic(bootstrap: str) -> Iterator[str]:
    name = f"views-{uuid.uuid4().hex[:8]}"
    admin = TopicAdmin(KafkaSettings(bootstrap))
    admin.create([Topic(name, partitions=2, config={"cleanup.policy": "delete"})])
    yield name
    admin.delete([name])


def test_a_group_shows_its_members_their_partitions_and_lag_per_partition(
    live: LiveServer, cluster: str, topic: str, bootstrap: str
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        producer.produce(topic, key=f"k{i}", value=b"x", partition=i % 2)
    assert producer.flush(30) == 0
    group = f"g-{uuid.uuid4().hex[:6]}"
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "views-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    try:
        consumer.subscribe([topic])
        wait_until(lambda: consumer.poll(0.2) is not None or consumer.assignment(), 60)
        wait_until(lambda: len(consumer.assignment()) == 2 or (consumer.poll(0.2) and False), 60)
        # Partition 0 read up to 2 of its 5 records, partition 1 up to 5 of 5.
        consumer.commit(
            offsets=[TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 5)], asynchronous=False
        )

        def described() -> dict[str, object] | None:
            consumer.poll(0.1)  # keep the member alive
            with live.client("viewer") as viewer:
                response = viewer.get(f"/api/groups/{group}", params={"cluster": cluster})
            body: dict[str, object] = response.json()
            return body if response.status_code == 200 and body["members"] else None

        body = wait_until(described, 60)
        (member,) = body["members"]  # type: ignore[misc]
        assert member["client_id"] == "views-reader"
        assert sorted(map(tuple, member["assignment"])) == [(topic, 0), (topic, 1)]
        partitions = [
            (p["partition"], p["committed"], p["end"], p["lag"], p["member"])
            for p in body["partitions"]
        ]  # type: ignore[attr-defined]
        assert partitions == [(0, 2, 5, 3, "views-reader"), (1, 5, 5, 0, "views-reader")]
        assert body["lag"] == 3
        assert body["state"] == "stable"
    finally:
        consumer.close()
    with live.client("viewer") as viewer:
        missing = viewer.get("/api/groups/no-such-group-here", params={"cluster": cluster})
    assert missing.status_code == 404


def test_topic_settings_are_shown_and_editors_change_retention_and_nothing_else(
    live: LiveServer, cluster: str, topic: str
) -> None:
    path, params = f"/api/topics/{topic}/config", {"cluster": cluster}
    with live.client("viewer") as viewer:
        shown = viewer.get(path, params=params)
        assert shown.status_code == 200, shown.text
        config = shown.json()["config"]
        assert config["cleanup.policy"]["value"] == "delete"
        assert config["retention.ms"]["editable"] is True
        assert shown.json()["partitions"] == 2
        refused = viewer.patch(path, params=params, json={"config": {"retention.ms": "1000"}})
        assert refused.status_code == 403
    with live.client("editor") as editor:
        changed = editor.patch(path, params=params, json={"config": {"retention.ms": "3600000"}})
        assert changed.status_code == 200, changed.text
        config = changed.json()["config"]
        assert config["retention.ms"] == {
            "value": "3600000",
            "default": False,
            "read_only": False,
            "editable": True,
        }
        assert config["cleanup.policy"]["value"] == "delete"  # untouched by the change
        bad = editor.patch(path, params=params, json={"config": {"segment.bytes": "1"}})
        assert bad.status_code == 422 and "segment.bytes" in bad.text
        refused = editor.patch(path, params=params, json={"config": {"cleanup.policy": "bogus"}})
        assert refused.status_code == 422, refused.text
        assert "refused" in refused.json()["detail"]
        reset = editor.patch(path, params=params, json={"config": {"retention.ms": None}})
        assert reset.json()["config"]["retention.ms"]["default"] is True


def test_partitions_grow_only_after_the_keyed_data_warning_is_accepted(
    live: LiveServer, cluster: str, topic: str
) -> None:
    path, params = f"/api/topics/{topic}/partitions", {"cluster": cluster}
    with live.client("viewer") as viewer:
        assert viewer.post(path, params=params, json={"partitions": 3}).status_code == 403
    with live.client("editor") as editor:
        unconfirmed = editor.post(path, params=params, json={"partitions": 3})
        assert unconfirmed.status_code == 422
        assert "records of one key" in unconfirmed.text
        fewer = editor.post(
            path, params=params, json={"partitions": 2, "accept_key_remapping": True}
        )
        assert fewer.status_code == 422 and "partitions never shrink" in fewer.text
        grown = editor.post(
            path, params=params, json={"partitions": 4, "accept_key_remapping": True}
        )
        assert grown.status_code == 200, grown.text
        assert grown.json()["partitions"] == 4


def test_groups_are_listed_and_their_lag_per_partition_kept_over_time(
    live: LiveServer, cluster: str, topic: str, bootstrap: str
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(6):
        producer.produce(topic, key=f"k{i}", value=b"x", partition=i % 2)
    assert producer.flush(30) == 0
    group = f"g-{uuid.uuid4().hex[:6]}"
    # Offsets committed without joining: a group with no members, 3 behind on partition 0.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(
            offsets=[TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 3)], asynchronous=False
        )
    finally:
        consumer.close()
    params = {"cluster": cluster}

    with live.client("viewer") as viewer:
        listed = viewer.get("/api/groups", params=params)
        assert listed.status_code == 200, listed.text
        (summary,) = [g for g in listed.json() if g["group"] == group]
        assert summary == {
            "group": group,
            "state": "empty",
            "members": 0,
            "topics": [topic],
            "lag": 3,
        }

        def sampled() -> dict[str, object] | None:
            answer = viewer.get(f"/api/groups/{group}/lag", params={**params, "minutes": 5})
            assert answer.status_code == 200, answer.text
            body: dict[str, object] = answer.json()
            return body if len(body["series"]) == 2 else None  # type: ignore[arg-type]

        body = wait_until(sampled, 30)
        assert body["group"] == group and body["cluster"] == cluster
        series = body["series"]
        assert [s["labels"] for s in series] == [  # type: ignore[attr-defined]
            {"topic": topic, "partition": "0"},
            {"topic": topic, "partition": "1"},
        ]
        assert [s["points"][-1][1] for s in series] == [3, 0]  # type: ignore[attr-defined]
        assert all(p[0] > 1.7e9 for s in series for p in s["points"])  # type: ignore[attr-defined]

        scraped = viewer.get("/metrics").text
        for partition, lag in ((0, 3), (1, 0)):
            labels = f'group="{group}",partition="{partition}",topic="{topic}"'
            assert (
                f'headwater_consumer_group_partition_lag{{cluster="{cluster}",{labels}}} {lag}.0'
                in scraped
            )

        unknown = viewer.get("/api/groups/no-such-group-here/lag", params=params)
        assert unknown.status_code == 200 and unknown.json()["series"] == []
        for minutes in (0, 61):
            refused = viewer.get(f"/api/groups/{group}/lag", params={**params, "minutes": minutes})
            assert refused.status_code == 422, refused.text
    with live.client() as anonymous:
        assert anonymous.get(f"/api/groups/{group}/lag", params=params).status_code == 401
        assert anonymous.get("/api/groups", params=params).status_code == 401
