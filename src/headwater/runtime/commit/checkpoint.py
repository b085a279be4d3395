"""Checkpoints: the moment processed input offsets and state changes become durable.

At-least-once, in this order (docs/state.md explains why a crash at any point loses nothing):
1. ``producer.flush()``: the broker acknowledged every output and dead letter derived from the
   records processed so far; an output the broker refused goes to the dead letters (and is
   flushed too), any other delivery failure stops here, and nothing is committed;
2. ``state.write_behind()``: state operators keep in memory (open windows, the watermark they
   acted at) is written into their stores' entries;
3. the state's changelog records (each changed entry once, then a marker per partition) are
   produced and flushed, with successful delivery reports, so the exact changelog offsets are
   known; outputs go first because a marker makes a restart skip the state updates of the
   inputs below it, which is only safe once their outputs exist;
4. ``state.persist()``: each store writes its changes and both offsets in one RocksDB batch;
5. the input offsets are committed, synchronously.
A crash before step 5 rereads records whose outputs may already exist (duplicates, never loss).
Exactly-once replaces steps 1, 3 and 5 with one transaction (see ``transaction.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from headwater.errors import BrokerError
from headwater.runtime.commit.delivery import DeliveryErrors, Refusal
from headwater.runtime.loop.batch import Position, Source

if TYPE_CHECKING:
    from headwater.state import ChangelogRecord, StateManager

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[KafkaError | None, Message], None]


def produce_changelog(
    producer: Producer, records: list[ChangelogRecord], on_delivery: DeliveryCallback
) -> None:
    """Produce changelog records to their exact partitions, waiting when the queue is full."""
    for r in records:
        headers: list[tuple[str, str | bytes | None]] = list(r.headers)
        while True:
            try:
                producer.produce(
                    r.topic,
                    r.value,
                    r.key,
                    partition=r.partition,
                    headers=headers,
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.05)  # let librdkafka deliver some before trying again
    producer.poll(0)


class OffsetMetadata(Protocol):
    """What to commit with an input partition's offset besides the offset (its event time,
    see :mod:`headwater.runtime.time.resume`), told when such a commit succeeded."""

    def offer(self, topic: str, partition: int) -> str | None: ...

    def committed(self, partitions: Iterable[tuple[str, int]]) -> None: ...


class SinkWriter(Protocol):
    """The sink steps' part of a checkpoint (see ``runtime/operators/sink_step.py``)."""

    def write(self) -> None:
        """Write every row waiting for this checkpoint."""

    def committed(self, offsets: dict[tuple[str, int], int]) -> None:
        """The checkpoint committed ``offsets``: where the next period starts."""


class Checkpoint:
    """At-least-once: tracks the next offset to commit per input partition and commits safely.

    ``state`` (with ``changelog_producer``, which reports successful deliveries) is the app's
    StateManager when it has stores.
    """

    def __init__(
        self,
        consumer: Consumer,
        producer: Producer,
        delivery_errors: DeliveryErrors,
        flush_timeout: float = 60.0,
        *,
        state: StateManager | None = None,
        changelog_producer: Producer | None = None,
        dead_letter: Callable[[Refusal], None] | None = None,
        offset_metadata: OffsetMetadata | None = None,
    ) -> None:
        self._consumer = consumer
        self._offset_metadata = offset_metadata
        self._producer = producer
        self._delivery_errors = delivery_errors
        # Where refused outputs go; None (on_error="raise") makes a refusal stop the app.
        self._dead_letter = dead_letter
        self._flush_timeout = flush_timeout
        self._state = state
        self._changelog_producer = changelog_producer
        self._pending: dict[tuple[str, int], int] = {}
        self.last_commit: dict[tuple[str, int], int] = {}  # the offsets the last commit stored
        self.changelog_written = 0  # changelog records the last commit wrote (for metrics)
        self.failed = 0  # checkpoints that did not complete and were undone (for metrics)
        # The pipeline's sink steps: they write before the offsets are committed.
        self.sinks: SinkWriter | None = None
        self.started = time.monotonic()

    # Bookkeeping the runner calls around each batch
    def begin(self) -> None:
        """Called before a batch produces anything (exactly-once opens its transaction here)."""

    def read(self, sources: list[Source]) -> None:
        """Called with every batch polled, before any of it is processed."""

    def track(self, read: Source | Position) -> None:
        """Mark every record of ``read`` processed (its outputs are produced or queued), or an
        input partition's state changed by time alone as of its position."""
        for partition, offset in read.next_offsets().items():
            self._pending[(read.topic, partition)] = offset

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Partitions this member lost without a chance to commit: drop their pending offsets."""
        for tp in partitions:
            self._pending.pop((tp.topic, tp.partition), None)

    @property
    def empty(self) -> bool:
        return not self._pending

    # Commit
    def commit(self) -> None:
        """The checkpoint, in the order of the module's docstring."""
        offsets = dict(self._pending)
        self.changelog_written = 0
        try:
            self._flush_outputs()
            if self.sinks is not None:
                self.sinks.write()  # before the offsets: after a crash they write again
            if self._state is not None:
                self._state.write_behind()
                self._write_changelog(offsets)
        except BaseException:
            if self._state is not None:
                self._state.abort()  # the inputs are processed again, so are their changes
            raise
        if self._state is not None:
            self._state.persist(offsets)
        if offsets and self._commit_offsets(offsets) and self._offset_metadata is not None:
            self._offset_metadata.committed(offsets)
        if self.sinks is not None:
            self.sinks.committed(offsets)
        self.last_commit = offsets
        self._pending.clear()
        self.started = time.monotonic()

    def _flush_outputs(self) -> None:
        """Every output and dead letter so far acknowledged; refused outputs dead-lettered."""
        self._flush(self._producer, "outputs")
        if self._dead_letter_refused():
            self._flush(self._producer, "dead letters of refused outputs")

    def _write_changelog(self, offsets: dict[tuple[str, int], int]) -> None:
        if self._state is None or self._changelog_producer is None:
            raise ValueError("a checkpoint with state needs a changelog producer")
        records = self._state.changelog_records(offsets)
        if not records:
            return
        self.changelog_written = len(records)
        state, errors = self._state, self._delivery_errors

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is None:
                state.on_delivery(error, message)
            else:
                errors(error, message)

        produce_changelog(self._changelog_producer, records, delivered)
        self._flush(self._changelog_producer, "changelog records")
        log.debug("wrote %d changelog records", len(records))

    def _dead_letter_refused(self) -> bool:
        """Send the outputs the broker refused to the dead letters; whether there were any."""
        refusals = self._delivery_errors.take_refusals()
        for refusal in refusals:
            if self._dead_letter is None:
                raise refused_error(refusal)
            self._dead_letter(refusal)
        return bool(refusals)

    def _flush(self, producer: Producer, what: str) -> None:
        remaining = producer.flush(self._flush_timeout)
        if remaining:
            raise BrokerError(
                f"{remaining} {what} were not acknowledged within {self._flush_timeout}s; "
                "offsets are not committed, so their inputs will be processed again"
            )
        errors = self._delivery_errors.take()
        if errors:
            raise BrokerError(
                f"{what} could not be delivered, so offsets are not committed: "
                + "; ".join(errors[:5])
            )

    def _topic_partitions(self, offsets: dict[tuple[str, int], int]) -> list[TopicPartition]:
        """The offsets to commit, each with its metadata."""
        meta = self._offset_metadata
        tps = []
        for (topic, partition), offset in offsets.items():
            metadata = meta.offer(topic, partition) if meta is not None else None
            tps.append(
                TopicPartition(topic, partition, offset)
                if metadata is None  # TopicPartition takes text only, never None
                else TopicPartition(topic, partition, offset, metadata=metadata)
            )
        return tps

    def _commit_offsets(self, offsets: dict[tuple[str, int], int]) -> bool:
        """Commit ``offsets``; False if the group moved on and the commit was skipped."""
        tps = self._topic_partitions(offsets)
        try:
            self._consumer.commit(offsets=tps, asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() in (
                KafkaError.REBALANCE_IN_PROGRESS,
                KafkaError.ILLEGAL_GENERATION,
                KafkaError.UNKNOWN_MEMBER_ID,
            ):
                # The group moved on; the new owners reprocess from the last commit.
                log.warning("commit skipped during a rebalance: %s", error.str())
                return False
            raise BrokerError(f"offset commit failed: {error.str()}") from exc
        log.debug("committed %d partitions", len(tps))
        return True

    # Failures and shutdown
    def lose(self, partitions: list[TopicPartition]) -> None:
        """Partitions were lost (not revoked): nothing of theirs can be committed any more."""
        self.forget(partitions)

    def discard(self) -> None:
        """The app stops on a failure that the final commit could not repair: drop the rest."""
        if self._state is not None:
            self._state.abort()
        self._pending.clear()

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is still queued (nothing is committed for it)."""
        self._producer.flush(timeout)
        if self._changelog_producer is not None:
            self._changelog_producer.flush(timeout)

    def recover(self, exc: KafkaException) -> None:
        """Undo the open checkpoint after a producer error while processing, or raise.

        At-least-once cannot undo: the app stops, and the inputs since the last commit are
        read again on restart.
        """
        raise BrokerError(f"producing failed: {exc.args[0].str()}") from exc


def refused_error(refusal: Refusal) -> BrokerError:
    """The app stops on a refused output when it has no dead-letter topic."""
    where = ""
    if refusal.source is not None and refusal.row is not None:
        origin = refusal.source.origin(refusal.row)
        where = f" (from {origin.topic}[{origin.partition}] offset {origin.offset})"
    return BrokerError(
        f"the broker refused a record for {refusal.topic}{where}: {refusal.reason}; with "
        'on_error="dead-letter" it would go to the dead-letter topic instead of stopping the app'
    )
