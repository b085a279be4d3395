"""Helpers shared by the integration tests: run an App in a thread, read topics, offsets."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from kafka_helpers import FAST_GROUP, group_committed, read_all, wait_until

from headwater import App
from headwater.runtime.commit.transaction import TransactionalCheckpoint

__all__ = [
    "FAST_GROUP",
    "AppThread",
    "approximate_count",
    "committed_offsets",
    "fail_commits",
    "produce_records",
    "read_topic",
    "run_bounded",
    "running",
    "wait_for_records",
    "wait_until",
]


class AppThread:
    """``app.run()`` in a daemon thread; remembers the exception it ended with, if any."""

    def __init__(self, app: App, until: Any = None) -> None:
        self.app = app
        self.until = until  # a bounded run: "end" or a time (app.run's until)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"app-{app.name}", daemon=True)

    def _main(self) -> None:
        try:
            self.app.run(until=self.until)
        except BaseException as exc:
            self.error = exc

    def start(self) -> AppThread:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        """Wait for the app to end on its own (an error, for instance)."""
        wait_until(lambda: not self.alive, timeout=timeout)

    def stop(self, timeout: float = 30.0) -> None:
        # stop() is a no-op until run() has created its runner, so ask until the thread ends.
        def stopped() -> bool:
            self.app.stop()
            return not self.alive

        wait_until(stopped, timeout=timeout, interval=0.1)


@contextmanager
def running(app: App) -> Iterator[AppThread]:
    """Run ``app`` for the duration of the block, then stop it and re-raise what it raised."""
    thread = AppThread(app).start()
    try:
        yield thread
    finally:
        thread.stop()
    if thread.error is not None:
        raise thread.error


def run_bounded(app: App, until: Any = "end", timeout: float = 120.0) -> None:
    """Run ``app`` bounded (``app.run(until=...)``): it must end by itself, without error."""
    thread = AppThread(app, until).start()
    thread.join(timeout=timeout)
    if thread.error is not None:
        raise thread.error


def read_topic(bootstrap: str, topic: str) -> list[Message]:
    """Every record of ``topic`` (none if the topic does not exist yet)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "metadata-probe"})
    try:
        exists = topic in consumer.list_topics(timeout=10).topics
    finally:
        consumer.close()
    return read_all(bootstrap, [topic]) if exists else []


def wait_for_records(
    bootstrap: str, topic: str, count: int, timeout: float = 30.0
) -> list[Message]:
    """Wait until ``topic`` holds at least ``count`` records and return them all."""
    found: list[Message] = []

    def enough() -> bool:
        found[:] = read_topic(bootstrap, topic)
        return len(found) >= count

    try:
        wait_until(enough, timeout=timeout, interval=0.2)
    except AssertionError:
        raise AssertionError(
            f"{topic} holds {len(found)} records, expected {count} within {timeout}s"
        ) from None
    return found


def approximate_count(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds, from ListOffsets: cheap while the topic grows, but it
    may be short by one batch on some brokers, so only use it as a lower bound."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermark-probe"})
    try:
        metadata = consumer.list_topics(timeout=10).topics.get(topic)
        if metadata is None:
            return 0
        total = 0
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
            total += max(high - low, 0)
        return total
    finally:
        consumer.close()


def produce_records(
    bootstrap: str,
    topic: str,
    records: list[tuple[Any, Any, int | None, list[tuple[str, bytes]] | None]],
    partition: int | None = None,
) -> None:
    """Produce (key, value, timestamp, headers) records in order."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value, ts, headers in records:
        kwargs: dict[str, Any] = {}
        if ts is not None:
            kwargs["timestamp"] = ts
        if headers is not None:
            kwargs["headers"] = headers
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                producer.produce(topic, value, key, **kwargs)
                break
            except BufferError:  # the local queue is full: let some be delivered first
                producer.poll(0.05)
    assert producer.flush(60) == 0


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """The offsets ``group`` committed on ``topic``, per partition (negative: none)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "client.id": f"offset-probe-{uuid.uuid4().hex[:6]}",
        }
    )
    try:
        tps = group_committed(consumer, [TopicPartition(topic, p) for p in range(partitions)])
        return {tp.partition: tp.offset for tp in tps}
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """The end (high watermark) of each partition of ``topic``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "end-offset-probe"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
    finally:
        consumer.close()


def fail_commits(
    monkeypatch: pytest.MonkeyPatch, fail: Callable[[TransactionalCheckpoint], bool]
) -> list[int]:
    """Make the transactions ``fail`` picks fail at commit as a broker would fail them (a
    delivery error, say): abortable, their outputs and changelog records already sent. Returns
    the list that counts them (each failure adds how many partitions it held)."""
    real_commit = TransactionalCheckpoint._commit_transaction
    failed: list[int] = []

    def failing_commit(self: TransactionalCheckpoint) -> None:
        if fail(self):
            failed.append(len(self._pending))
            raise KafkaException(
                KafkaError(KafkaError._STATE, "injected failure", txn_requires_abort=True)
            )
        real_commit(self)

    monkeypatch.setattr(TransactionalCheckpoint, "_commit_transaction", failing_commit)
    return failed
