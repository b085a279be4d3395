"""Runs a pipeline graph over one micro-batch; the same code serves live runs and local tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

import polars as pl

from headwater.errors import PipelineError, StateError
from headwater.runtime.loop.batch import KEY, ROW, TS, Position, Source, value_columns, with_values
from headwater.runtime.loop.lazy_records import JsonRows
from headwater.runtime.loop.step_metrics import StepCounters, step_id
from headwater.runtime.operators.sink_step import SinkTarget
from headwater.runtime.operators.steps import with_millis
from headwater.runtime.time.pipeline_time import PipelineTime
from headwater.runtime.time.watermark import MAX_TIME, encode_marker
from headwater.serde.frames import decode_keys, decode_values

if TYPE_CHECKING:
    from headwater.runtime.graph import Node
    from headwater.runtime.operators.timed import TimedOperator
    from headwater.state.store import PartitionStore, Savepoint
    from headwater.topic import Topic

log = logging.getLogger(__name__)

# Finds the store of a name for an input topic and partition: the live StateManager, or
# temporary stores in a local test.
StoreProvider = Callable[[str, str, int], "PartitionStore"]


class Emitter(Protocol):
    """Where outputs and dead letters go: Kafka in a live run, lists in a local test."""

    def emit(
        self, topic: Topic, frame: pl.DataFrame, source: Source
    ) -> list[tuple[int, Exception]]:
        """Send ``frame``; return the records (``_hw_row``, error) that could not be sent."""
        ...

    def dead_letter(
        self, source: Source, rows: list[int], error: BaseException, operator: str
    ) -> None: ...

    def partition_count(self, topic: Topic) -> int:
        """How many partitions ``topic`` has (watermark markers go to each)."""
        ...

    def marker(self, topic: Topic, partition: int, payload: bytes) -> None:
        """Send a watermark marker to one partition of a repartition topic."""
        ...


@dataclass
class _Attempt:
    """What one pass over a batch produced; handed to the emitter only if the pass completes."""

    outputs: list[tuple[Topic, pl.DataFrame, Source]] = field(default_factory=list)
    dead: list[tuple[Source, list[int], BaseException, str]] = field(default_factory=list)
    tapped: list[tuple[Node, pl.DataFrame]] = field(default_factory=list)
    # Stores this pass touched, with their state before it: a discarded pass is rolled back.
    savepoints: dict[int, tuple[PartitionStore, Savepoint]] = field(default_factory=dict)
    # Records in and out per step id: added to the app's counters only if the pass completes.
    counts: dict[str, list[int]] = field(default_factory=dict)

    def count(self, step: str, records_in: int, records_out: int) -> None:
        counts = self.counts.get(step)
        if counts is None:
            self.counts[step] = [records_in, records_out]
        else:
            counts[0] += records_in
            counts[1] += records_out

    def rollback(self) -> None:
        for store, savepoint in self.savepoints.values():
            store.rollback(savepoint)


class _BatchFailed(Exception):
    """A vectorised step failed on a whole batch; the batch is rerun record by record."""


class _Context:
    """The per-batch view an operator gets: its source, and where failures and outputs go."""

    def __init__(
        self, executor: Executor, source: Source, attempt: _Attempt, whole_batch: bool = True
    ) -> None:
        self.source = source
        self._executor = executor
        self.attempt = attempt
        self.whole_batch = whole_batch

    def watermark(self, partition: int) -> int:
        return self._executor.time.watermark(partition)

    def side(self, node: Node, frame: pl.DataFrame) -> None:
        self._executor._run(node, frame, self, self.whole_batch)

    def fail(self, rows: list[int], error: BaseException, operator: str) -> None:
        self._executor.fail(self.attempt, self.source, rows, error, operator)

    def emit(self, topic: Topic, frame: pl.DataFrame) -> None:
        self.attempt.outputs.append((topic, frame, self.source))

    def store(self, name: str, partition: int) -> PartitionStore:
        provider = self._executor.stores
        if provider is None:
            raise StateError("this pipeline has stateful steps but the app was given no state")
        store = provider(name, self.source.topic, partition)
        if id(store) not in self.attempt.savepoints:
            self.attempt.savepoints[id(store)] = (store, store.savepoint())
        return store


class Executor:
    """Decodes a source batch and drives it through the operator tree rooted at ``root``.

    A batch first runs vectorised. If a vectorised step (an expression, ``map_batches``) raises,
    that pass is discarded and the batch runs again one record at a time, each record decoded on
    its own, so only the records that really fail are reported, and with their own column
    types (one record holding text where others hold numbers cannot spoil the rest). Outputs
    are produced only once a pass completes, so nothing is produced twice; row functions may
    run twice for a record of such a batch.

    On ``on_error="dead-letter"`` a failing record is handed to the emitter's dead-letter
    output and the rest of the batch goes on; on ``"raise"`` the first failure raises
    :class:`PipelineError` naming the operator, the record's origin and the exception.
    """

    def __init__(
        self,
        root: Node,
        topic: Topic,
        emitter: Emitter,
        on_error: str,
        tap: Callable[[Node, pl.DataFrame], None] | None = None,
        stores: StoreProvider | None = None,
        steps: StepCounters | None = None,
    ) -> None:
        self.root = root
        self.topic = topic
        self.emitter = emitter
        self.on_error = on_error
        self._tap = tap
        self.stores = stores
        self.steps = steps  # records in and out per step, when the app serves its metrics
        self.time = PipelineTime(root)
        self._next: dict[int, int] = {}  # partition -> the offset after the last processed
        self._ticked = 0.0
        self._positions: list[Position] = []

    def fail(
        self,
        attempt: _Attempt,
        source: Source,
        rows: list[int],
        error: BaseException,
        operator: str,
    ) -> None:
        if self.on_error == "raise":
            origin = source.origin(rows[0])
            raise PipelineError(
                f"operator '{operator}' failed on the record at {origin} "
                f"(topic {origin.topic}, partition {origin.partition}, offset {origin.offset}): "
                f"{type(error).__name__}: {error}"
            ) from error
        attempt.dead.append((source, rows, error, operator))

    def process(self, source: Source) -> None:
        if not self.time.enabled:
            self._process(source)
            return
        records, marks = self.time.strip_markers(source)
        self._next.update(source.next_offsets())
        if len(records):
            self._process(records)
        # Markers count once the batch's records are in: a record is checked against the
        # watermark as it was before its batch.
        self.time.apply_markers(marks)
        self.advance(time.monotonic())

    def _process(self, source: Source) -> None:
        attempt = _Attempt()
        try:
            try:
                self._pass(source, attempt, whole_batch=True)
            except _BatchFailed as failed:
                log.debug("%s; rerunning the batch record by record", failed)
                attempt.rollback()
                attempt = _Attempt()
                for i in range(len(source)):
                    self._pass(source.slice(i, i + 1), attempt, whole_batch=False)
        except BaseException:
            # The batch is not committed, so its state changes must not be kept either.
            attempt.rollback()
            raise
        self._deliver(attempt)

    def _pass(self, source: Source, attempt: _Attempt, whole_batch: bool) -> None:
        ctx = _Context(self, source, attempt, whole_batch)
        frame = self.decode(source, attempt)
        self._run(self.root, frame, ctx, whole_batch)

    def _deliver(self, attempt: _Attempt) -> None:
        if self.steps is not None:
            for step, (records_in, records_out) in attempt.counts.items():
                self.steps.add(step, records_in, records_out)
        if self._tap is not None:
            for node, frame in attempt.tapped:
                self._tap(node, frame)
        for topic, frame, source in attempt.outputs:
            if isinstance(topic, SinkTarget):  # written at the checkpoint
                topic.buffer(frame, source)
                continue
            for row, refusal in self.emitter.emit(topic, frame, source):
                self.fail(attempt, source, [row], refusal, f"to_topic({topic.name})")
        for source, rows, error, operator in attempt.dead:
            self.emitter.dead_letter(source, rows, error, operator)

    def decode(self, source: Source, attempt: _Attempt) -> pl.DataFrame:
        values, kept, failures = decode_values(self.topic.value_serde, source.raw_values)
        for position, error in failures:
            self.fail(attempt, source, [position], error, f"decode {self.topic.name}")
        whole = len(kept) == len(source)  # the usual case: no per-record indexing
        raw_keys = source.raw_keys if whole else [source.raw_keys[i] for i in kept]
        keys, key_failures = decode_keys(self.topic.key_serde, raw_keys, KEY)
        bad_keys = [i for i, _ in key_failures]
        for i, exc in key_failures:
            self.fail(attempt, source, [kept[i]], exc, f"decode key {self.topic.name}")
        stamps = source.timestamps if whole else [source.timestamps[i] for i in kept]
        meta = pl.DataFrame(
            [
                pl.Series(ROW, kept, dtype=pl.Int64),
                keys,
                pl.Series(TS, stamps, dtype=pl.Int64),
            ]
        )
        frame = with_values(meta, values)
        if bad_keys:
            frame = frame.filter(~pl.int_range(frame.height).is_in(bad_keys))
        if self.topic.timestamp:
            frame = self._event_time(frame, source, attempt)
        return frame

    def _event_time(self, frame: pl.DataFrame, source: Source, attempt: _Attempt) -> pl.DataFrame:
        name = self.topic.timestamp
        assert name is not None
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(name))
        stamped = with_millis(
            frame.with_columns(pl.col(name).alias("_hw_event_ts")), "_hw_event_ts"
        )
        bad = stamped.filter(pl.col("_hw_event_ts").is_null())
        for row in bad[ROW].to_list():
            self.fail(
                attempt,
                source,
                [row],
                ValueError(f"field {name!r} is missing or not a timestamp (epoch ms or ISO-8601)"),
                f"timestamp {self.topic.name}",
            )
        return (
            stamped.filter(pl.col("_hw_event_ts").is_not_null())
            .with_columns(pl.col("_hw_event_ts").alias(TS))
            .drop("_hw_event_ts")
        )

    def _run(self, node: Node, frame: pl.DataFrame, ctx: _Context, whole_batch: bool) -> None:
        if id(node) in self.time.observers:
            self.time.observe(frame, ctx.source, time.monotonic())
        try:
            out = node.operator.process(frame, ctx)
        except PipelineError:
            raise
        except Exception as exc:
            if whole_batch and frame.height > 1:
                raise _BatchFailed(f"step {node.operator.label} failed on a batch: {exc}") from exc
            if frame.height:
                ctx.fail(frame[ROW].unique(maintain_order=True).to_list(), exc, node.operator.label)
            if self.steps is not None:
                ctx.attempt.count(step_id(node), frame.height, 0)
            return
        if self.steps is not None:
            ctx.attempt.count(step_id(node), frame.height, out.height)
        if self._tap is not None:
            ctx.attempt.tapped.append((node, out))
        if out.height == 0:
            return
        for child in node.children:
            if not child.operator.side:  # side outputs run when fed
                self._run(child, out, ctx, whole_batch)

    # Event time
    def advance(self, now: float) -> list[int]:
        """Time moved on (a batch, or the runner's tick): write watermark markers that
        changed, close the windows the watermark passed. Returns the partitions whose state
        changed."""
        changed = self.time.advance(now)
        for topic in self.time.marker_topics:
            if not changed:
                break
            count = self.emitter.partition_count(topic)
            upstream_count = self.emitter.partition_count(self.topic)
            for upstream, (mark, idle) in sorted(changed.items()):
                payload = encode_marker(upstream, upstream_count, mark, idle)
                for partition in range(count):
                    self.emitter.marker(topic, partition, payload)
        touched: list[int] = []
        for node, operator in self.time.timed:
            for partition in sorted(self.time.live):
                if self._fire(node, operator, partition):
                    touched.append(partition)
            if operator.early_due(now):
                for partition in sorted(self.time.live):
                    self._fire(node, operator, partition, early=True)
        self._positions += [self._position(p) for p in dict.fromkeys(touched)]
        return touched

    def _fire(
        self, node: Node, operator: TimedOperator, partition: int, early: bool = False
    ) -> bool:
        """Close the due windows of ``partition`` (or, ``early``, send the results so far of
        the windows that changed) and run the results down the pipeline."""
        attempt = _Attempt()
        empty = Source(self.topic.name, [], [], [], [], [])
        ctx = _Context(self, empty, attempt, whole_batch=False)
        try:
            if early:
                fired = operator.early(partition, ctx)
            else:
                fired = operator.fire(partition, self.time.watermark(partition), ctx)
            if fired is None:
                return False
            frame, failures = fired
            if frame.height:
                ctx.source = _results_source(self.topic.name, partition, frame)
                frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW))
                for position, error in failures:
                    ctx.fail([position], error, operator.label)
                if failures:
                    bad = [p for p, _ in failures]
                    frame = frame.filter(~pl.col(ROW).is_in(bad))
                if self.steps is not None:
                    attempt.count(step_id(node), 0, frame.height)  # results of closed windows
                if self._tap is not None:
                    attempt.tapped.append((node, frame))
                for child in node.children:
                    if frame.height and not child.operator.side:
                        self._run(child, frame, ctx, whole_batch=False)
        except BaseException:
            attempt.rollback()
            raise
        self._deliver(attempt)
        return True

    def tick_due(self, now: float, every: float = 0.05) -> bool:
        """Whether :meth:`tick` has anything to do (time is tracked, and not just ticked)."""
        return self.time.enabled and now - self._ticked >= every

    def tick(self, now: float) -> None:
        """Called by the live loop between polls: time advances without records."""
        self._ticked = now
        self.advance(now)

    def positions(self) -> list[Position]:
        """For the checkpoint, since the last call: where each partition whose state changed
        by time alone (windows closed) stands, so its store's changes have an offset."""
        positions, self._positions = self._positions, []
        return positions

    def _position(self, partition: int) -> Position:
        offset = self._next.get(partition)
        if offset is None:
            store = self.time.timed[0][1].store
            offset = (
                self.stores(store, self.topic.name, partition).processed_offset
                if self.stores is not None
                else 0
            )
        return Position(self.topic.name, partition, offset)

    def finish(self, at: int = MAX_TIME) -> None:
        """The input is over (a local or bounded run): every window up to ``at`` closes, every
        timer up to it fires (by default all of them)."""
        if self.time.enabled:
            self.time.finish(at)
            self.advance(time.monotonic())

    def assign(self, partitions: list[tuple[str, int]]) -> None:
        now = time.monotonic()
        for topic, partition in partitions:
            if topic == self.topic.name:
                self.time.assign(partition, now)

    def forget(self, partitions: list[tuple[str, int]]) -> None:
        for topic, partition in partitions:
            if topic == self.topic.name:
                self.time.forget(partition)
                self._next.pop(partition, None)

    def rewind(self, partitions: list[tuple[str, int]]) -> None:
        """``partitions`` are read again from their last commit (an aborted transaction)."""
        now = time.monotonic()
        for topic, partition in partitions:
            if topic == self.topic.name:
                if self.time.enabled:
                    self.time.rewind(partition, now)
                # A window closed by time alone must not record a position read in the abort.
                self._next.pop(partition, None)


def _results_source(topic: str, partition: int, frame: pl.DataFrame) -> Source:
    """Window results as records of their own: what a dead letter of one carries (encoded
    only for the few that fail)."""
    n = frame.height
    return Source(
        topic=topic,
        partitions=[partition] * n,
        offsets=[-1] * n,
        raw_keys=cast("list[bytes | None]", JsonRows(frame.select(KEY), single=True)),
        raw_values=cast("list[bytes | None]", JsonRows(frame.select(value_columns(frame)))),
        timestamps=frame[TS].to_list(),
    )
