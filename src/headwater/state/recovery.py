"""Recovery: bring stores up to date from their changelogs, a bounded step at a time.

The runtime calls :meth:`RecoveryManager.step` between batches, so a partition whose store is
still replaying never holds up partitions that are ready. Recovery has its own consumer with
``assign()`` (no group, nothing committed) and reads each changelog partition from the offset the
store is up to date with to its end, which ``enable.partition.eof`` reports exactly.

Checkpoint markers carry the input offset processed up to; the store's ``processed_offset``
becomes the latest marker's, so records reprocessed after a crash do not change state twice.
Every record carries the input offset of its checkpoint too, and is applied (in log order) only
once a marker at or past that offset has been read. A checkpoint whose flush a crash cut short
has no such marker after it: its records are dropped, since their inputs are processed again
(applying them would count them twice). If a later run passed that offset, its checkpoints come
after in the log and rewrite every entry the cut-short one touched, so applying it is harmless.
Only the latest marker is needed, which is the one compaction always keeps.

With ``continuous=True`` the same replay keeps standby stores warm: a partition's end is not the
end of its replay but a point where the store is up to date, and the partition stays assigned,
so records the owner writes later are applied as their markers arrive.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from headwater.errors import BrokerError
from headwater.kafka.settings import KafkaSettings
from headwater.state.encoding import CHECKPOINT_KEY, OFFSET_HEADER
from headwater.state.store import PartitionStore

log = logging.getLogger("headwater.state.recovery")
# How long fetches must report a changelog partition's end below a store's offset before the
# store counts as ahead of its log; longer than a fetch round, so a stale end does not count.
BEHIND_GRACE_SECONDS = 1.0


@dataclass
class _Replay:
    """A store being recovered and how far its changelog partition has been read."""

    store: PartitionStore
    position: int  # next changelog offset to read
    processed: int
    started: float = field(default_factory=time.monotonic)
    records: int = 0
    # Records not yet covered by a marker, with their checkpoint's input offset, in log order.
    pending: list[tuple[int, bytes, bytes | None]] = field(default_factory=list)
    pending_at: list[int] = field(default_factory=list)  # their changelog offsets
    # Records covered by a marker, to apply, and the offset after that marker.
    confirmed: list[tuple[bytes, bytes | None]] = field(default_factory=list)
    confirmed_position: int | None = None
    dropped: int = 0
    applied: int = 0
    caught_up: bool = False  # continuous mode: reached the end once
    # Since when the broker has reported the partition's end below ``position``.
    behind_since: float | None = None


class RecoveryManager:
    """Replays changelogs into stores; ``step()`` does a bounded amount of that work."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        consumer_config: dict[str, Any] | None = None,
        progress_interval: float = 5.0,
        continuous: bool = False,
    ) -> None:
        self.settings = settings
        self.progress_interval = progress_interval
        # Standby replay: tail each changelog partition for good instead of finishing at its end.
        self.continuous = continuous
        self._consumer_config = dict(consumer_config or {})
        self._consumer: Consumer | None = None
        self._active: dict[tuple[str, int], _Replay] = {}
        self._recovered: list[PartitionStore] = []
        self._last_report = time.monotonic()
        self.read = 0  # changelog records read since start, all stores
        self.replayed = 0  # of which applied (a checkpoint's records wait for its marker)

    # Queue
    def add(self, store: PartitionStore) -> None:
        """Start recovering (or, continuous, tailing into) ``store`` from the changelog offset it
        is up to date with."""
        if store.changelog_topic is None:
            raise ValueError(f"store {store.describe()} has no changelog topic to recover from")
        key = (store.changelog_topic, store.partition)
        start = store.changelog_offset
        # Offset 0 rather than OFFSET_BEGINNING saves a ListOffsets round trip; if the log
        # starts later, auto.offset.reset=earliest moves to its start.
        self._active[key] = _Replay(store, start or 0, store.processed_offset)
        self._consumer_for().incremental_assign([TopicPartition(*key, self._active[key].position)])
        log.info(
            "%s store %s from %s[%d], %s",
            "standby: tailing into" if self.continuous else "recovering",
            store.describe(),
            key[0],
            key[1],
            "from the beginning" if start is None else f"from offset {start}",
        )

    def remove(self, store: PartitionStore) -> int:
        """Stop recovering ``store`` (its partition was revoked); progress so far is kept.

        Returns how many changelog records were applied to it by this manager.
        """
        key = (store.changelog_topic or "", store.partition)
        replay = self._active.pop(key, None)
        if replay is not None and self._consumer is not None:
            self._consumer.incremental_unassign([TopicPartition(*key)])
        self._recovered = [s for s in self._recovered if s is not store]
        return 0 if replay is None else replay.applied

    def is_recovering(self, store: PartitionStore) -> bool:
        replay = self._active.get((store.changelog_topic or "", store.partition))
        return replay is not None and replay.store is store

    @property
    def done(self) -> bool:
        return not self._active

    def take_recovered(self) -> list[PartitionStore]:
        """Stores that finished recovering since the last call (so their partitions can resume)."""
        recovered, self._recovered = self._recovered, []
        return recovered

    # Work
    def step(self, max_records: int = 10_000, timeout: float = 0.05) -> bool:
        """Apply up to ``max_records`` changelog records; True when nothing is left to recover.

        Waits at most ``timeout`` seconds for records, so the caller's loop keeps moving.
        """
        if not self._active or self._consumer is None:
            return True
        messages = self._consumer.consume(max_records, timeout)
        self.read += len(messages)
        # map() over the C methods: no Python frame per record on this hot path.
        errors = list(map(Message.error, messages))
        ended: dict[tuple[str, int], int] = {}
        if any(errors):
            ended = self._errors(messages, errors)
            messages = [m for m, error in zip(messages, errors, strict=True) if error is None]
        partitions = zip(
            map(Message.topic, messages), map(Message.partition, messages), strict=True
        )
        for key, run in groupby(zip(partitions, messages, strict=True), key=itemgetter(0)):
            replay = self._active.get(key)
            if replay is not None:  # else: revoked while its records were in flight
                records = [m for _, m in run]
                if (records[0].offset() or 0) < replay.position:
                    # The broker reset an offset out of range to the log's start (Kafka).
                    replay = self._rebuild(key, replay, reassign=False)
                self._take(replay, records)
        # An end below the offset a store is up to date with is not the end of its replay but
        # a log shorter than the store (Kafka resets the read to an empty log's start and
        # reports its end at once): the check below rebuilds the store once it persists.
        ended = {
            k: e for k, e in ended.items() if k in self._active and e >= self._active[k].position
        }
        for key, replay in list(self._active.items()):
            if key not in ended and self._log_behind(key, replay):
                self._rebuild(key, replay, reassign=True)
                continue
            if replay.confirmed_position is not None:
                # The stored position never passes a record still waiting for its marker: a
                # replay resumed from it (a crash, a promoted standby) must read that record.
                pending = replay.pending_at
                self._apply(replay, pending[0] if pending else replay.confirmed_position)
            if key not in ended:
                continue
            if self.continuous:
                self._caught_up(replay, ended[key])
            else:
                self._finish(key, replay, ended[key])
        self._report()
        return not self._active

    @staticmethod
    def _take(replay: _Replay, messages: list[Message]) -> None:
        """Queue one partition's run of records; a marker confirms every record it covers."""
        for message in messages:
            key = message.key()
            if key is None:
                continue
            if key != CHECKPOINT_KEY:
                replay.pending.append((_input_offset_of(message.headers()), key, message.value()))
                replay.pending_at.append(message.offset() or 0)
                continue
            replay.processed = max(replay.processed, int(message.value() or b"0"))
            replay.confirmed_position = (message.offset() or 0) + 1
            # Confirm the longest covered prefix: log order is kept, later writes win.
            covered = 0
            for input_offset, _, _ in replay.pending:
                if input_offset > replay.processed:
                    break
                covered += 1
            replay.confirmed.extend((k, v) for _, k, v in replay.pending[:covered])
            del replay.pending[:covered]
            del replay.pending_at[:covered]
        replay.records += len(messages)

    def _log_behind(self, key: tuple[str, int], replay: _Replay) -> bool:
        """Whether the changelog partition ends before the offset the store is up to date with,
        as fetches have reported for a while (a fresh assignment may show an older end)."""
        assert self._consumer is not None
        _, high = self._consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
        if high < 0 or high >= replay.position:
            replay.behind_since = None
            return False
        now = time.monotonic()
        if replay.behind_since is None:
            replay.behind_since = now
        return now - replay.behind_since >= BEHIND_GRACE_SECONDS

    def _rebuild(self, key: tuple[str, int], replay: _Replay, *, reassign: bool) -> _Replay:
        """The changelog lost what the store holds (recreated, or truncated): a store ahead of
        its log cannot be trusted, so it is emptied and rebuilt from the log's start. Its input
        offsets go too; the consumer group's committed offsets say where processing resumes."""
        log.warning(
            "store %s is ahead of its changelog %s[%d] (up to date with offset %d, the log is "
            "shorter): the changelog was recreated or truncated; emptying the store and "
            "rebuilding it from the changelog",
            replay.store.describe(),
            key[0],
            key[1],
            replay.position,
        )
        replay.store.reset()
        fresh = self._active[key] = _Replay(replay.store, 0, 0)
        if reassign and self._consumer is not None:
            self._consumer.incremental_unassign([TopicPartition(*key)])
            self._consumer.incremental_assign([TopicPartition(*key, 0)])
        return fresh

    @staticmethod
    def _errors(
        messages: list[Message], errors: list[KafkaError | None]
    ) -> dict[tuple[str, int], int]:
        """Raise on fatal errors; return the partitions that reached their end, with the end."""
        ended: dict[tuple[str, int], int] = {}
        for message, error in zip(messages, errors, strict=True):
            if error is None:
                continue
            key = (message.topic() or "", message.partition() or 0)
            if error.code() == KafkaError._PARTITION_EOF:
                ended[key] = message.offset() or 0
            elif error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise BrokerError(f"recovering from {key[0]}[{key[1]}] failed: {error.str()}")
            else:
                log.warning("recovery consumer: %s", error.str())
        return ended

    def _apply(self, replay: _Replay, position: int) -> None:
        replay.store.apply_changelog(replay.confirmed, position, replay.processed)
        self.replayed += len(replay.confirmed)
        replay.applied += len(replay.confirmed)
        replay.position = position
        replay.confirmed = []
        replay.confirmed_position = None

    def _finish(self, key: tuple[str, int], replay: _Replay, end: int) -> None:
        # The end: records a marker covers still count; the rest were cut short by a crash.
        replay.confirmed.extend((k, v) for o, k, v in replay.pending if o <= replay.processed)
        replay.dropped += sum(1 for o, _, _ in replay.pending if o > replay.processed)
        replay.pending = []
        replay.pending_at = []
        if replay.dropped:
            log.warning(
                "store %s: dropped %d changelog records of checkpoints cut short by a crash; "
                "their inputs are processed again",
                replay.store.describe(),
                replay.dropped,
            )
        if replay.store.changelog_offset is None or end > replay.position or replay.confirmed:
            self._apply(replay, end)  # record where the end is, even when nothing was read
        del self._active[key]
        if self._consumer is not None:
            self._consumer.incremental_unassign([TopicPartition(*key)])
        self._recovered.append(replay.store)
        elapsed = time.monotonic() - replay.started
        log.info(
            "recovered store %s: %d changelog records in %.1fs (%s records/s)",
            replay.store.describe(),
            replay.records,
            elapsed,
            f"{replay.records / elapsed:,.0f}" if elapsed > 0 else "-",
        )

    @staticmethod
    def _caught_up(replay: _Replay, end: int) -> None:
        """Continuous mode at a partition's end: keep going. Records no marker covers yet stay
        pending: the owner's next marker confirms them, or they were cut short by a crash."""
        if not replay.caught_up:
            replay.caught_up = True
            log.info(
                "standby store %s is up to date at changelog offset %d: %d records read, "
                "%d applied in %.1fs",
                replay.store.describe(),
                end,
                replay.records,
                replay.applied,
                time.monotonic() - replay.started,
            )

    def _report(self) -> None:
        """Log progress with a rate and an ETA, at most once per ``progress_interval``."""
        now = time.monotonic()
        if not self._active or now - self._last_report < self.progress_interval:
            return
        if self.continuous:  # tailing has no end to estimate; the catch-up is logged
            return
        self._last_report = now
        assert self._consumer is not None
        for (topic, partition), replay in self._active.items():
            elapsed = max(now - replay.started, 1e-6)
            rate = replay.records / elapsed
            # Watermarks are approximate on some brokers: good for an estimate, never for the end.
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), cached=True
            )
            left = high - replay.position
            eta = (
                f"about {left:,} records and {left / rate:.1f}s left"
                if high >= 0 and left > 0 and rate > 0
                else "end not known yet"
            )
            log.info(
                "recovering store %s: %d records read, %.0f records/s, %s",
                replay.store.describe(),
                replay.records,
                rate,
                eta,
            )

    # Life cycle
    def _consumer_for(self) -> Consumer:
        if self._consumer is None:
            self._consumer = Consumer(
                self.settings.client_config(
                    **{
                        # librdkafka wants a group id even for assign(); it is never joined.
                        "group.id": f"headwater-recovery-{uuid.uuid4().hex[:8]}",
                        "enable.auto.commit": False,
                        "enable.auto.offset.store": False,
                        "enable.partition.eof": True,
                        "auto.offset.reset": "earliest",
                        # Replays see only committed changelog records (exactly-once writers).
                        "isolation.level": "read_committed",
                        # The end of a partition shows as an empty fetch: do not long-poll it.
                        "fetch.wait.max.ms": 50,
                        **self._consumer_config,
                    }
                )
            )
        return self._consumer

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._active.clear()
        if consumer is not None:
            consumer.close()


def _input_offset_of(headers: Any) -> int:
    """The input offset a record's checkpoint processed up to; -1 (always covered) if unknown."""
    for name, value in headers or ():
        if name == OFFSET_HEADER:
            return int(value)
    return -1
