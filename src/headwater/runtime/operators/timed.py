"""The contract of a timed operator: a keyed operator that also acts as time advances.

Windows close and timers fire when the watermark passes them, whether or not a record
arrives. The executor drives every timed operator of a pipeline the same way, in this order:

1. ``process(frame, ctx)`` for each batch (rows checked against the watermark as it was
   before the batch);
2. after each batch and on each tick of the loop, for every partition this instance
   processes, ``fire(partition, watermark, ctx)``: act on what the watermark has passed; its
   results go down the pipeline, and a result other than None means the partition's state
   changed (the checkpoint gives that state an input position);
3. on the same occasions, when ``early_due(now)``, ``early(partition, ctx)`` for every
   partition: results so far, nothing closed or changed;
4. ``forget(partition)`` when the partition leaves this instance or is read again from its
   last commit: anything kept in memory for it is dropped, and rebuilt from its store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import polars as pl

from headwater.runtime.operators.keyed import KeyedOperator
from headwater.runtime.operators.steps import BatchContext

# What a firing produced: output records, and those whose result failed (by position).
Fired = tuple[pl.DataFrame, list[tuple[int, Exception]]]


class TimedOperator(KeyedOperator, ABC):
    """A keyed operator that acts as time advances (windows, timers)."""

    # Whether fire() is called at all: False for an operator of this family that time does
    # not move (count windows), which still observes its records' event times.
    timed = True

    @abstractmethod
    def fire(self, partition: int, watermark: int, ctx: BatchContext) -> Fired | None:
        """Act on what ``watermark`` has passed in ``partition``; None: nothing changed."""

    def early_due(self, now: float) -> bool:
        """Whether early results are due at ``now`` (monotonic seconds)."""
        return False

    def early(self, partition: int, ctx: BatchContext) -> Fired | None:
        """The results so far of ``partition`` (nothing closes); None: nothing to send."""
        return None

    @abstractmethod
    def forget(self, partition: int) -> None:
        """Drop what is kept in memory for ``partition``."""
