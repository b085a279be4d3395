"""A partition paused right after its assignment (its store recovering) starts where it is
told once resumed: librdkafka may have lost its fetch start and refuse a seek, or never fetch
(confluentinc/librdkafka#2190, #3959), so the runner assigns it afresh at that offset."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition
from kafka_helpers import wait_until

from headwater.runtime.runner import _restart_at

PARTITIONS = 3
START = 50


def _first_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Subscribe, pause in the assign callback as the runner does, resume at once at START:
    the first record each partition gives."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"resume-{uuid.uuid4().hex[:8]}",
            "partition.assignment.strategy": "cooperative-sticky",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    assigned: list[TopicPartition] = []

    def on_assign(c: Consumer, partitions: list[TopicPartition]) -> None:
        c.incremental_assign(partitions)
        c.pause(partitions)
        assigned.extend(partitions)

    first: dict[int, int] = {}
    try:
        consumer.subscribe([topic], on_assign=on_assign)
        wait_until(lambda: consumer.poll(0.05) is None and bool(assigned), timeout=30)
        _restart_at(consumer, [TopicPartition(tp.topic, tp.partition, START) for tp in assigned])

        def all_started() -> bool:
            for m in consumer.consume(1000, timeout=0.1):
                if m.error() is None:
                    first.setdefault(m.partition(), m.offset())
            return len(first) == PARTITIONS

        wait_until(all_started, timeout=30)
    finally:
        consumer.close()
    return first


def test_a_partition_paused_at_assignment_resumes_where_it_is_told(
    make_topic: Callable[..., str], produce: Callable[..., None], bootstrap: str
) -> None:
    topic = make_topic("resume", partitions=PARTITIONS)
    for partition in range(PARTITIONS):
        produce(topic, [(b"k", b"%d" % n) for n in range(100)], partition=partition)
    # The race is timing-dependent (here one resume in ten to thirty loses it): try often.
    for _ in range(30):
        assert _first_offsets(bootstrap, topic) == dict.fromkeys(range(PARTITIONS), START)
