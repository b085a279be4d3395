"""The live loop: poll a micro-batch, run it through the pipelines, produce, checkpoint."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from headwater.errors import BrokerError, ConfigError, MissingTopicError
from headwater.kafka.admin import TopicAdmin
from headwater.runtime.commit.checkpoint import Checkpoint
from headwater.runtime.commit.delivery import DeliveryErrors
from headwater.runtime.commit.purge import RepartitionPurger
from headwater.runtime.commit.transaction import TransactionalCheckpoint, transactional_id
from headwater.runtime.compile import compile_plan, connected_inputs
from headwater.runtime.graph import describe
from headwater.runtime.loop.app_metrics import AppMetrics, AppMetricsCollector
from headwater.runtime.loop.batch import Source
from headwater.runtime.loop.bounds import InputBounds, Until, end_round
from headwater.runtime.loop.emitter import KafkaEmitter
from headwater.runtime.loop.event_time_commits import EventTimeCommits
from headwater.runtime.loop.executor import Executor
from headwater.runtime.loop.global_tables import GlobalTables
from headwater.runtime.loop.model_metrics import watch_models
from headwater.runtime.loop.standby_assignment import StandbyPlanner
from headwater.runtime.loop.status import StatusFile
from headwater.runtime.loop.step_metrics import serve_step_metrics, topology_steps
from headwater.runtime.operators.sink_step import SinkCheckpoint, sink_targets
from headwater.signals import on_stop_signals
from headwater.state import StateManager

if TYPE_CHECKING:
    from headwater.plan import Plan
    from headwater.runtime.graph import Node
    from headwater.runtime.loop.settings import RunSettings

log = logging.getLogger("headwater.runner")

# Changelog records replayed per loop iteration while stores recover: small enough that ready
# partitions keep being processed in between.
RECOVERY_STEP = 5_000
RECOVERY_PREFETCH = 10_000
FETCH_QUEUE_BACKOFF_MS = 20
LIBRDKAFKA_BATCH_BYTES = 1_000_000  # librdkafka's default batch.size


class Runner:
    """Drives one app's plan: a consumer in the app's group, one producer, one checkpoint."""

    def __init__(self, plan: Plan, settings: RunSettings, until: Until | None = None) -> None:
        self.plan = plan
        self.settings = settings
        self.until = until  # a bounded run: "end" or an event time (see bounds.py)
        self._bounds: InputBounds | None = None
        self._stopping = threading.Event()
        self._assigned: set[tuple[str, int]] = set()
        self._paused: set[tuple[str, int]] = set()  # assigned, but their stores still recover
        self._rebalanced = False
        self._closing = False  # the final checkpoint is done: rebalance callbacks only tidy up
        self._batch_bytes: int | None = None  # the producer's batch size, where topics need less
        self._copartitioned: dict[str, list[str]] = {}  # input topic -> the topics joined with it
        self._stateful_topics: set[str] = set()

    def stop(self) -> None:
        self._stopping.set()

    # Set-up
    def _prepare_topics(self) -> None:
        """Create what is missing, and learn the output topics' record size limit."""
        plan, settings = self.plan, self.settings
        admin = TopicAdmin(settings.kafka)
        existing = admin.list_topics()
        from headwater.runtime.operators.repartition import create_internal_topics

        # Repartition topics are inputs too, made with their upstream topic's partition count.
        # Listed again even when another replica created them meanwhile (none created here).
        if any(name not in existing for name in plan.internal_topics):
            create_internal_topics(admin, plan.internal_topics, existing)
            existing = admin.list_topics()
        missing = [t.name for t in plan.input_topics if t.name not in existing]
        if missing:
            raise MissingTopicError(
                f"input topic(s) {', '.join(repr(m) for m in missing)} do not exist on "
                f"{settings.kafka.bootstrap_servers}; create them first, e.g. "
                f"`headwater topics create {missing[0]} --partitions 3`"
            )
        for step, left, right in plan.joins:
            counts = (existing[left].partitions, existing[right].partitions)
            if counts[0] != counts[1]:
                raise ConfigError(
                    f"join {step.id} ({step.kind}) reads topic {left!r} with {counts[0]} "
                    f"partitions and topic {right!r} with {counts[1]}; a join reads partition i "
                    f"of both together, so give them the same count (e.g. `headwater topics "
                    f"create {right} --partitions {counts[0]}` after deleting it)"
                )
        outputs = list(plan.output_topics)
        if plan.dead_letter_topic is not None:
            outputs.append(plan.dead_letter_topic)
        absent = [t for t in outputs if t.name not in existing]
        if absent and not settings.create_topics:
            raise MissingTopicError(
                f"output topic(s) {', '.join(t.name for t in absent)} do not exist and "
                "create_topics=False; create them or let the app create them"
            )
        created = admin.create(absent)
        if created:
            log.info("created topics %s", ", ".join(created))
        self._batch_bytes = _smallest_message_limit(admin, [t.name for t in outputs])

    def _consumer_config(self) -> dict[str, Any]:
        plan, settings = self.plan, self.settings
        return settings.kafka.client_config(
            **{
                "group.id": plan.app,
                "enable.auto.commit": False,
                "auto.offset.reset": settings.auto_offset_reset,
                "partition.assignment.strategy": (
                    # Joins read partition i of both inputs in one member: the range assignor
                    # gives every member the same partition numbers of equally partitioned
                    # topics; cooperative-sticky balances each topic on its own.
                    "range" if plan.joins else "cooperative-sticky"
                ),
                # Once its prefetch queue is full, librdkafka waits this long before fetching
                # again (1 s by default): a batch drains the queue sooner, and the app then
                # stalled with nothing to read for most of that second.
                "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS,
                # Exactly-once reads only committed records (librdkafka's default too).
                **({"isolation.level": "read_committed"} if self._exactly_once else {}),
                # A bounded run learns the position of a partition with nothing left to read.
                **({"enable.partition.eof": True} if self.until is not None else {}),
                **settings.consumer_config,
            }
        )

    @property
    def _exactly_once(self) -> bool:
        return self.settings.guarantee == "exactly-once"

    def _producer_config(self, errors: DeliveryErrors, txn_id: str | None) -> dict[str, Any]:
        settings = self.settings
        delivery: dict[str, Any] = {"delivery.report.only.error": True, "on_delivery": errors}
        if txn_id is not None:
            # A failed delivery fails the transaction's commit, so no report is needed for
            # outputs; successes are reported (to no callback, cheap) for the changelog
            # records' own callbacks, which learn the exact changelog offsets.
            delivery = {
                "transactional.id": txn_id,
                "delivery.report.only.error": False,
                # A replica that dies with a transaction open and never comes back blocks
                # read_committed readers of its outputs until the broker aborts it: ten
                # seconds past the commit interval, as Kafka Streams, not librdkafka's minute.
                "transaction.timeout.ms": int((settings.commit_interval + 10) * 1000),
            }
        # The broker checks a whole batch against its topic's max.message.bytes: a batch
        # larger than the smallest limit would make it refuse records that fit alone.
        batch = {} if self._batch_bytes is None else {"batch.size": self._batch_bytes}
        return settings.kafka.client_config(
            **{
                "enable.idempotence": True,
                "linger.ms": 5,
                "queue.buffering.max.messages": 500_000,
                **batch,
                # Same partitioner as the Java client, so keys land where Kafka Streams puts them.
                "partitioner": "murmur2_random",
                **delivery,
                **settings.producer_config,
            }
        )

    def _changelog_producer_config(self) -> dict[str, Any]:
        # At-least-once only: its own producer reports successful deliveries (exact changelog
        # offsets) without making every output pay for a delivery report.
        return self.settings.kafka.client_config(
            **{"enable.idempotence": True, "linger.ms": 5, **self.settings.producer_config}
        )

    def _open_state(self) -> StateManager | None:
        plan, settings = self.plan, self.settings
        if not plan.store_topics:
            return None
        # A small prefetch per partition: end-of-partition events queue behind prefetched
        # records of other partitions, and a store with nothing to replay should not wait.
        state = StateManager(
            plan.app,
            settings.state_dir,
            settings.kafka,
            recovery_config={"queued.min.messages": RECOVERY_PREFETCH},
        )
        for store_name, topic in plan.store_topics.items():
            state.register_store(store_name, topic)
        state.prepare()
        return state

    # The loop
    def run(self) -> None:
        plan, settings = self.plan, self.settings
        self._prepare_topics()
        state = self._open_state()
        errors = DeliveryErrors()
        txn_id, lock = (
            transactional_id(plan.app, settings.state_dir) if self._exactly_once else (None, None)
        )
        producer_config = self._producer_config(errors, txn_id)
        producer = Producer(producer_config)
        changelog_producer = (
            Producer(self._changelog_producer_config())
            if state is not None and txn_id is None
            else None
        )
        consumer_config = self._consumer_config()
        group = consumer_config["group.id"]
        eager = "cooperative" not in str(consumer_config["partition.assignment.strategy"])
        consumer = Consumer(consumer_config)
        emitter = KafkaEmitter(producer, plan.dead_letter_topic, errors)
        purger = RepartitionPurger(settings.kafka, set(plan.internal_topics))
        dead_letters = plan.dead_letter_topic is not None
        checkpoint: Checkpoint

        executors: dict[str, Executor] = {}
        event_time = EventTimeCommits(executors)

        def rewind(partitions: list[tuple[str, int]]) -> None:
            for executor in pipelines:
                executor.rewind(partitions)
            if self._bounds is not None:
                consumer.resume(self._bounds.rewind(partitions))
            if sinks is not None:
                sinks.drop(partitions)  # their rows are written when processed again

        if txn_id is not None:
            checkpoint = TransactionalCheckpoint(
                consumer,
                producer,
                errors,
                state=state,
                dead_letters=dead_letters,
                new_producer=lambda: Producer(producer_config),
                on_new_producer=emitter.use_producer,
                on_rewind=rewind,
                offset_metadata=event_time,
            )
            checkpoint.initialize()
            log.info("exactly-once with transactional.id %s", txn_id)
        else:
            checkpoint = Checkpoint(
                consumer,
                producer,
                errors,
                state=state,
                changelog_producer=changelog_producer,
                dead_letter=emitter.dead_letter_refusal if dead_letters else None,
                offset_metadata=event_time,
            )
        stores = state.store if state is not None else None
        # Live runs write bytes: sources decode only what the pipelines read (see
        # headwater.plan.projection).
        roots = compile_plan(plan, pushdown=True)
        sinks = self._sink_checkpoint(roots, consumer)
        checkpoint.sinks = sinks
        dead_letter_topic = plan.dead_letter_topic.name if plan.dead_letter_topic else None
        topology = describe(plan.app, list(roots.values()), dead_letter_topic)
        steps = topology_steps(topology)
        metrics = serve_step_metrics(steps)  # None unless HEADWATER_METRICS_ADDRESS is set
        counters = metrics.counters if metrics is not None else None
        app_metrics = AppMetrics()  # busy and idle time, checkpoints, event time, state
        if metrics is not None:
            metrics.counters.registry.register(AppMetricsCollector(app_metrics))
        if counters is not None:
            watch_models(counters, roots.values())
        # One executor per input topic, or per group of topics a join connects.
        pipelines = [
            Executor(
                [roots[name] for name in group],
                [plan.topics[name] for name in group],
                emitter,
                settings.on_error,
                stores=stores,
                steps=counters,
            )
            for group in connected_inputs(roots)
        ]
        executors.update((name, e) for e in pipelines for name in e.topics)
        # Partition i of joined topics waits for the stores of every one of them.
        self._copartitioned = {name: e.topics for e in pipelines for name in e.topics}
        stateful_topics = {topic.name for topic in plan.store_topics.values()}
        self._stateful_topics = stateful_topics
        standby = (
            StandbyPlanner(
                settings.kafka,
                group,
                settings.standby_replicas,
                stateful_topics,
                consumer,
                state,
            )
            if state is not None and settings.standby_replicas > 0
            else None
        )

        status = StatusFile(
            group,
            inputs=[t["topic"] for t in topology["inputs"]],
            outputs=[t["topic"] for t in topology["outputs"]]
            + ([topology["dead_letter_topic"]] if topology["dead_letter_topic"] else []),
            metrics=metrics.address if metrics is not None else None,
            steps=steps,
        )

        def on_assign(c: Consumer, partitions: list[TopicPartition]) -> None:
            self._assigned.update((tp.topic, tp.partition) for tp in partitions)
            status.write(self._assigned)
            # Event time waits for new partitions too, from where their last commit left it.
            committed = event_time.read(c, partitions)
            for executor in pipelines:
                executor.assign([(tp.topic, tp.partition) for tp in partitions], committed)
            self._rebalanced = True
            log.info("assigned %s", _names(partitions))
            if state is not None:
                state.on_assign(partitions)
            waiting = [
                tp
                for tp in partitions
                if state is not None and not self._ready(state, tp.topic, tp.partition)
            ]
            held = {(tp.topic, tp.partition) for tp in waiting}
            ready = [(tp.topic, tp.partition) for tp in partitions]
            for executor in pipelines:
                executor.ready([key for key in ready if key not in held])
            if waiting:
                # Assign now (not after the callback) so the pause holds from the first fetch.
                _assign(c, partitions, eager)
                c.pause(waiting)
                self._paused.update((tp.topic, tp.partition) for tp in waiting)

        def on_revoke(c: Consumer, partitions: list[TopicPartition]) -> None:
            if not self._closing:
                checkpoint.commit()
            self._forget(partitions, state)
            status.write(self._assigned)
            for executor in pipelines:
                executor.forget([(tp.topic, tp.partition) for tp in partitions])
            log.info("revoked %s", _names(partitions))

        def on_lost(c: Consumer, partitions: list[TopicPartition]) -> None:
            if not self._closing:
                checkpoint.lose(partitions)
            self._forget(partitions, state)
            status.write(self._assigned)
            for executor in pipelines:
                executor.forget([(tp.topic, tp.partition) for tp in partitions])
            log.warning("lost %s", _names(partitions))

        if self.until is not None:
            isolation = consumer_config.get("isolation.level", "read_committed")
            self._bounds = InputBounds(
                settings.kafka,
                {t.name: t for t in plan.input_topics},
                plan.internal_topics,
                self.until,
                read_committed=isolation == "read_committed",
                fetched_end=lambda t, p: consumer.get_watermark_offsets(
                    TopicPartition(t, p), cached=True
                )[1],
            )
        bounds = self._bounds
        tables = GlobalTables(plan.global_table_topics, plan.app, settings.state_dir)
        restore = self._install_signal_handlers()
        consumer.subscribe(
            [t.name for t in plan.input_topics],
            on_assign=on_assign,
            on_revoke=on_revoke,
            on_lost=on_lost,
        )
        log.info("app %s started on %s", plan.app, settings.kafka.bootstrap_servers)
        try:
            # Every global table to its end before the first stream record is processed (the
            # group is joined at the first poll, below).
            tables.load(settings.kafka)
            tables.bind(roots.values())
            while not self._stopping.is_set():
                wait = settings.max_batch_wait
                if state is not None and not state.recovery.done:
                    # Never block on recovery while partitions that are ready have records.
                    ready = bool(self._assigned - self._paused)
                    state.recovery.step(max_records=RECOVERY_STEP, timeout=0 if ready else 0.02)
                    self._resume(consumer, state, pipelines)
                    wait = min(wait, 0.01)
                tables.poll()  # the tables' updates, as they come
                if standby is not None:
                    standby.tick(self._assigned)  # never blocks: a bounded slice of replay
                if not checkpoint.empty:
                    # Exactly-once outputs are visible at the commit: never wait past it.
                    due = checkpoint.started + settings.commit_interval - time.monotonic()
                    wait = min(wait, max(due, 0.0))
                app_metrics.waiting()
                sources = self._poll(consumer, wait)
                app_metrics.working()
                if bounds is not None:
                    sources, done = bounds.cut(sources)
                    if done:
                        consumer.pause(done)
                checkpoint.read(sources)
                for source in sources:
                    checkpoint.begin()
                    try:
                        executors[source.topic].process(source)
                    except KafkaException as exc:
                        checkpoint.recover(exc)  # aborted and rewound (the rest too), or raises
                        break
                    checkpoint.track(source)
                    for position in executors[source.topic].positions():
                        checkpoint.track(position)
                self._tick(pipelines, checkpoint)
                if time.monotonic() - checkpoint.started >= settings.commit_interval:
                    self._checkpoint(checkpoint, app_metrics)
                    purger.committed(checkpoint.last_commit)
                now = time.monotonic()
                if metrics is not None and app_metrics.snapshot_due(now):
                    app_metrics.snapshot(now, pipelines, state.stores() if state else ())
                if (
                    bounds is not None
                    and bounds.drained()
                    and end_round(bounds, executors, checkpoint)
                ):
                    break  # a bounded run: everything read, every window closed, committed
            checkpoint.commit()
        except BaseException:
            # Commit what completed before the failure (the failing batch is not tracked).
            try:
                checkpoint.commit()
            except Exception:
                log.exception("final commit failed; uncommitted records will be reprocessed")
                checkpoint.discard()
            raise
        finally:
            self._closing = True
            restore()
            consumer.close()
            tables.close()
            checkpoint.close()
            if state is not None:
                state.close()
            for p in (emitter.producer, changelog_producer):
                # Drop the broker connection now, not when garbage collected (close() is recent).
                close = getattr(p, "close", None)
                if close is not None:
                    try:
                        close()
                    except KafkaException as exc:  # a fenced producer: the error is raised
                        log.warning("closing the producer: %s", exc.args[0].str())
            if lock is not None:
                lock.close()
            if metrics is not None:
                metrics.close()
            log.info(
                "app %s stopped: %d records produced, %d dead letters",
                plan.app,
                emitter.produced,
                emitter.dead_letters,
            )

    @staticmethod
    def _sink_checkpoint(roots: dict[str, Node], consumer: Consumer) -> SinkCheckpoint | None:
        """The pipeline's sink steps, written at each checkpoint (None: it has none)."""
        targets = sink_targets(n.operator for root in roots.values() for n in root.walk())
        if not targets:
            return None

        def committed(keys: list[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
            tps = consumer.committed([TopicPartition(t, p) for t, p in keys], timeout=30)
            return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None for tp in tps}

        return SinkCheckpoint(targets, committed)

    @staticmethod
    def _checkpoint(checkpoint: Checkpoint, app_metrics: AppMetrics) -> None:
        """The periodic checkpoint, timed for the app's metrics when it commits offsets."""
        committing = not checkpoint.empty
        failed = checkpoint.failed
        started = time.perf_counter()
        checkpoint.commit()
        took = time.perf_counter() - started
        app_metrics.checkpoint_failures = checkpoint.failed
        if committing and checkpoint.failed == failed and checkpoint.last_commit:
            offsets = len(checkpoint.last_commit)
            app_metrics.checkpointed(took, offsets, checkpoint.changelog_written)

    def _tick(self, executors: Any, checkpoint: Checkpoint) -> None:
        """Let event time advance with no records: idle partitions, a quiet input; windows
        the watermark passed close."""
        now = time.monotonic()
        for executor in executors:
            if not executor.tick_due(now):
                continue
            checkpoint.begin()
            try:
                executor.tick(now)
            except KafkaException as exc:
                checkpoint.recover(exc)
                return
            for position in executor.positions():
                checkpoint.track(position)

    def _ready(self, state: StateManager, topic: str, partition: int) -> bool:
        """Whether the stores of ``topic``'s partition, and of the same partition of the
        topics joined with it, are recovered (a stateless partition is always ready)."""
        stateful = self._stateful_topics
        return all(
            t not in stateful or state.is_ready(t, partition)
            for t in self._copartitioned.get(topic, [topic])
        )

    def _forget(self, partitions: list[TopicPartition], state: StateManager | None) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._assigned -= revoked
        self._paused -= revoked
        self._rebalanced = True
        if state is not None:
            state.on_revoke(partitions)

    def _resume(
        self, consumer: Consumer, state: StateManager, executors: Iterable[Executor]
    ) -> None:
        """Resume the partitions whose stores finished recovering."""
        recovered = {(s.topic, s.partition) for s in state.recovery.take_recovered()}
        # A partition with two stores waits for both; a joined one for its other input's.
        joined = {(t, p) for topic, p in recovered for t in self._copartitioned.get(topic, ())}
        ready = [(t, p) for t, p in (recovered | joined) & self._paused if self._ready(state, t, p)]
        if ready:
            consumer.resume([TopicPartition(t, p) for t, p in ready])
            self._paused.difference_update(ready)
            for executor in executors:
                executor.ready(ready)
            log.info("resumed %s", ", ".join(f"{t}[{p}]" for t, p in ready))

    def _poll(self, consumer: Consumer, wait: float) -> list[Source]:
        """One micro-batch: wait up to ``max_batch_wait`` for the first record, then take what
        is already fetched, up to ``max_batch_records``. Light traffic gets low latency, heavy
        traffic big batches."""
        first = consumer.poll(wait)
        if first is None:
            return []
        self._rebalanced = False
        # A batch is thousands of Message objects, each tracked by the cyclic garbage
        # collector, which would otherwise scan the batch so far every 700 of them (a third of
        # the poll's time). They form no cycles and are freed once their columns are taken.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._take(consumer, first)
        finally:
            if collecting:
                gc.enable()

    def _take(self, consumer: Consumer, first: Message) -> list[Source]:
        """The batch that starts with ``first``: what else is fetched already, by topic."""
        settings = self.settings
        messages = [first]
        if settings.max_batch_records > 1:
            messages += consumer.consume(settings.max_batch_records - 1, timeout=0)
        # map() over the C methods: no Python frame per message on this hot path.
        errors = list(map(Message.error, messages))
        good = messages
        if any(errors):
            good = [m for m, error in zip(messages, errors, strict=True) if error is None]
            for m, error in zip(messages, errors, strict=True):
                if error is None:
                    continue
                if error.code() == KafkaError._PARTITION_EOF:
                    if self._bounds is not None:
                        self._bounds.at_end(m.topic(), m.partition(), m.offset())  # type: ignore[arg-type]
                    continue
                if error.fatal():
                    raise BrokerError(f"consumer failed: {error.str()}")
                log.warning("consumer: %s", error.str())
        if self._rebalanced:  # records of partitions revoked during this poll are not ours
            good = [m for m in good if (m.topic(), m.partition()) in self._assigned]
        if self._paused:
            good = _hold_back(consumer, good, self._paused)
        return _split_by_topic(good)

    def _install_signal_handlers(self) -> Any:
        def stop(received: signal.Signals) -> None:
            log.info("received %s; finishing the batch and committing", received.name)
            self.stop()

        return on_stop_signals(stop)


def _assign(consumer: Consumer, partitions: list[TopicPartition], eager: bool) -> None:
    """Take on ``partitions`` inside the assign callback, whatever the rebalance protocol."""
    if eager:  # the range assignor of joins: the full assignment
        consumer.assign(partitions)
        return
    try:
        consumer.incremental_assign(partitions)
    except KafkaException:  # an eager protocol set in consumer_config: the full assignment
        consumer.assign(partitions)


def _hold_back(
    consumer: Consumer, messages: list[Message], paused: set[tuple[str, int]]
) -> list[Message]:
    """Drop records of partitions whose stores still recover (fetched before the pause took
    hold) and seek back to the first of them, so they are read again once resumed."""
    first: dict[tuple[str, int], int] = {}
    kept = []
    for m in messages:
        key = (m.topic(), m.partition())
        if key in paused:
            first.setdefault(key, m.offset())  # type: ignore[arg-type]
        else:
            kept.append(m)
    for (topic, partition), offset in first.items():
        consumer.seek(TopicPartition(topic, partition, offset))
    return kept


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"


def _split_by_topic(messages: list[Message]) -> list[Source]:
    topics = set(map(Message.topic, messages))
    if len(topics) == 1:  # the usual case: no regrouping
        return [_source(topics.pop(), messages)]  # type: ignore[arg-type]
    by_topic: dict[str, list[Message]] = {t: [] for t in topics}  # type: ignore[misc]
    for m in messages:
        by_topic[m.topic()].append(m)  # type: ignore[index]
    return [_source(topic, ms) for topic, ms in by_topic.items()]


def _source(topic: str, messages: list[Message]) -> Source:
    headers = list(map(Message.headers, messages))
    return Source(
        topic=topic,
        partitions=list(map(Message.partition, messages)),  # type: ignore[arg-type]
        offsets=list(map(Message.offset, messages)),  # type: ignore[arg-type]
        raw_keys=list(map(Message.key, messages)),
        raw_values=list(map(Message.value, messages)),
        timestamps=[ts for _, ts in map(Message.timestamp, messages)],
        headers=headers if any(headers) else [],  # type: ignore[arg-type]
    )


def _smallest_message_limit(admin: TopicAdmin, topics: list[str]) -> int | None:
    """The smallest ``max.message.bytes`` of ``topics`` when below librdkafka's batch size, else
    None; a topic whose configuration cannot be read counts as the cluster's default."""
    limits = []
    for name, config in admin.describe_configs(topics).items():
        if isinstance(config, KafkaException):
            log.warning("cannot read the configuration of %s: %s", name, config.args[0].str())
            continue
        value = config.get("max.message.bytes")
        if value is not None and str(value).isdigit():
            limits.append(int(value))
    smallest = min(limits, default=None)
    return smallest if smallest is not None and smallest < LIBRDKAFKA_BATCH_BYTES else None
