"""Shared fixtures: one real Kafka-protocol broker per test session, and topics on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import Producer
from kafka_helpers import read_all

from headwater import Topic
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.broker import LocalBroker
from headwater.kafka.settings import KafkaSettings


@pytest.fixture(scope="session")
def bootstrap() -> Iterator[str]:
    """Bootstrap servers of the test broker (HEADWATER_TEST_BROKER to use a running one)."""
    external = os.environ.get("HEADWATER_TEST_BROKER")
    if external:
        yield external
        return
    with LocalBroker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def admin(bootstrap: str) -> TopicAdmin:
    return TopicAdmin(KafkaSettings(bootstrap))


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names per test, so tests never see each other's topics or groups."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{token}"


@pytest.fixture
def make_topic(admin: TopicAdmin, unique: Callable[[str], str]) -> Callable[..., str]:
    def make(prefix: str = "topic", partitions: int = 1, **config: str) -> str:
        name = unique(prefix)
        admin.create([Topic(name, partitions=partitions, config=dict(config))])
        return name

    return make


@pytest.fixture
def produce(bootstrap: str) -> Callable[..., None]:
    def send(topic: str, records: list[tuple[Any, Any]], **kwargs: Any) -> None:
        producer = Producer({"bootstrap.servers": bootstrap})
        for key, value in records:
            producer.produce(topic, value, key, **kwargs)
        assert producer.flush(30) == 0

    return send


@pytest.fixture
def read(bootstrap: str) -> Callable[..., list[Any]]:
    return lambda *topics, **config: read_all(bootstrap, list(topics), **config)
