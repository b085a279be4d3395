"""Helpers the tests share: broker settings for fast group joins, waiting, reading topics.

They live here rather than in a conftest so any test module can import them by a unique name.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka import Consumer

# Group joins take ~23 s with librdkafka defaults on the test broker; these make them ~3 s.
FAST_GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


def skip_on_tansu(kind: str, lacks: str) -> None:
    """Skip a test that needs broker behaviour Tansu lacks (each is listed in docs/brokers.md):
    ``lacks`` says what, e.g. "shows aborted records to read_committed readers"."""
    if kind == "tansu":
        pytest.skip(f"Tansu 0.6 {lacks} (docs/brokers.md)")


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


# A group's coordinator answers these while it loads or moves (a fresh broker, a new group);
# a busy machine may also let one request time out.
_COORDINATOR_BUSY = {
    "NOT_COORDINATOR",
    "COORDINATOR_LOAD_IN_PROGRESS",
    "COORDINATOR_NOT_AVAILABLE",
    "_TIMED_OUT",
}


def group_committed(consumer: Consumer, partitions: list[Any], timeout: float = 30.0) -> list[Any]:
    """``consumer.committed(partitions)``, asked again while the group's coordinator is busy."""
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    while True:
        try:
            return list(consumer.committed(partitions, timeout=10))
        except KafkaException as exc:
            if exc.args[0].name() not in _COORDINATOR_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def read_all(bootstrap: str, topics: list[str], **config: Any) -> list[Any]:
    """Every record currently in ``topics``, read to partition EOF (exact on every broker)."""
    from confluent_kafka import TopicPartition

    with _reader(bootstrap, config) as consumer:
        metadata = consumer.list_topics(timeout=10)
        partitions = [
            TopicPartition(t, p, 0)  # offset 0: from the beginning
            for t in topics
            for p in metadata.topics[t].partitions
        ]
        return _drain(consumer, partitions)


def read_from(bootstrap: str, partitions: list[Any], **config: Any) -> list[Any]:
    """Every record from the given (topic, partition, offset) positions to partition EOF."""
    with _reader(bootstrap, config) as consumer:
        return _drain(consumer, partitions)


@contextmanager
def _reader(bootstrap: str, config: dict[str, Any]) -> Iterator[Consumer]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
            # librdkafka waits 1 s by default once its prefetch queue is full, which stalls a
            # reader of a large topic: it reads about twice as fast with 20 ms.
            "fetch.queue.backoff.ms": 20,
            **config,
        }
    )
    try:
        yield consumer
    finally:
        consumer.close()


def _drain(consumer: Consumer, partitions: list[Any]) -> list[Any]:
    consumer.assign(partitions)
    remaining = {(tp.topic, tp.partition) for tp in partitions}
    messages = []
    deadline = time.monotonic() + 60
    while remaining and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                remaining.discard((m.topic(), m.partition()))
            continue
        messages.append(m)
    assert not remaining, f"did not reach the end of {remaining}"
    return messages
