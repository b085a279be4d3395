"""Runs a pipeline graph over one micro-batch; the same code serves live runs and local tests.

An executor drives the operator trees of one input topic, or of several when a join connects
them (they meet at the join node and share what follows it). Event time is kept per input
topic (:class:`PipelineTime`) and, below each join, as the minimum of its inputs'
(:class:`JoinTime`): every node acts at the watermark of the time domain it belongs to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

import polars as pl

from headwater.errors import PipelineError, StateError
from headwater.runtime.loop.batch import KEY, ROW, TS, Position, Source, value_columns, with_values
from headwater.runtime.loop.lazy_records import JsonRows
from headwater.runtime.loop.step_metrics import StepCounters, step_id
from headwater.runtime.operators.sink_step import SinkTarget
from headwater.runtime.operators.steps import SourceOp, with_millis
from headwater.runtime.operators.two_input import TwoInputOperator
from headwater.runtime.time.join_time import JoinTime, TimeDomain, domain_nodes, joins_below
from headwater.runtime.time.pipeline_time import PipelineTime
from headwater.runtime.time.watermark import MAX_TIME, MIN_TIME, encode_marker
from headwater.serde.frames import Failure, decode_keys, decode_values

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
        self,
        topic: Topic,
        frame: pl.DataFrame,
        source: Source,
        splice: tuple[str, ...] | None = None,
    ) -> list[tuple[int, Exception]]:
        """Send ``frame``; return the records (``_hw_row``, error) that could not be sent.
        ``splice``: each record is its input (in ``source``) plus these columns."""
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

    outputs: list[tuple[Topic, pl.DataFrame, Source, tuple[str, ...] | None]] = field(
        default_factory=list
    )
    # Each with the id of the step that failed (None: no step, an output the broker refused).
    dead: list[tuple[Source, list[int], BaseException, str, str | None]] = field(
        default_factory=list
    )
    tapped: list[tuple[Node, pl.DataFrame]] = field(default_factory=list)
    # Stores this pass touched, with their state before it: a discarded pass is rolled back.
    savepoints: dict[int, tuple[PartitionStore, Savepoint]] = field(default_factory=dict)
    # Records in and out per step id: added to the app's counters only if the pass completes.
    counts: dict[str, list[int]] = field(default_factory=dict)
    # What steps count of their own (a model's scores): done only if the pass completes.
    on_delivery: list[Callable[[], None]] = field(default_factory=list)

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
        # The time domain of the node being run (set by the executor as records go down).
        self.time: TimeDomain = executor.time
        self.step: str | None = None  # the id of the step being run: what its failures name

    def watermark(self, partition: int) -> int:
        return self.time.watermark(partition)

    def side(self, node: Node, frame: pl.DataFrame) -> None:
        step = self.step
        self._executor._run(node, frame, self, self.whole_batch)
        self.step = step  # the step that fed the side output goes on

    def fail(self, rows: list[int], error: BaseException, operator: str) -> None:
        self._executor.fail(self.attempt, self.source, rows, error, operator, self.step)

    def emit(
        self, topic: Topic, frame: pl.DataFrame, splice: tuple[str, ...] | None = None
    ) -> None:
        self.attempt.outputs.append((topic, frame, self.source, splice))

    def on_delivery(self, action: Callable[[], None]) -> None:
        self.attempt.on_delivery.append(action)

    def store(self, name: str, partition: int, topic: str | None = None) -> PartitionStore:
        provider = self._executor.stores
        if provider is None:
            raise StateError("this pipeline has stateful steps but the app was given no state")
        store = provider(name, topic or self.source.topic, partition)
        if id(store) not in self.attempt.savepoints:
            self.attempt.savepoints[id(store)] = (store, store.savepoint())
        return store


@dataclass(eq=False)
class _Input:
    """One input topic of an executor: its pipeline's root and its event time."""

    root: Node
    topic: Topic
    time: PipelineTime


class Executor:
    """Decodes a source batch and drives it through the operator tree rooted at ``root`` (one
    root per input topic of ``topic`` when a join connects several, in the same order).

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
        root: Node | Sequence[Node],
        topic: Topic | Sequence[Topic],
        emitter: Emitter,
        on_error: str,
        tap: Callable[[Node, pl.DataFrame], None] | None = None,
        stores: StoreProvider | None = None,
        steps: StepCounters | None = None,
    ) -> None:
        roots: list[Node] = list(root) if isinstance(root, list | tuple) else [root]  # type: ignore[list-item]
        topics: list[Topic] = list(topic) if isinstance(topic, list | tuple) else [topic]  # type: ignore[list-item]
        self._inputs = {
            t.name: _Input(r, t, PipelineTime(r)) for r, t in zip(roots, topics, strict=True)
        }
        first = next(iter(self._inputs.values()))
        self.root, self.topic, self.time = first.root, first.topic, first.time
        self.emitter = emitter
        self.on_error = on_error
        self._tap = tap
        self.stores = stores
        self.steps = steps  # records in and out per step, when the app serves its metrics
        self._joins, self._domain_of = _time_domains(list(self._inputs.values()))
        # Per input, the joins its records reach: their other inputs' stores may change too.
        self._feeds = {
            name: [j for j in self._joins if _reaches(inp.root, j.node)]
            for name, inp in self._inputs.items()
        }
        self._next: dict[tuple[str, int], int] = {}  # the offset after the last processed
        self._ticked = 0.0
        self._positions: list[Position] = []

    @property
    def topics(self) -> list[str]:
        """The input topics this executor processes."""
        return list(self._inputs)

    @property
    def _domains(self) -> list[TimeDomain]:
        """Every time domain: the inputs', then the joins' (each after those it reads)."""
        domains: list[TimeDomain] = [i.time for i in self._inputs.values()]
        return domains + list(self._joins)

    def fail(
        self,
        attempt: _Attempt,
        source: Source,
        rows: list[int],
        error: BaseException,
        operator: str,
        step: str | None = None,
    ) -> None:
        if self.on_error == "raise":
            origin = source.origin(rows[0])
            raise PipelineError(
                f"operator '{operator}' failed on the record at {origin} "
                f"(topic {origin.topic}, partition {origin.partition}, offset {origin.offset}): "
                f"{type(error).__name__}: {error}"
            ) from error
        attempt.dead.append((source, rows, error, operator, step))

    def process(self, source: Source) -> None:
        pipeline_time = self._inputs[source.topic].time
        if not pipeline_time.enabled:
            self._process(source)
            return
        records, marks = pipeline_time.strip_markers(source)
        self._next.update({(source.topic, p): o for p, o in source.next_offsets().items()})
        if len(records):
            self._process(records)
        # A join may change its other input's store of the same partition (rows it matched,
        # rows it dropped): that partition's position goes into the checkpoint too.
        for join in self._feeds[source.topic]:
            for topic in _join_topics(join):
                if topic != source.topic:
                    self._positions += [
                        self._position(topic, p, join) for p in dict.fromkeys(source.partitions)
                    ]
        # Markers count once the batch's records are in: a record is checked against the
        # watermark as it was before its batch.
        pipeline_time.apply_markers(marks)
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
        self._run(self._inputs[source.topic].root, frame, ctx, whole_batch)

    def _deliver(self, attempt: _Attempt) -> None:
        if self.steps is not None:
            for step, (records_in, records_out) in attempt.counts.items():
                self.steps.add(step, records_in, records_out)
        for action in attempt.on_delivery:
            action()
        if self._tap is not None:
            for node, frame in attempt.tapped:
                self._tap(node, frame)
        for topic, frame, source, splice in attempt.outputs:
            if isinstance(topic, SinkTarget):  # written at the checkpoint
                topic.buffer(frame, source)
                continue
            for row, refusal in self.emitter.emit(topic, frame, source, splice):
                self.fail(attempt, source, [row], refusal, f"to_topic({topic.name})")
        for source, rows, error, operator, failed_at in attempt.dead:
            self.emitter.dead_letter(source, rows, error, operator)
            if self.steps is not None and failed_at is not None:
                self.steps.dead_letters(failed_at, len(rows))

    def decode(self, source: Source, attempt: _Attempt) -> pl.DataFrame:
        reading = self._inputs[source.topic]
        topic, root = reading.topic, reading.root.operator
        step = step_id(reading.root)  # a record that cannot be read fails at its source
        fields = root.fields if isinstance(root, SourceOp) else None
        values, kept, failures = decode_values(topic.value_serde, source.raw_values, fields)
        if isinstance(root, SourceOp) and root.table:
            values, kept, failures = _with_tombstones(source, values, kept, failures)
        for position, error in failures:
            self.fail(attempt, source, [position], error, f"decode {topic.name}", step)
        whole = len(kept) == len(source)  # the usual case: no per-record indexing
        raw_keys = source.raw_keys if whole else [source.raw_keys[i] for i in kept]
        keys, key_failures = decode_keys(topic.key_serde, raw_keys, KEY)
        bad_keys = [i for i, _ in key_failures]
        for i, exc in key_failures:
            self.fail(attempt, source, [kept[i]], exc, f"decode key {topic.name}", step)
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
        if topic.timestamp:
            frame = self._event_time(topic, frame, source, attempt, step)
        return frame

    def _event_time(
        self, topic: Topic, frame: pl.DataFrame, source: Source, attempt: _Attempt, step: str
    ) -> pl.DataFrame:
        name = topic.timestamp
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
                f"timestamp {topic.name}",
                step,
            )
        return (
            stamped.filter(pl.col("_hw_event_ts").is_not_null())
            .with_columns(pl.col("_hw_event_ts").alias(TS))
            .drop("_hw_event_ts")
        )

    def _run(
        self, node: Node, frame: pl.DataFrame, ctx: _Context, whole_batch: bool, port: int = 0
    ) -> None:
        reading = self._inputs.get(ctx.source.topic)
        if reading is not None and id(node) in reading.time.observers:
            reading.time.observe(frame, ctx.source, time.monotonic())
        ctx.time = self._domain_of.get(id(node), ctx.time)
        ctx.step = step_id(node)
        started = time.perf_counter()
        try:
            operator = node.operator
            if isinstance(operator, TwoInputOperator):
                out = operator.process_port(port, frame, ctx)
            else:
                out = operator.process(frame, ctx)
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
        finally:
            if self.steps is not None:  # two clock reads per step and batch
                self.steps.busy(step_id(node), time.perf_counter() - started)
        if self.steps is not None:
            ctx.attempt.count(step_id(node), frame.height, out.height)
        if self._tap is not None:
            ctx.attempt.tapped.append((node, out))
        if out.height == 0:
            return
        for child in node.children:
            if not child.operator.side:  # side outputs run when fed
                self._run(child, out, ctx, whole_batch, child.port(node) if child.joins else 0)

    # Event time
    def advance(self, now: float) -> list[int]:
        """Time moved on (a batch, or the runner's tick): write watermark markers that
        changed, close the windows the watermark passed. Returns the partitions whose state
        changed."""
        for inp in self._inputs.values():
            self._send_markers(inp.time.marker_topics, inp.topic, inp.time.advance(now))
        for join in self._joins:  # after the inputs: a joint watermark is theirs combined
            topics = [self._inputs[t].topic for t in _join_topics(join) if t in self._inputs]
            if topics:
                self._send_markers(join.marker_topics, topics[0], join.markers(now))
        touched: list[int] = []
        for domain in self._domains:
            changed: list[int] = []
            for node, operator in domain.timed:
                for partition in sorted(domain.live):
                    if self._fire(node, operator, partition, domain):
                        changed.append(partition)
                if operator.early_due(now):
                    for partition in sorted(domain.live):
                        self._fire(node, operator, partition, domain, early=True)
            for partition in dict.fromkeys(changed):
                self._positions += [
                    self._position(topic, partition, domain) for topic in self._topics_of(domain)
                ]
            touched += changed
        return list(dict.fromkeys(touched))

    def _send_markers(
        self, topics: list[Topic], upstream: Topic, changed: dict[int, tuple[int, bool]]
    ) -> None:
        """Write the watermarks of ``upstream``'s partitions that ``changed`` to every
        partition of each marker topic."""
        for topic in topics:
            if not changed:
                break
            count = self.emitter.partition_count(topic)
            upstream_count = self.emitter.partition_count(upstream)
            for source_partition, (mark, idle) in sorted(changed.items()):
                payload = encode_marker(source_partition, upstream_count, mark, idle)
                for partition in range(count):
                    self.emitter.marker(topic, partition, payload)

    def _topics_of(self, domain: TimeDomain) -> list[str]:
        """The input topics whose stores a domain's timed operators keep."""
        if isinstance(domain, JoinTime):
            return _join_topics(domain)
        return [inp.topic.name for inp in self._inputs.values() if inp.time is domain]

    def _fire(
        self,
        node: Node,
        operator: TimedOperator,
        partition: int,
        domain: TimeDomain,
        early: bool = False,
    ) -> bool:
        """Close the due windows of ``partition`` (or, ``early``, send the results so far of
        the windows that changed) and run the results down the pipeline."""
        attempt = _Attempt()
        topic = self._topics_of(domain)[0]  # what a dead letter of a result names
        empty = Source(topic, [], [], [], [], [])
        ctx = _Context(self, empty, attempt, whole_batch=False)
        ctx.time = domain
        ctx.step = step_id(node)
        started = time.perf_counter()
        try:
            if early:
                fired = operator.early(partition, ctx)
            else:
                fired = operator.fire(partition, domain.watermark(partition), ctx)
            if self.steps is not None:
                self.steps.busy(step_id(node), time.perf_counter() - started)
            if fired is None:
                return False
            frame, failures = fired
            if frame.height:
                ctx.source = _results_source(topic, partition, frame)
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

    # What the app's metrics read now and then (app_metrics.py), never per record
    def steps_of(self) -> list[Node]:
        """Every step this executor drives, each once."""
        seen: dict[int, Node] = {}
        for inp in self._inputs.values():
            for node in inp.root.walk():
                seen.setdefault(id(node), node)
        return list(seen.values())

    def watermarks(self) -> dict[str, int]:
        """The watermark (epoch ms) of every step that keeps event time, by step id: the
        least over the partitions this instance processes; steps with none yet are left out."""
        found: dict[str, int] = {}
        for node in self.steps_of():
            domain = self._domain_of.get(id(node))
            if domain is None or (isinstance(domain, PipelineTime) and not domain.enabled):
                continue
            marks = [domain.watermark(p) for p in list(domain.live)]
            known = [m for m in marks if MIN_TIME < m < MAX_TIME]
            if known and len(known) == len(marks):
                found[step_id(node)] = min(known)
        return found

    def tick_due(self, now: float, every: float = 0.05) -> bool:
        """Whether :meth:`tick` has anything to do (time is tracked, and not just ticked)."""
        enabled = any(inp.time.enabled for inp in self._inputs.values())
        return enabled and now - self._ticked >= every

    def tick(self, now: float) -> None:
        """Called by the live loop between polls: time advances without records."""
        self._ticked = now
        self.advance(now)

    def positions(self) -> list[Position]:
        """For the checkpoint, since the last call: where each partition whose state changed
        by time alone (windows closed) stands, so its store's changes have an offset."""
        positions, self._positions = self._positions, []
        return positions

    def _position(self, topic: str, partition: int, domain: TimeDomain | None) -> Position:
        offset = self._next.get((topic, partition))
        if offset is None:
            store = _store_of(domain, topic) if domain is not None else None
            offset = (
                self.stores(store, topic, partition).processed_offset
                if self.stores is not None and store is not None
                else 0
            )
        return Position(topic, partition, offset)

    def finish(self, at: int = MAX_TIME) -> None:
        """The input is over (a local or bounded run): every window up to ``at`` closes, every
        timer up to it fires (by default all of them)."""
        enabled = [inp.time for inp in self._inputs.values() if inp.time.enabled]
        if enabled:
            for pipeline_time in enabled:
                pipeline_time.finish(at)
            self.advance(time.monotonic())

    def assign(
        self,
        partitions: list[tuple[str, int]],
        metadata: Mapping[tuple[str, int], str | None] | None = None,
    ) -> None:
        """New partitions; ``metadata``: what their last commits hold (their event time)."""
        now = time.monotonic()
        for topic, partition in partitions:
            inp = self._inputs.get(topic)
            if inp is not None:
                inp.time.assign(partition, now, (metadata or {}).get((topic, partition)))

    def ready(self, partitions: list[tuple[str, int]]) -> None:
        """``partitions`` can be processed now (their stores are recovered)."""
        for topic, partition in partitions:
            inp = self._inputs.get(topic)
            if inp is not None and inp.time.enabled:
                inp.time.ready(partition)

    def tracks_event_time(self, topic: str) -> bool:
        """Whether the pipeline of input ``topic`` keeps event time (commits it, see
        :meth:`offer`)."""
        inp = self._inputs.get(topic)
        return inp is not None and inp.time.enabled

    def offer(self, topic: str, partition: int) -> str | None:
        """The metadata to commit with a partition's offset (its event time), if any."""
        inp = self._inputs.get(topic)
        return inp.time.offer(partition) if inp is not None and inp.time.enabled else None

    def committed(self, topic: str, partition: int) -> None:
        """The commit of a partition's offset, with what :meth:`offer` gave, succeeded."""
        inp = self._inputs.get(topic)
        if inp is not None:
            inp.time.committed(partition)

    def forget(self, partitions: list[tuple[str, int]]) -> None:
        for topic, partition in partitions:
            inp = self._inputs.get(topic)
            if inp is not None:
                inp.time.forget(partition)
                self._next.pop((topic, partition), None)
                for join in self._feeds[topic]:
                    join.forget(partition)

    def rewind(self, partitions: list[tuple[str, int]]) -> None:
        """``partitions`` are read again from their last commit (an aborted transaction)."""
        now = time.monotonic()
        for topic, partition in partitions:
            inp = self._inputs.get(topic)
            if inp is not None:
                if inp.time.enabled:
                    inp.time.rewind(partition, now)
                # A window closed by time alone must not record a position read in the abort.
                self._next.pop((topic, partition), None)
                for join in self._feeds[topic]:
                    join.forget(partition)


def _with_tombstones(
    source: Source, values: pl.DataFrame, kept: list[int], failures: list[Failure]
) -> tuple[pl.DataFrame, list[int], list[Failure]]:
    """A table's decoded records with its tombstones (records without a value) kept, in input
    order, as rows with null values: the table deletes their keys."""
    tombstones = [i for i, _ in failures if source.raw_values[i] is None]
    if not tombstones:
        return values, kept, failures
    order = pl.Series(kept + tombstones, dtype=pl.Int64)
    by_position = order.arg_sort()
    if values.width:  # else only keys and times are decoded: no value rows to place
        values = pl.concat([values, values.clear(len(tombstones))])[by_position]
    kept = order.gather(by_position).to_list()
    return values, kept, [(i, e) for i, e in failures if source.raw_values[i] is not None]


def _time_domains(inputs: list[_Input]) -> tuple[list[JoinTime], dict[int, TimeDomain]]:
    """The joins' time domains (each after the domains it reads), and each node's domain."""
    domain_of: dict[int, TimeDomain] = {}
    for inp in inputs:
        for node in domain_nodes(inp.root):
            domain_of[id(node)] = inp.time
    joins: list[JoinTime] = []
    pending = [j for inp in inputs for j in joins_below(inp.root)]
    waiting = 0  # joins put back in a row: all of them means an input is missing
    while pending:
        node = pending.pop(0)
        if id(node) in domain_of:
            continue
        sides = [domain_of.get(id(p)) for p in node.parents]
        if any(side is None for side in sides):  # a parent's domain is not known yet
            waiting += 1
            if waiting > len(pending):
                raise PipelineError(
                    f"join {node.id} reads a pipeline this executor was not given; give it "
                    "every input topic the join reads"
                )
            pending.append(node)
            continue
        waiting = 0
        join = JoinTime(node, [s for s in sides if s is not None])
        joins.append(join)
        for below in domain_nodes(node):
            domain_of[id(below)] = join
        pending += joins_below(node)
    return joins, domain_of


def _reaches(start: Node, target: Node) -> bool:
    return any(n is target for n in start.walk())


def _join_topics(join: JoinTime) -> list[str]:
    """The input topics a join keeps its stores per partition of (one per port)."""
    operator = join.node.operator
    if isinstance(operator, TwoInputOperator):
        return list(dict.fromkeys(operator.inputs))
    return []


def _store_of(domain: TimeDomain, topic: str) -> str | None:
    """A store the domain's operators keep per partition of ``topic`` (for its offset)."""
    if isinstance(domain, JoinTime):
        operator = domain.node.operator
        if isinstance(operator, TwoInputOperator):
            return operator.store_of(topic)
        return None
    return domain.timed[0][1].store if domain.timed else None


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
