"""What docs/brokers.md says of the two brokers Headwater can start, checked on each: both run
transactions that commit; only Apache Kafka hides aborted ones from read_committed readers
(which is why exactly-once is proven on it, and skipped on Tansu)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from kafka_helpers import read_all

from headwater import Topic
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.broker import BROKER_KINDS, BrokerProcess, make_broker
from headwater.kafka.settings import KafkaSettings

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module", params=BROKER_KINDS)
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerProcess]:
    with make_broker(request.param) as broker:
        yield broker


def _abort_then_commit(bootstrap: str) -> list[bytes]:
    """Abort one transaction, commit the next: what a read_committed reader sees."""
    topic = f"abort-probe-{uuid.uuid4().hex[:8]}"
    TopicAdmin(KafkaSettings(bootstrap)).create([Topic(topic)])
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": topic})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, b"aborted")
    assert producer.flush(30) == 0
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, b"committed")
    producer.commit_transaction(30)
    seen = read_all(bootstrap, [topic], **{"isolation.level": "read_committed"})
    return [m.value() for m in seen]


def test_only_apache_kafka_hides_aborted_transactions(broker: BrokerProcess) -> None:
    seen = _abort_then_commit(broker.bootstrap_servers)
    if broker.kind == "apache":
        assert seen == [b"committed"]
    else:  # the gap docs/brokers.md lists first
        assert seen == [b"aborted", b"committed"]


def test_apache_kafka_keeps_topics_in_its_data_dir_across_restarts(tmp_path: Path) -> None:
    from headwater.kafka.apache_kafka import ApacheKafkaBroker

    with ApacheKafkaBroker(data_dir=tmp_path / "kafka") as first:
        TopicAdmin(KafkaSettings(first.bootstrap_servers)).create([Topic("kept", partitions=2)])
        producer = Producer({"bootstrap.servers": first.bootstrap_servers})
        producer.produce("kept", b"still here", b"k", partition=1)
        assert producer.flush(30) == 0
    # Started again on other ports (the controller's too): same cluster, same records.
    with ApacheKafkaBroker(data_dir=tmp_path / "kafka") as second:
        assert second.port != first.port
        seen = read_all(second.bootstrap_servers, ["kept"])
    assert [(m.partition(), m.key(), m.value()) for m in seen] == [(1, b"k", b"still here")]
