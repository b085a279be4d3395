"""Reading topics live, decoded, for people: ``headwater tail`` and the demo's output.

Partitions are assigned directly, with no consumer group: nothing is committed and there is no
group join to wait for. ``stop_at_end`` uses ``enable.partition.eof`` events, which are exact,
to know when every partition has been read to its end.

A tail starts at the end (``"latest"``), the start (``"beginning"``), an offset
(:class:`FromOffset`), a time (:class:`FromTimestamp`) or the last records of each partition
(:class:`LastRecords`). Brokers answer offset look-ups approximately (a watermark can trail the
log end by a batch), so the last two may start a little early: records before the asked time are
skipped here, and :class:`LastRecords` may yield a few more than asked.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from headwater.errors import BrokerError, MissingTopicError
from headwater.kafka.settings import KafkaSettings
from headwater.serde.codecs import Serde, resolve_serde

STARTS = ("latest", "beginning")


@dataclass(frozen=True)
class FromOffset:
    """Start every tailed partition at ``offset`` (or at its first stored record if later)."""

    offset: int


@dataclass(frozen=True)
class FromTimestamp:
    """Start at the first record with a timestamp at or after ``ms`` (epoch milliseconds)."""

    ms: int


@dataclass(frozen=True)
class LastRecords:
    """Start ``count`` records before the end of each partition."""

    count: int


Start = Literal["latest", "beginning"] | FromOffset | FromTimestamp | LastRecords


@dataclass(frozen=True)
class TailRecord:
    """One record as read: decoded key and value, or their raw text and ``error``."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: Any
    value: Any
    headers: list[tuple[str, str]] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": self.key,
            "value": self.value,
        }
        if self.headers is not None:
            record["headers"] = [list(h) for h in self.headers]
        if self.error is not None:
            record["error"] = self.error
        return record

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), default=str).decode()

    def header(self, name: str) -> str | None:
        """The last header called ``name``, or None."""
        found = [v for k, v in self.headers or [] if k == name]
        return found[-1] if found else None


class TopicTail:
    """Reads ``topics`` from the start or the end, decoding keys and values as it goes.

    >>> tail = TopicTail(KafkaSettings("localhost:9092"), ["orders"], start="beginning")
    >>> for record in tail.records(limit=10):  # doctest: +SKIP
    ...     print(record.to_json())
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topics: list[str],
        *,
        start: Start = "latest",
        key: str | Serde = "str",
        value: str | Serde = "json",
        headers: bool = False,
        stop_at_end: bool = False,
        timeout: float = 10.0,
        partitions: list[int] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if isinstance(start, str) and start not in STARTS:
            raise ValueError(f"start={start!r}: use 'latest' or 'beginning'")
        if not topics:
            raise ValueError("give at least one topic to tail")
        self.settings = settings
        self.topics = list(topics)
        self.start = start
        self.key_serde = resolve_serde(key, "key")
        self.value_serde = resolve_serde(value, "value")
        self.headers = headers
        self.stop_at_end = stop_at_end
        self.timeout = timeout
        self.only_partitions = partitions
        self.logger = logger  # takes librdkafka's log lines; by default they go to stderr
        self._stopping = threading.Event()
        # Set once partitions are assigned at their start: records produced after it are read.
        self.ready = threading.Event()

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """End :meth:`records` within one poll interval (safe from any thread)."""
        self._stopping.set()

    def records(self, limit: int | None = None) -> Iterator[TailRecord]:
        """Yield records as they arrive, until :meth:`stop`, ``limit`` records, or the end."""
        return (self._decode(message) for message in self.messages(limit))

    def messages(self, limit: int | None = None) -> Iterator[Message]:
        """Like :meth:`records`, but the raw messages, undecoded."""
        consumer = Consumer(self._config())
        try:
            partitions = self._partitions(consumer)
            consumer.assign(partitions)
            self.ready.set()
            remaining = {(tp.topic, tp.partition) for tp in partitions}
            count = 0
            while not self._stopping.is_set() and (limit is None or count < limit):
                if self.stop_at_end and not remaining:
                    return
                message = consumer.poll(0.2)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        remaining.discard((message.topic(), message.partition()))
                    elif error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise BrokerError(f"reading {message.topic()} failed: {error.str()}")
                    continue
                if self._before_start(message):
                    continue
                count += 1
                yield message
        finally:
            consumer.close()

    def _config(self) -> dict[str, Any]:
        return self.settings.client_config(
            **({} if self.logger is None else {"logger": self.logger}),
            **{
                # librdkafka wants a group id even for assign(); it is never joined or committed.
                "group.id": f"headwater-tail-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": self.stop_at_end,
            },
        )

    def _partitions(self, consumer: Consumer) -> list[TopicPartition]:
        try:
            # No topic argument: asking for one topic could auto-create it on some clusters.
            metadata = consumer.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            raise BrokerError(
                f"cannot reach the Kafka cluster at {self.settings.bootstrap_servers}: "
                f"{exc.args[0].str() if exc.args else exc}; is the broker running?"
            ) from exc
        missing = [t for t in self.topics if t not in metadata.topics]
        if missing:
            raise MissingTopicError(
                f"topic {missing[0]!r} does not exist on {self.settings.bootstrap_servers}; "
                f"check the name with `headwater topics list`"
            )
        wanted = []
        for topic in self.topics:
            known = sorted(metadata.topics[topic].partitions)
            chosen = known if self.only_partitions is None else self.only_partitions
            unknown = sorted(set(chosen) - set(known))
            if unknown:
                raise MissingTopicError(
                    f"topic {topic!r} has no partition {unknown[0]}; its partitions are "
                    f"0-{len(known) - 1}"
                )
            wanted += [TopicPartition(topic, partition) for partition in chosen]
        return self._positioned(consumer, wanted)

    def _positioned(self, consumer: Consumer, wanted: list[TopicPartition]) -> list[TopicPartition]:
        start = self.start
        if start == "beginning" or start == "latest":
            offset = OFFSET_BEGINNING if start == "beginning" else OFFSET_END
            return [TopicPartition(tp.topic, tp.partition, offset) for tp in wanted]
        try:
            if isinstance(start, FromTimestamp):
                asked = [TopicPartition(tp.topic, tp.partition, start.ms) for tp in wanted]
                # -1 (no record that late) starts at the end.
                return [
                    TopicPartition(
                        tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_END
                    )
                    for tp in consumer.offsets_for_times(asked, timeout=self.timeout)
                ]
            positioned = []
            for tp in wanted:
                low, high = consumer.get_watermark_offsets(tp, timeout=self.timeout)
                if isinstance(start, FromOffset):
                    # Past the end, librdkafka's offset reset waits at the end for new records.
                    offset = max(start.offset, low)
                else:
                    offset = max(low, high - start.count)
                positioned.append(TopicPartition(tp.topic, tp.partition, offset))
            return positioned
        except KafkaException as exc:
            raise BrokerError(
                f"cannot read the offsets of {self.topics} on {self.settings.bootstrap_servers}: "
                f"{exc.args[0].str() if exc.args else exc}"
            ) from exc

    def _before_start(self, message: Message) -> bool:
        """A record before a :class:`FromTimestamp` start that an approximate look-up let in."""
        if not isinstance(self.start, FromTimestamp):
            return False
        kind, ts = message.timestamp()
        return kind != TIMESTAMP_NOT_AVAILABLE and ts < self.start.ms

    def _decode(self, message: Message) -> TailRecord:
        return decode_message(message, self.key_serde, self.value_serde, self.headers)


def decode_message(message: Message, key: Serde, value: Serde, headers: bool) -> TailRecord:
    """``message`` decoded for people: a key or value that does not decode is kept as text,
    with ``error`` saying why; headers as text when ``headers``."""
    errors: list[str] = []
    decoded_key = _decoded(key, message.key(), "key", errors)
    decoded_value = _decoded(value, message.value(), "value", errors)
    kind, ts = message.timestamp()
    pairs: list[tuple[str, str]] | None = None
    if headers:
        raw = message.headers() or []
        items = raw.items() if isinstance(raw, dict) else raw
        pairs = [(name, _text(data)) for name, data in items]
    return TailRecord(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp=None if kind == TIMESTAMP_NOT_AVAILABLE else ts,
        key=decoded_key,
        value=decoded_value,
        headers=pairs,
        error="; ".join(errors) or None,
    )


def _decoded(serde: Serde, data: bytes | None, what: str, errors: list[str]) -> Any:
    if data is None:
        return None
    try:
        decoded = serde.loads(data)
    except Exception as exc:
        errors.append(f"{what} is not {serde.name}: {exc}")
        return _text(data)
    return _text(decoded) if isinstance(decoded, bytes) else decoded


def _text(data: bytes | str | None) -> str:
    """Bytes as text for display; invalid UTF-8 shows as backslash escapes."""
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "backslashreplace")
