"""Bounded runs: read the inputs to where they ended at start (or to a time), then end event time.

A bounded run (``app.run(until="end")``, ``headwater run app.py --until end``) asks the cluster
at start for the end of every input partition: the last stable offset under
``read_committed`` (records of transactions still open are not readable, so they are not part of
the input), the high watermark otherwise. A partition is done once the consumer's position
reached that end. The position is what the consumer reports, not the last record plus one: the
last offsets of a transactional topic are control markers no record is delivered for, and an
empty partition has none at all, so the end-of-partition event (its offset is the position)
counts as well as records. Records at or past the end are left unread (the partition is
paused), so the run processes exactly the input that existed when it started.

``until=<time>`` also stops each partition at its first record whose event time is past the
time: that record and the rest of its partition stay for the next run.

Once every input partition is done, each pipeline's event time ends (``Executor.finish``): the
watermark goes to the end of time (or to the ``until`` time), so every window closes and every
timer fires, and a checkpoint commits their results. Repartition topics are read in rounds: a
pipeline reading one finishes only after the pipeline that writes it finished and committed, and
after it read that topic to the end found then (which holds the last records and the final
watermark markers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import polars as pl
from confluent_kafka import IsolationLevel, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from headwater.errors import ConfigError
from headwater.runtime.loop.batch import Position, Source
from headwater.runtime.operators.steps import with_millis
from headwater.runtime.time.watermark import MAX_TIME
from headwater.serde.frames import decode_values

if TYPE_CHECKING:
    from headwater.kafka.settings import KafkaSettings
    from headwater.runtime.commit.checkpoint import Checkpoint
    from headwater.runtime.loop.executor import Executor
    from headwater.topic import Topic

log = logging.getLogger(__name__)

END = "end"
Until = int | Literal["end"]
_PartitionId = tuple[str, int]


def parse_until(value: object, name: str = "until") -> Until:
    """``"end"``, or an event time in epoch milliseconds: an integer, its digits, an ISO 8601
    date or time (a naive one counts as UTC), or a ``datetime``.

    >>> parse_until("end"), parse_until("1764547200000"), parse_until("2025-12-01T00:00:00Z")
    ('end', 1764547200000, 1764547200000)
    """
    if isinstance(value, str):
        text = value.strip()
        if text == "end":
            return "end"
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{name}: {value!r} is neither 'end' nor a time; give 'end', epoch "
                "milliseconds (1764547200000) or an ISO 8601 time (2025-12-01T00:00:00Z)"
            ) from None
    if isinstance(value, datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return int(stamp.timestamp() * 1000)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ConfigError(
        f"{name}: {value!r} is not a time; give 'end', epoch milliseconds or an ISO 8601 time"
    )


class InputBounds:
    """Where a bounded run stops reading each partition, and which pipelines may end."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: dict[str, Topic],
        internal: dict[str, str],
        until: Until,
        read_committed: bool,
        fetched_end: Callable[[str, int], int],
    ) -> None:
        self._admin = AdminClient(kafka.client_config())
        self._isolation = (
            IsolationLevel.READ_COMMITTED if read_committed else IsolationLevel.READ_UNCOMMITTED
        )
        self.topics = topics  # input name -> topic; repartition topics included
        self.internal = dict(internal)  # repartition topic -> the topic whose pipeline writes it
        self.final_time = MAX_TIME if until == END else int(until)
        self._time_cut = until != END
        self.ends: dict[_PartitionId, int] = {}
        self._position: dict[_PartitionId, int] = {}
        self._stopped: set[_PartitionId] = set()  # a record past the bound was reached
        self._stopped_by_time: set[_PartitionId] = set()  # ... past the until time
        self._final_ends: set[str] = set()  # topics whose ends no pipeline of ours extends
        self.finished: set[str] = set()  # topics whose pipeline's event time ended
        self._fetched_end = fetched_end  # the end the consumer's last fetch of a partition saw
        self._checked: set[_PartitionId] = set()  # input partitions fetched at least once
        self._at_end: set[_PartitionId] = set()  # repartition partitions read to their final end
        self.ends.update(self._query(list(topics)))
        self._final_ends.update(t for t in topics if t not in self.internal)

    # Reading
    def cut(self, sources: list[Source]) -> tuple[list[Source], list[TopicPartition]]:
        """``sources`` without the records past the bound; and the partitions to pause (done)."""
        kept: list[Source] = []
        pause: list[TopicPartition] = []
        for source in sources:
            source, done = self._cut(source)
            pause += [TopicPartition(source.topic, p) for p in done]
            if len(source):
                kept.append(source)
        return kept, pause

    def _cut(self, source: Source) -> tuple[Source, list[int]]:
        topic = source.topic
        if topic in self.internal:  # our own pipelines write these: read on, finish in rounds
            self._advance(source)
            return source, []
        for partition in set(source.partitions):
            self._check((topic, partition))
        stop_at = self._late_rows(source) if self._time_cut else {}
        keep: list[int] = []
        done: set[int] = set()
        for i, (partition, offset) in enumerate(
            zip(source.partitions, source.offsets, strict=True)
        ):
            key = (topic, partition)
            if key in self._stopped:
                continue
            # A record at the end or past it: everything before it was read, in order.
            if offset >= self.ends.get(key, 0) or i == stop_at.get(partition):
                self._stopped.add(key)
                if i == stop_at.get(partition):
                    self._stopped_by_time.add(key)
                done.add(partition)
                continue
            keep.append(i)
        kept = source if len(keep) == len(source) else _select(source, keep)
        self._advance(kept)
        return kept, sorted(done)

    def _check(self, key: _PartitionId) -> None:
        """Once per input partition, at its first fetch: take the end that fetch saw if it is
        past the end found at start. Some brokers' ListOffsets trail the end (Tansu's answer
        the last batch's base offset, docs/brokers.md) while their fetches report it."""
        if key not in self._checked:
            self._checked.add(key)
            self.ends[key] = max(self.ends.get(key, 0), self._fetched_end(*key))

    def _advance(self, source: Source) -> None:
        for partition, following in source.next_offsets().items():
            key = (source.topic, partition)
            self._position[key] = max(self._position.get(key, 0), following)

    def _late_rows(self, source: Source) -> dict[int, int]:
        """Per partition, the first row whose event time is past the until time."""
        times = _event_times(self.topics[source.topic], source)
        first: dict[int, int] = {}
        for i, (partition, at) in enumerate(zip(source.partitions, times, strict=True)):
            if at is not None and at > self.final_time and partition not in first:
                first[partition] = i
        return first

    def at_end(self, topic: str, partition: int, offset: int) -> None:
        """The consumer reached the end of a partition: its position is ``offset``."""
        key = (topic, partition)
        if topic in self.internal:
            if topic in self._final_ends:
                self._at_end.add(key)
        else:
            self._check(key)
        if offset >= 0:
            self._position[key] = max(self._position.get(key, 0), offset)

    def rewind(self, partitions: Iterable[_PartitionId]) -> list[TopicPartition]:
        """``partitions`` are read again from their last commit (an aborted transaction): they
        are not done any more; returns those to resume."""
        again = []
        for key in partitions:
            self._position.pop(key, None)
            self._stopped.discard(key)
            self._stopped_by_time.discard(key)
            self._at_end.discard(key)
            again.append(TopicPartition(*key))
        return again

    # Ending
    def _done(self, key: _PartitionId) -> bool:
        if key in self._stopped:
            return True
        end = self.ends[key]
        if self._position.get(key, 0) < end:
            return False
        topic = key[0]
        if topic in self.internal and topic in self._final_ends:
            # The end of partition once it was learnt, or where the latest fetch ended (a
            # partition the last round wrote nothing to sends no new end-of-partition event).
            return key in self._at_end or self._position.get(key, 0) >= self._fetched_end(*key)
        if topic in self.internal:
            return True
        return key in self._checked or end == 0

    def drained(self) -> bool:
        """Every partition of every pipeline not yet ended is read to its current end."""
        return all(self._done(k) for k in self.ends if k[0] not in self.finished)

    def ready_to_finish(self) -> list[str]:
        """Topics whose pipelines may end now: read to their final end."""
        return [
            topic
            for topic in self.topics
            if topic not in self.finished
            and topic in self._final_ends
            and all(self._done(k) for k in self.ends if k[0] == topic)
        ]

    def positions(self, topic: str) -> list[Position]:
        """Where each partition of an input read to its end stands, for the commit: past the
        control markers that follow the last record (the group's lag is then 0)."""
        if topic in self.internal:
            return []
        return [
            Position(t, p, min(self._position.get((t, p), 0), end))
            for (t, p), end in self.ends.items()
            if t == topic and (t, p) not in self._stopped_by_time
        ]

    def next_round(self) -> bool:
        """After a round's pipelines ended and committed: the repartition topics they wrote
        get their final ends. Returns True when every pipeline has ended."""
        due = [
            t
            for t, upstream in self.internal.items()
            if t not in self._final_ends and upstream in self.finished
        ]
        if due:
            # The high watermark, not the last stable offset: a transaction's commit returns
            # before its markers are written, so the LSO may not cover our records yet; and
            # every record below the high watermark is ours and committed (or aborted, which
            # the consumer skips), so the position reaches it once the markers are written.
            self.ends.update(self._query(due, IsolationLevel.READ_UNCOMMITTED))
            self._at_end -= {k for k in self._at_end if k[0] in due}
            self._final_ends.update(due)
        return len(self.finished) == len(self.topics)

    def _query(
        self, topics: list[str], isolation: IsolationLevel | None = None
    ) -> dict[_PartitionId, int]:
        """The end of every partition of ``topics``: the last stable offset under
        read_committed (records of open transactions are not the input yet), else the high
        watermark."""
        metadata = self._admin.list_topics(timeout=30).topics
        wanted = {
            TopicPartition(t, p): OffsetSpec.latest()  # type: ignore[no-untyped-call]
            for t in topics
            for p in (metadata[t].partitions if t in metadata else {})
        }
        if not wanted:
            return {}
        futures = self._admin.list_offsets(
            wanted, isolation_level=isolation or self._isolation, request_timeout=30
        )
        ends = {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
        log.info("bounded run: reading to %s", _describe(ends))
        return ends


def _select(source: Source, rows: list[int]) -> Source:
    return Source(
        topic=source.topic,
        partitions=[source.partitions[i] for i in rows],
        offsets=[source.offsets[i] for i in rows],
        raw_keys=[source.raw_keys[i] for i in rows],
        raw_values=[source.raw_values[i] for i in rows],
        timestamps=[source.timestamps[i] for i in rows],
        headers=[source.headers[i] for i in rows] if source.headers else [],
    )


def _event_times(topic: Topic, source: Source) -> list[int | None]:
    """Each record's event time as the pipeline will see it: the topic's timestamp field, else
    the record's timestamp. A record without one (it will be a dead letter) counts as None."""
    if topic.timestamp is None:
        return list(source.timestamps)
    values, kept, _ = decode_values(topic.value_serde, source.raw_values)
    times: list[int | None] = [None] * len(source)
    if topic.timestamp in values.columns and values.height:
        millis = with_millis(values.select(pl.col(topic.timestamp)), topic.timestamp)
        for row, at in zip(kept, millis[topic.timestamp].to_list(), strict=True):
            times[row] = at
    return times


def _describe(ends: dict[_PartitionId, int]) -> str:
    return ", ".join(f"{t}[{p}]@{o}" for (t, p), o in sorted(ends.items())) or "nothing"


def end_round(bounds: InputBounds, executors: dict[str, Executor], checkpoint: Checkpoint) -> bool:
    """Every partition is read to its current end: end the event time of the pipelines that
    may end, commit their results, and learn how far the repartition topics they wrote go.
    Returns True when the run is complete."""
    for topic in bounds.ready_to_finish():
        executor = executors[topic]
        checkpoint.begin()
        executor.finish(bounds.final_time)
        for position in [*executor.positions(), *bounds.positions(topic)]:  # the furthest last
            checkpoint.track(position)
        bounds.finished.add(topic)
        log.info("bounded run: %s is read to its end; its windows and timers closed", topic)
    checkpoint.commit()
    return bounds.next_round()
