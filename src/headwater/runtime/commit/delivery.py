"""What the producer reports back: failed deliveries, and outputs the broker refused.

A record can pass ``produce()`` and still be refused by the broker at delivery, for instance
when it is larger than its topic's ``max.message.bytes``. Such a refusal concerns that record
alone, so it goes to the dead letters (with the broker's reason and the record's origin) rather
than stopping the app:

- at-least-once: the checkpoint's flush finds the refusals and dead-letters them before
  committing the offsets (other outputs of the same input were delivered: at least once);
- exactly-once: the refusal fails the whole transaction, which is aborted and read again; the
  refused records are remembered by their content, and on the second pass the emitter sends
  them to the dead letters instead of the output, inside the transaction.

Every other failure (the broker unreachable, authorization, a changelog record refused) stops
the app as before: nothing is committed past it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, Message

if TYPE_CHECKING:
    from headwater.runtime.loop.batch import Source

# Errors that concern one record, not the producer, the partition or the cluster.
RECORD_REFUSALS = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.INVALID_TIMESTAMP,
        KafkaError.POLICY_VIOLATION,
    }
)

# An output as the broker saw it: (topic, key, value). The same input processed again gives the
# same output, so this is how a second pass recognises a record refused on the first.
OutputIdentity = tuple[str, bytes | None, bytes | None]


class DeliveryRefused(Exception):
    """The broker refused to store an output record; the message is the broker's reason."""


@dataclass(frozen=True)
class Refusal:
    """One output the broker refused, and the input record it came from (if one did)."""

    topic: str
    key: bytes | None
    value: bytes | None
    timestamp: int
    reason: str
    source: Source | None
    row: int | None

    @property
    def identity(self) -> OutputIdentity:
        return (self.topic, self.key, self.value)


class DeliveryErrors:
    """Collects what the producer reports: failures without an origin (changelog records,
    markers, dead letters, from the producer-wide callback) and refused outputs (from each
    output's own callback, which knows its origin)."""

    def __init__(self) -> None:
        self._errors: list[str] = []
        self._refusals: list[Refusal] = []
        self._lock = threading.Lock()
        # Outputs refused in an aborted transaction, to dead-letter when produced again.
        self.skips: dict[OutputIdentity, str] = {}

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            with self._lock:
                self._errors.append(f"{message.topic()}: {error.str()}")

    def output(
        self, source: Source, row: int | None, error: KafkaError | None, message: Message
    ) -> None:
        """The delivery report of one output record (bound to its origin per record)."""
        if error is None:
            return
        if error.code() not in RECORD_REFUSALS:
            self(error, message)
            return
        refusal = Refusal(
            topic=message.topic() or "",
            key=message.key(),
            value=message.value(),
            timestamp=message.timestamp()[1],
            reason=error.str(),
            source=source,
            row=row,
        )
        with self._lock:
            self._refusals.append(refusal)

    def take(self) -> list[str]:
        """Failures that stop the app (none of them concerns a single record)."""
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def take_refusals(self) -> list[Refusal]:
        with self._lock:
            refusals, self._refusals = self._refusals, []
        return refusals


class BatchReport:
    """The delivery report of one batch's outputs to a topic: one callable for all of them
    (a callable per record cost as much as producing the record), which finds a refused
    record's origin by its content: the first not yet refused record of the batch with the
    same key and value (records of one key are reported in the order produced)."""

    def __init__(
        self,
        errors: DeliveryErrors,
        source: Source,
        rows: list[int | None],
        keys: list[bytes | None],
        values: list[bytes | None],
    ) -> None:
        self._errors = errors
        self._source = source
        self._outputs = (rows, keys, values)
        self._refused: set[int] = set()

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._errors.output(self._source, self._row_of(message), error, message)

    def _row_of(self, message: Message) -> int | None:
        rows, keys, values = self._outputs
        key, value = message.key(), message.value()
        for i, candidate in enumerate(values):
            if candidate == value and keys[i] == key and i not in self._refused:
                self._refused.add(i)
                return rows[i]
        return None
