"""The live emitter: produces outputs and dead letters to Kafka."""

from __future__ import annotations

import traceback
from typing import Any, cast

import polars as pl
from confluent_kafka import KafkaError, KafkaException, Producer

from headwater.runtime.commit.delivery import (
    BatchReport,
    DeliveryErrors,
    DeliveryRefused,
    Refusal,
)
from headwater.runtime.loop.batch import HEADERS, KEY, ROW, TS, Headers, Source, values_of
from headwater.runtime.time.watermark import MARKER_HEADER
from headwater.serde.frames import Failure, encode_keys, encode_values
from headwater.serde.splice import splice_json
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


def output_values(
    topic: Topic, frame: pl.DataFrame, source: Source, splice: tuple[str, ...] | None = None
) -> tuple[list[bytes | None], list[Failure]]:
    """The values of ``frame``'s records as ``topic`` holds them, and the records (by position)
    that cannot be written, whose values are None. ``splice``: each record is its input record
    in ``source`` plus these columns, written into the input's bytes."""
    if splice is None:
        return cast("list[bytes | None]", encode_values(topic.value_serde, values_of(frame))), []
    inputs = cast("list[bytes]", [source.raw_values[row] for row in frame[ROW].to_list()])
    return splice_json(inputs, frame.select(splice))


class KafkaEmitter:
    def __init__(
        self, producer: Producer, dead_letter_topic: Topic | None, deliveries: DeliveryErrors
    ) -> None:
        self._producer = producer
        self._dlq = dead_letter_topic
        self._deliveries = deliveries
        self.produced = 0
        self.dead_letters = 0
        self._partitions: dict[str, int] = {}

    @property
    def producer(self) -> Producer:
        return self._producer

    def use_producer(self, producer: Producer) -> None:
        """Produce with ``producer`` from now on (it replaces a fenced one)."""
        self._producer = producer

    def emit(
        self,
        topic: Topic,
        frame: pl.DataFrame,
        source: Source,
        splice: tuple[str, ...] | None = None,
    ) -> list[tuple[int, Exception]]:
        """Produce ``frame``; returns the records (by ``_hw_row``) the producer refused, or
        that could not be encoded. ``splice``: each record is its input record plus these
        columns, written into the input's bytes (:mod:`headwater.serde.splice`)."""
        if frame.height == 0:
            return []
        rows = frame[ROW].to_list()
        values, unencoded = output_values(topic, frame, source, splice)
        keys = encode_keys(topic.key_serde, frame[KEY])
        stamps = frame[TS].to_list()
        headers = self._headers(frame, source)
        name = topic.name
        # The batch's delivery report finds the origin of an output the broker refuses at
        # delivery, which goes to the dead letters (delivery.py). Reports of delivered records
        # cost nothing at-least-once (only errors are reported) and one call exactly-once.
        delivered = BatchReport(self._deliveries, source, rows, keys, values)
        skips = self._deliveries.skips
        # A record the producer refuses (too large, say) fails alone: raising would make the
        # executor retry the batch record by record and produce the others twice.
        refused: list[tuple[int, Exception]] = [(i, error) for i, error in unencoded]
        # produce() inline: this loop runs once per output record, so every call counts.
        produce = self._producer.produce
        for i, (value, key, ts) in enumerate(zip(values, keys, stamps, strict=True)):
            if value is None and unencoded:  # a record splicing could not write: refused
                continue
            if skips and (name, key, value) in skips:
                refused.append((i, DeliveryRefused(skips[(name, key, value)])))
                continue
            try:
                try:
                    if headers is None:
                        produce(name, value, key, timestamp=ts, on_delivery=delivered)
                    else:
                        produce(
                            name,
                            value,
                            key,
                            timestamp=ts,
                            headers=headers[i],  # type: ignore[arg-type]
                            on_delivery=delivered,
                        )
                except BufferError:
                    self._send(
                        name, value, key, ts, None if headers is None else headers[i], delivered
                    )
            except KafkaException as exc:
                refused.append((i, _refusal(exc)))
        self.produced += len(values) - len(refused)
        self._producer.poll(0)
        out: list[tuple[int, Exception]] = []
        for i, refusal in refused:
            if rows[i] is None:  # a result of many records (a window closing): no one origin
                self.dead_letter_refusal(
                    Refusal(name, keys[i], values[i], stamps[i], str(refusal), None, None)
                )
            else:
                out.append((int(rows[i]), refusal))
        return out

    def _send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        ts: int,
        headers: Any,
        on_delivery: Any = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if headers is not None:
            extra["headers"] = headers
        if on_delivery is not None:
            extra["on_delivery"] = on_delivery
        while True:
            try:
                self._producer.produce(topic, value, key, timestamp=ts, **extra)
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

    def dead_letter_refusal(self, refusal: Refusal) -> None:
        """An output the broker refused: its input record goes to the dead letters like any
        failed record; a result of many records (no one origin) goes there itself."""
        operator = f"to_topic({refusal.topic})"
        error = DeliveryRefused(
            f"the broker refused the record for {refusal.topic}: {refusal.reason}"
        )
        if refusal.source is not None and refusal.row is not None:
            self.dead_letter(refusal.source, [refusal.row], error, operator)
            return
        if self._dlq is None:  # pragma: no cover - the checkpoint raises instead
            raise error
        headers: Headers = [
            (DLQ_REASON, str(error).encode("utf-8", "replace")[:4000]),
            (DLQ_TYPE, type(error).__name__.encode()),
            (DLQ_OPERATOR, operator.encode("utf-8", "replace")),
        ]
        self._send(self._dlq.name, refusal.value, refusal.key, refusal.timestamp, headers)
        self.dead_letters += 1

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
                source.raw_values[row],
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
