"""Paging through a topic's history, as Redpanda Console does: a page of records at a time, by
offset or by time, and a cursor that picks up exactly where the page ended.

A page reads each partition from its position to its end (at most ``limit`` records from
each), merges them by timestamp and keeps the first ``limit``. The cursor holds, per partition,
the offset after the last record the page kept, so no record is skipped or shown twice however
the partitions interleave. The end is where the consumer finds no more records (exact on every
broker): records produced later are on a later page. Sizes come from the high watermarks the
fetches return, which every broker keeps exact (a ListOffsets answer can trail far behind on
some, see docs/brokers.md), so a start is never clamped to one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

from headwater.errors import BrokerError, MissingTopicError
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tail import FromOffset, FromTimestamp, TailRecord, decode_message
from headwater.serde.codecs import resolve_serde

# A filter looks at this many records at most per page; the cursor goes on from there.
SCAN_BUDGET = 20_000
Positions = dict[int, int]  # partition -> next offset to read
MAX_PARTITION = 2**31 - 1  # Kafka's partition and offset types: int32 and int64
MAX_OFFSET = 2**63 - 1


@dataclass(frozen=True)
class Page:
    records: list[TailRecord]
    start: Positions  # where the page began
    next: Positions  # where the next page begins
    low: Positions  # the first offset each partition still stores
    high: Positions  # each partition's end, as far as this page saw
    at_end: bool  # every partition was read to its end: no next page yet

    @property
    def total(self) -> int:
        """Records the partitions store now."""
        return sum(self.high[p] - self.low[p] for p in self.high)

    @property
    def before(self) -> int:
        """Records stored before the page's start."""
        return sum(max(0, self.start[p] - self.low[p]) for p in self.high)


def format_cursor(positions: Positions) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(positions.items()))


def parse_cursor(text: str) -> Positions:
    """``0:120,1:98`` as {0: 120, 1: 98}; ValueError if it is not one."""
    positions: Positions = {}
    for part in text.split(","):
        partition, sep, offset = part.partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise ValueError(f"{part!r} is not PARTITION:OFFSET")
        if int(partition) > MAX_PARTITION or int(offset) > MAX_OFFSET:
            raise ValueError(f"{part!r} is out of range as PARTITION:OFFSET")
        positions[int(partition)] = int(offset)
    return positions


class TopicPages:
    """Reads pages of one topic; each call opens and closes its own consumer (no group)."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        *,
        partitions: list[int] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.only_partitions = partitions
        self.timeout = timeout
        self._key = resolve_serde("str", "key")
        self._value = resolve_serde("json", "value")

    def page(
        self,
        start: Positions | FromOffset | FromTimestamp | None,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Page:
        """``limit`` records from ``start`` (a cursor, an offset, a time, or None: the
        beginning), oldest first; with ``keep``, only records it keeps."""
        consumer = Consumer(
            self.settings.client_config(
                **{
                    "group.id": f"headwater-pages-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": True,
                }
            )
        )
        try:
            low, listed_high = self._watermarks(consumer)
            begin = self._positions(consumer, start, low)
            # A time's offsets are looked up approximately on some brokers: skip what is earlier.
            not_before = start.ms if isinstance(start, FromTimestamp) else None
            taken, scanned_to, fetched_high, ended = self._read(
                consumer, begin, limit, keep, not_before
            )
        except KafkaException as exc:
            raise BrokerError(
                f"cannot read {self.topic!r} on {self.settings.bootstrap_servers}: "
                f"{exc.args[0].str() if exc.args else exc}"
            ) from exc
        finally:
            consumer.close()
        taken.sort(key=lambda r: (r.timestamp or 0, r.partition, r.offset))
        kept = taken[:limit]
        following = dict(scanned_to)
        for record in taken[limit:]:  # read but not shown: the next page starts at them
            following[record.partition] = min(following[record.partition], record.offset)
        at_end = ended and len(taken) <= limit
        high = {p: max(listed_high[p], fetched_high.get(p, -1), scanned_to[p]) for p in listed_high}

        def real(positions: Positions) -> Positions:  # "at the end" as the end's offset
            return {
                p: high[p] if o == OFFSET_END else min(o, high[p]) for p, o in positions.items()
            }

        return Page(kept, real(begin), real(following), low, high, at_end)

    def _watermarks(self, consumer: Consumer) -> tuple[Positions, Positions]:
        metadata = consumer.list_topics(timeout=self.timeout)
        if self.topic not in metadata.topics or metadata.topics[self.topic].error is not None:
            raise MissingTopicError(f"topic {self.topic!r} does not exist")
        known = sorted(metadata.topics[self.topic].partitions)
        chosen = known if self.only_partitions is None else self.only_partitions
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise MissingTopicError(
                f"topic {self.topic!r} has no partition {unknown[0]}; its partitions are "
                f"0-{len(known) - 1}"
            )
        low: Positions = {}
        high: Positions = {}
        for partition in chosen:
            tp = TopicPartition(self.topic, partition)
            low[partition], high[partition] = consumer.get_watermark_offsets(
                tp, timeout=self.timeout
            )
        return low, high

    def _positions(
        self,
        consumer: Consumer,
        start: Positions | FromOffset | FromTimestamp | None,
        low: Positions,
    ) -> Positions:
        """Where each partition is read from: never before its first record; OFFSET_END for
        "after the last" (librdkafka also moves a position past the end there)."""
        if start is None:
            return dict(low)
        if isinstance(start, FromOffset):
            return {p: max(start.offset, low[p]) for p in low}
        if isinstance(start, FromTimestamp):
            asked = [TopicPartition(self.topic, p, start.ms) for p in low]
            found = consumer.offsets_for_times(asked, timeout=self.timeout)
            # -1: no record that late in the partition.
            return {tp.partition: OFFSET_END if tp.offset < 0 else tp.offset for tp in found}
        return {p: max(start.get(p, low[p]), low[p]) for p in low}

    def _read(
        self,
        consumer: Consumer,
        begin: Positions,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] | None,
        not_before: int | None,
    ) -> tuple[list[TailRecord], Positions, Positions, bool]:
        """Up to ``limit`` kept records from each partition; where reading stopped; the high
        watermarks the fetches returned; and whether every partition was read to its end."""
        reached = dict(begin)
        kept = dict.fromkeys(begin, 0)
        reading = set(begin)
        ended: set[int] = set()
        fetched_high: Positions = {}
        consumer.incremental_assign(
            [TopicPartition(self.topic, p, begin[p]) for p in sorted(reading)]
        )
        taken: list[TailRecord] = []
        scanned = 0
        deadline = time.monotonic() + self.timeout
        while reading and scanned < SCAN_BUDGET:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"reading {self.topic!r} stalled: partitions {sorted(reading)} did not "
                    f"reach their end within {self.timeout:g} s"
                )
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            partition = message.partition()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF and partition in reading:
                    ended.add(partition)
                    reached[partition] = error_offset(message, reached[partition])
                    self._stop(consumer, reading, partition, fetched_high)
                elif error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise BrokerError(f"reading {self.topic!r} failed: {error.str()}")
                continue
            offset = message.offset()
            if partition not in reading or partition is None or offset is None:
                continue
            deadline = time.monotonic() + self.timeout
            scanned += 1
            reached[partition] = offset + 1
            if not_before is not None and message.timestamp()[1] < not_before:
                continue
            record = decode_message(message, self._key, self._value, headers=True)
            if keep is None or keep(record.to_dict()):
                taken.append(record)
                kept[partition] += 1
            if kept[partition] >= limit:
                self._stop(consumer, reading, partition, fetched_high)
        return taken, reached, fetched_high, ended == set(begin)

    def _stop(
        self, consumer: Consumer, reading: set[int], partition: int, fetched_high: Positions
    ) -> None:
        tp = TopicPartition(self.topic, partition)
        high = consumer.get_watermark_offsets(tp, cached=True)[1]  # from the last fetch
        if high >= 0:
            fetched_high[partition] = high
        reading.discard(partition)
        consumer.incremental_unassign([tp])


def error_offset(message: Any, fallback: int) -> int:
    """The offset a partition-EOF event carries (the end), or ``fallback``."""
    offset = message.offset()
    return offset if isinstance(offset, int) and offset >= 0 else fallback
