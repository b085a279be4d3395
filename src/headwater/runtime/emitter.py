"""The live emitter: produces outputs and dead letters to Kafka."""

from __future__ import annotations

import traceback
from typing import Any

import polars as pl
from confluent_kafka import KafkaError, KafkaException, Producer

from headwater.runtime.batch import HEADERS, KEY, ROW, TS, Headers, Source, values_of
from headwater.runtime.watermark import MARKER_HEADER
from headwater.serde.frames import encode_keys, encode_values
from headwater.topic import Topic

# Header names a dead letter carries; documented in docs/errors.md.
DLQ_REASON = "headwater.error.reason"
DLQ_TYPE = "headwater.error.type"
DLQ_OPERATOR = "headwater.error.operator"
DLQ_TRACE = "headwater.error.traceback"
DLQ_TOPIC = "headwater.origin.topic"
DLQ_PARTITION = "headwater.origin.partition"
DLQ_OFFSET = "headwater.origin.offset"
DLQ_TIMESTAMP = "headwater.origin.timestamp"


class KafkaEmitter:
    def __init__(self, producer: Producer, dead_letter_topic: Topic | None) -> None:
        self._producer = producer
        self._dlq = dead_letter_topic
        self.produced = 0
        self.dead_letters = 0
        self._partitions: dict[str, int] = {}

    def emit(
        self, topic: Topic, frame: pl.DataFrame, source: Source
    ) -> list[tuple[int, Exception]]:
        """Produce ``frame``; returns the records (by ``_hw_row``) the producer refused."""
        if frame.height == 0:
            return []
        values = encode_values(topic.value_serde, values_of(frame))
        keys = encode_keys(topic.key_serde, frame[KEY])
        stamps = frame[TS].to_list()
        headers = self._headers(frame, source)
        name = topic.name
        # produce() inline: this loop runs once per output record, so every call counts.
        produce = self._producer.produce
        # A record the producer refuses (too large, say) fails alone: raising would make the
        # executor retry the batch record by record and produce the others twice.
        refused: list[tuple[int, Exception]] = []
        if headers is None:
            for i, (value, key, ts) in enumerate(zip(values, keys, stamps, strict=True)):
                try:
                    try:
                        produce(name, value, key, timestamp=ts)
                    except BufferError:
                        self._send(name, value, key, ts, None)
                except KafkaException as exc:
                    refused.append((i, _refusal(exc)))
        else:
            for i, (value, key, ts, hs) in enumerate(
                zip(values, keys, stamps, headers, strict=True)
            ):
                try:
                    self._send(name, value, key, ts, hs)
                except KafkaException as exc:
                    refused.append((i, _refusal(exc)))
        self.produced += len(values) - len(refused)
        self._producer.poll(0)
        if not refused:
            return []
        rows = frame[ROW]
        return [(int(rows[i]), exc) for i, exc in refused]

    def _send(self, topic: str, value: bytes, key: bytes | None, ts: int, headers: Any) -> None:
        while True:
            try:
                if headers is None:
                    self._producer.produce(topic, value, key, timestamp=ts)
                else:
                    self._producer.produce(topic, value, key, timestamp=ts, headers=headers)
                return
            except BufferError:
                # The local queue is full: let librdkafka deliver some before trying again.
                self._producer.poll(0.05)

    @staticmethod
    def _headers(frame: pl.DataFrame, source: Source) -> list[Headers | None] | None:
        if HEADERS in frame.columns:
            return [
                None if h is None else [(e["key"], e["value"]) for e in h]
                for h in frame[HEADERS].to_list()
            ]
        if not source.headers or not any(source.headers):
            return None
        return [source.headers[r] for r in frame[ROW].to_list()]

    def partition_count(self, topic: Topic) -> int:
        count = self._partitions.get(topic.name)
        if count is None:
            metadata = self._producer.list_topics(topic.name, timeout=10)
            count = self._partitions[topic.name] = len(metadata.topics[topic.name].partitions)
        return count

    def marker(self, topic: Topic, partition: int, payload: bytes) -> None:
        """A watermark marker: no key, the marker header, to an exact partition."""
        while True:
            try:
                self._producer.produce(
                    topic.name, payload, None, partition=partition, headers=[(MARKER_HEADER, b"1")]
                )
                return
            except BufferError:
                self._producer.poll(0.05)

    def dead_letter(
        self, source: Source, rows: list[int], error: BaseException, operator: str
    ) -> None:
        if self._dlq is None:  # pragma: no cover - the executor raises instead
            raise error
        trace = "".join(traceback.format_exception(error))[-4000:]
        for row in rows:
            origin = source.origin(row)
            headers: Headers = list(source.headers_of(row) or [])
            headers += [
                (DLQ_REASON, str(error).encode("utf-8", "replace")[:4000]),
                (DLQ_TYPE, type(error).__name__.encode()),
                (DLQ_OPERATOR, operator.encode("utf-8", "replace")),
                (DLQ_TRACE, trace.encode("utf-8", "replace")),
                (DLQ_TOPIC, origin.topic.encode()),
                (DLQ_PARTITION, str(origin.partition).encode()),
                (DLQ_OFFSET, str(origin.offset).encode()),
                (DLQ_TIMESTAMP, str(source.timestamps[row]).encode()),
            ]
            self._send(
                self._dlq.name,
                source.raw_values[row],  # type: ignore[arg-type]
                source.raw_keys[row],
                source.timestamps[row],
                headers,
            )
            self.dead_letters += 1


def _refusal(exc: KafkaException) -> KafkaException:
    """A record the producer refused, or re-raise: a producer (or transaction) in a failed
    state refuses every record, and that is the checkpoint's to handle, not a dead letter."""
    error = exc.args[0]
    if error.fatal() or error.txn_requires_abort() or error.code() == KafkaError._STATE:
        raise exc
    return exc
