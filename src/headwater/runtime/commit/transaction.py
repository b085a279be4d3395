"""Exactly-once checkpoints: outputs, changelog records and input offsets in one transaction.

A checkpoint period is one Kafka transaction, opened before the first record it produces.
Committing it, in order:
0. ``state.write_behind()``: state operators keep in memory is written into the stores' entries;
1. the state's changelog records are produced into the transaction;
2. ``send_offsets_to_transaction`` adds the input offsets, with the consumer's group metadata
   so a member that left the group (a zombie) cannot commit them (KIP-447);
3. ``commit_transaction()``: outputs, dead letters, changelog and offsets become visible to
   ``read_committed`` readers at once, or none of them;
4. ``state.persist()``: a crash between 3 and 4 is repaired on restart by changelog replay.
On an abortable error the transaction is aborted, state changes are dropped and the consumer
is rewound to where the transaction started, so the same records are processed again.

Fenced: the broker refuses the producer's epoch once its transaction outlived
``transaction.timeout.ms`` (the app hung; the broker aborted the transaction), or once another
producer registered the same transactional.id. The producer is dead either way. Each replica's
id is its own (locked in its state directory), so the first is the usual cause: the open
transaction is gone, its state changes are dropped, the consumer is rewound, and a new producer
with the same id takes over (fencing any other holder in turn), as Kafka Streams does. Fenced
more than three times in a minute, the app stops: another instance really shares its id.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from headwater.errors import BrokerError
from headwater.runtime.commit.checkpoint import (
    Checkpoint,
    OffsetMetadata,
    produce_changelog,
    refused_error,
)
from headwater.runtime.commit.delivery import DeliveryErrors
from headwater.runtime.loop.batch import Source

if TYPE_CHECKING:
    from headwater.state import StateManager

log = logging.getLogger(__name__)

# Errors that mean the producer's epoch is over (its transaction timed out, or another
# producer registered our transactional.id): this producer can do nothing more.
_FENCED = {
    KafkaError._FENCED,
    KafkaError.PRODUCER_FENCED,
    KafkaError.INVALID_PRODUCER_EPOCH,
}
_UNUSABLE = {KafkaError._FATAL, KafkaError._STATE}
MAX_FENCES = 3  # in FENCE_WINDOW seconds: more means another instance shares the id
FENCE_WINDOW = 60.0
_ID_FILE = "transactional.id"


def transactional_id(app_name: str, state_dir: Path) -> tuple[str, IO[str] | None]:
    """The transactional.id of this app instance, kept in its state directory, and its lock.

    Reusing the id on restart fences the previous incarnation at once and aborts its open
    transaction (without it, readers wait for the broker's transaction timeout). A second
    instance on the same state directory cannot take the lock and gets a fresh id.
    """
    directory = Path(state_dir) / app_name
    directory.mkdir(parents=True, exist_ok=True)
    lock = (directory / f"{_ID_FILE}.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        log.warning(
            "another instance of %s uses state_dir %s; this one gets its own transactional.id "
            "(give each replica its own state_dir)",
            app_name,
            state_dir,
        )
        return f"{app_name}-{uuid.uuid4().hex[:12]}", None
    path = directory / _ID_FILE
    known = path.read_text().strip() if path.exists() else ""
    if not known:
        known = f"{app_name}-{uuid.uuid4().hex[:12]}"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(known + "\n")
        temporary.replace(path)
    return known, lock


class TransactionalCheckpoint(Checkpoint):
    """Exactly-once: each checkpoint period is one transaction of the app's producer."""

    def __init__(
        self,
        consumer: Consumer,
        producer: Producer,
        delivery_errors: DeliveryErrors,
        flush_timeout: float = 60.0,
        *,
        state: StateManager | None = None,
        max_aborts: int = 5,
        dead_letters: bool = True,
        new_producer: Callable[[], Producer] | None = None,
        on_new_producer: Callable[[Producer], None] | None = None,
        on_rewind: Callable[[list[tuple[str, int]]], None] | None = None,
        offset_metadata: OffsetMetadata | None = None,
    ) -> None:
        super().__init__(
            consumer,
            producer,
            delivery_errors,
            flush_timeout,
            state=state,
            offset_metadata=offset_metadata,
        )
        self._dead_letters = dead_letters
        # Makes the producer that replaces a fenced one, and tells its other users (the emitter).
        self._new_producer = new_producer
        self._on_new_producer = on_new_producer
        # Told which partitions are read again, so what they moved in memory goes back too.
        self._on_rewind = on_rewind
        self._fences: list[float] = []
        self._max_aborts = max_aborts
        self._aborts = 0  # aborts in a row: a transaction that always fails stops the app
        self._open = False
        self._start: dict[tuple[str, int], int] = {}  # where the open transaction started reading

    def initialize(self) -> None:
        """Register the transactional.id with the cluster, fencing an older incarnation."""
        try:
            self._producer.init_transactions(self._flush_timeout)
        except KafkaException as exc:
            raise BrokerError(
                f"cannot start exactly-once processing: {exc.args[0].str()}; the cluster must "
                "support transactions (Kafka 2.5 or later)"
            ) from exc

    @property
    def producer(self) -> Producer:
        """The producer in use (a fenced one is replaced)."""
        return self._producer

    def begin(self) -> None:
        if not self._open:
            try:
                self._producer.begin_transaction()
            except KafkaException as exc:
                if not self._fenced(exc):
                    raise self._fatal(exc, "begin a transaction") from exc
                self._renew(exc)
                self._producer.begin_transaction()
            self._open = True

    def read(self, sources: list[Source]) -> None:
        for source in sources:
            # The first offset per partition: reversed, so earlier offsets win.
            first = dict(zip(reversed(source.partitions), reversed(source.offsets), strict=True))
            for partition, offset in first.items():
                self._start.setdefault((source.topic, partition), offset)

    def lose(self, partitions: list[TopicPartition]) -> None:
        # The open transaction holds outputs of the lost partitions: none of it may commit.
        self.abort("partitions were lost", rewind=True)

    def commit(self) -> None:
        if not self._open:  # nothing was read or produced since the last commit
            self.last_commit = {}
            self._pending.clear()
            self._start.clear()
            self.started = time.monotonic()
            return
        # The next commit is due an interval after this one began, not after it ended: a
        # record's wait for its commit is then at most the interval plus one commit.
        begun = time.monotonic()
        offsets = dict(self._pending)
        state = self._state
        self.changelog_written = 0
        try:
            if self.sinks is not None:
                self.sinks.write()  # before the commit: after an abort or a crash, again
            if state is not None:
                state.write_behind()
                records = state.changelog_records(offsets)
                produce_changelog(self._producer, records, state.on_delivery)
                self.changelog_written = len(records)
            if offsets:
                self._producer.send_offsets_to_transaction(
                    self._topic_partitions(offsets),
                    self._consumer.consumer_group_metadata(),
                    self._flush_timeout,
                )
            self._commit_transaction()
        except KafkaException as exc:
            if self._fenced(exc):
                self._renew(exc)
                return
            if self._abortable(exc):
                refused = self._remember_refused()
                self.abort(f"the transaction could not commit: {exc.args[0].str()}{refused}")
                return
            raise self._fatal(exc, "commit the transaction") from exc
        self._open = False
        if self.sinks is not None:
            self.sinks.committed(offsets)
        self._aborts = 0
        self._delivery_errors.skips.clear()  # their dead letters are committed now
        self.last_commit = offsets
        if self._offset_metadata is not None:
            self._offset_metadata.committed(offsets)
        if state is not None:
            state.persist(offsets)
        self._pending.clear()
        self._start.clear()
        self.started = begun
        log.debug("committed a transaction with %d partitions", len(offsets))

    def _commit_transaction(self) -> None:
        for attempt in range(3):
            try:
                self._producer.commit_transaction(self._flush_timeout)
                return
            except KafkaException as exc:
                error = exc.args[0]
                if not error.retriable() or attempt == 2:
                    raise
                log.warning("retrying the transaction commit: %s", error.str())

    def recover(self, exc: KafkaException) -> None:
        if self._fenced(exc):
            self._renew(exc)
            return
        if not self._abortable(exc):
            raise self._fatal(exc, "produce") from exc
        refused = self._remember_refused()
        self.abort(f"producing failed: {exc.args[0].str()}{refused}")

    def _remember_refused(self) -> str:
        """Outputs the broker refused fail the whole transaction: remember them, so that when
        their inputs are processed again they go to the dead letters instead (delivery.py)."""
        # The failed transaction's delivery reports may still wait in the producer's queue;
        # served now, a refused record is known before the abort and goes at the second pass.
        self._producer.poll(0)
        refusals = self._delivery_errors.take_refusals()
        for refusal in refusals:
            if not self._dead_letters:
                raise refused_error(refusal)
            self._delivery_errors.skips[refusal.identity] = refusal.reason
        if not refusals:
            return ""
        return f"; the broker refused {len(refusals)} output(s), sent to the dead letters next"

    def abort(self, reason: str, rewind: bool = True) -> None:
        """Abort the open transaction, drop state changes and (``rewind``) read it again."""
        self._aborts += 1
        self.failed += 1
        if self._aborts > self._max_aborts:
            raise BrokerError(
                f"{self._aborts} transactions in a row were aborted, the last because {reason}; "
                "stopping (check the broker and the output topics)"
            )
        log.warning("aborting the transaction: %s; its inputs are processed again", reason)
        if self._open:
            try:
                # Outputs still in flight when the abort purges them leave the broker's
                # sequence numbers ahead of the producer's, and the next transaction fails
                # with OUT_OF_ORDER_SEQUENCE_NUMBER: let them land (in the aborted transaction).
                self._producer.flush(self._flush_timeout)
                self._producer.abort_transaction(self._flush_timeout)
            except KafkaException as exc:
                if not self._fenced(exc):
                    raise self._fatal(exc, "abort the transaction") from exc
                self._renew(exc)  # the broker aborted it already; the rest is done there
                return
            self._open = False
        if self._state is not None:
            self._state.abort()
        if rewind:
            self._rewind()
        self._pending.clear()
        self._start.clear()
        self.started = time.monotonic()

    def _rewind(self) -> None:
        assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        rewound = [key for key in self._start if key in assigned]
        for topic, partition in rewound:
            offset = self._start[(topic, partition)]
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:  # being revoked: its next owner reads from the commit
                log.warning("cannot rewind %s[%d]: %s", topic, partition, exc.args[0].str())
        if rewound and self._on_rewind is not None:
            self._on_rewind(rewound)

    def discard(self) -> None:
        if self._open:
            try:
                self._producer.abort_transaction(self._flush_timeout)
            except KafkaException as exc:
                log.warning("aborting the last transaction failed: %s", exc.args[0].str())
            self._open = False
        if self._state is not None:
            self._state.abort()
        self._pending.clear()
        self._start.clear()

    def close(self, timeout: float = 30.0) -> None:
        self.discard()  # a committed shutdown has nothing open; a failed one aborts

    def _renew(self, exc: KafkaException) -> None:
        """The producer was fenced: drop the open transaction's work, read its inputs again,
        and carry on with a new producer (see the module docstring)."""
        # The fenced producer's transaction is over (the broker aborts it): nothing may wait on
        # it, not even the abort at shutdown, which would hang until its timeout.
        self._open = False
        self.failed += 1
        now = time.monotonic()
        self._fences = [t for t in self._fences if now - t < FENCE_WINDOW] + [now]
        if self._new_producer is None or len(self._fences) > MAX_FENCES:
            raise self._fatal(exc, "go on with its transaction") from exc
        log.warning(
            "the producer was fenced or left unusable (%s): its transaction is aborted (it "
            "outlived transaction.timeout.ms, or another instance took the transactional.id); "
            "its inputs are processed again with a new producer",
            exc.args[0].str(),
        )
        if self._state is not None:
            self._state.abort()
        self._rewind()
        self._pending.clear()
        self._start.clear()
        self._delivery_errors.take()
        self._delivery_errors.take_refusals()
        self.started = time.monotonic()
        fenced = self._producer
        self._producer = self._new_producer()
        self.initialize()
        if self._on_new_producer is not None:
            self._on_new_producer(self._producer)
        with contextlib.suppress(KafkaException, RuntimeError):
            fenced.purge(in_queue=True, in_flight=True)  # what it still holds is void

    @staticmethod
    def _fenced(exc: KafkaException) -> bool:
        # Once fenced, the producer answers every call with a generic fatal error. A fatal
        # error of another cause (authorization, say) fails again when the new producer
        # registers the transactional.id, and that failure stops the app with its reason.
        # _STATE: librdkafka can refuse to produce right after an abort that needed a new
        # epoch (OUT_OF_ORDER_SEQUENCE_NUMBER) while it still registers it; a new producer
        # (init_transactions waits for its epoch) is the way out of that too.
        error = exc.args[0]
        code = error.code()
        return bool(code in _FENCED or (code in _UNUSABLE and not error.txn_requires_abort()))

    @staticmethod
    def _abortable(exc: KafkaException) -> bool:
        error = exc.args[0]
        return bool(error.txn_requires_abort()) and error.code() not in _FENCED

    def _fatal(self, exc: KafkaException, action: str) -> BrokerError:
        error = exc.args[0]
        if self._fenced(exc):
            # Only _renew gets here with a fenced producer: fenced too often to go on.
            return BrokerError(
                f"this instance was fenced while trying to {action}, more than {MAX_FENCES} "
                f"times within {FENCE_WINDOW:.0f} s: another instance uses the same "
                f"transactional.id (a copy of its state_dir?) ({error.str()}); it stops so "
                "nothing is written twice. Give every replica its own state_dir"
            )
        if error.fatal():
            return BrokerError(
                f"the transactional producer failed fatally while trying to {action} "
                f"({error.str()}); it stops so nothing is written twice"
            )
        return BrokerError(f"cannot {action} (exactly-once): {error.str()}")
