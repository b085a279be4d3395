"""What the runtime will do around a StateManager, written out once for the state tests."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Producer

from headwater.state import ChangelogRecord, StateManager


def changelog_producer(bootstrap: str) -> Producer:
    # Successful deliveries are reported, so StateManager.on_delivery learns changelog offsets.
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            "queue.buffering.max.messages": 500_000,
        }
    )


def produce_changelog(
    manager: StateManager, producer: Producer, records: list[ChangelogRecord]
) -> None:
    for r in records:
        while True:
            try:
                producer.produce(
                    r.topic,
                    r.value,
                    r.key,
                    partition=r.partition,
                    headers=r.headers,
                    on_delivery=manager.on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(30) == 0


def checkpoint(
    manager: StateManager, producer: Producer, input_offsets: dict[tuple[str, int], int]
) -> list[ChangelogRecord]:
    """The checkpoint order: changelog records -> flush -> persist (commit would come last)."""
    records = manager.changelog_records(input_offsets)
    produce_changelog(manager, producer, records)
    manager.persist(input_offsets)
    return records


def recover(manager: StateManager, timeout: float = 60.0, max_records: int = 10_000) -> None:
    deadline = time.monotonic() + timeout
    while not manager.recovery.step(max_records, 0.1):
        assert time.monotonic() < deadline, "recovery did not finish in time"


def dump(manager: StateManager, store: str, topic: str, partition: int) -> dict[bytes, Any]:
    return dict(manager.store(store, topic, partition).raw_items())


def open_counts(manager: StateManager, topic: str, partitions: tuple[int, ...] = (0,)) -> None:
    """Register the tests' "counts" store, take ``partitions`` of ``topic``, wait for recovery."""
    manager.register_store("counts", topic)
    manager.on_assign([(topic, p) for p in partitions])
    recover(manager)
