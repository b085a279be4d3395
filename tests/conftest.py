"""Shared fixtures: the test broker (Apache Kafka, one per test run), and topics on it.

The broker starts once, in the process that runs pytest (the xdist controller when the suite
runs in several processes), before any worker starts: the workers inherit its address through
``HEADWATER_TEST_BROKER``. Set that variable to test against a cluster of your own, and
``HEADWATER_TEST_BROKER_KIND`` to ``tansu`` when that cluster is a Tansu broker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from kafka_helpers import read_all
from suite_order import FileTimes, longest_first

from headwater import Topic
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.apache_kafka import ApacheKafkaBroker
from headwater.kafka.broker import BrokerKind
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tansu import TansuBroker

BROKER_ENV = "HEADWATER_TEST_BROKER"
BROKER_KIND_ENV = "HEADWATER_TEST_BROKER_KIND"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
_started: list[ApacheKafkaBroker] = []
_file_times = FileTimes()


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get(BROKER_ENV):
        return  # a worker inherits the controller's broker; or one was given
    ARTIFACTS.mkdir(exist_ok=True)
    broker = ApacheKafkaBroker(log_path=ARTIFACTS / "kafka.log").start(timeout=60)
    _started.append(broker)
    os.environ[BROKER_ENV] = broker.bootstrap_servers
    os.environ[BROKER_KIND_ENV] = broker.kind


def pytest_unconfigure(config: pytest.Config) -> None:
    while _started:
        _started.pop().stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    longest_first(items)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _file_times.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the controller has every worker's reports
        _file_times.write(ARTIFACTS / "file-seconds.json")


@pytest.fixture(scope="session")
def bootstrap() -> str:
    """Bootstrap servers of the test broker."""
    return os.environ[BROKER_ENV]


@pytest.fixture(scope="session")
def broker_kind() -> BrokerKind:
    kind = os.environ.get(BROKER_KIND_ENV, "apache")
    assert kind in ("apache", "tansu"), f"{BROKER_KIND_ENV} must be apache or tansu"
    return kind  # type: ignore[return-value]


@pytest.fixture(scope="session")
def tansu_bootstrap() -> Iterator[str]:
    """A Tansu broker for the tests of what runs on it by default (`up`, the demo, the CLI)."""
    with TansuBroker() as broker:
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
