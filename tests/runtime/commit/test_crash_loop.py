"""Exactly-once under a crash loop: a pipeline with repartitions, running aggregates, windows of
every kind and a keyed process function with event-time timers, SIGKILLed at 20 random moments
(mid-transaction, during state recovery, during a rebalance) across two replicas. Its
read_committed output equals, as a multiset, the output of the same app run uninterrupted.

Equality with an uninterrupted run needs an output that does not depend on batch boundaries or
on how partitions interleave: the input is keyed by customer (a customer's records stay in
order through every repartition), its values are integers (sums are exact in any order), and
records are out of order only within the watermark bound (none is late, whatever the
interleaving). The check is a multiset per output topic: a duplicate is a failure.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from crash_harness import AppProcess
from integration_helpers import committed_offsets, end_offsets, produce_records, wait_until
from kafka_helpers import FAST_GROUP, read_all, read_from, skip_on_tansu

log = logging.getLogger("crash_loop")
pytestmark = pytest.mark.broker

RECORDS = 300_000
CUSTOMERS = 100
PARTITIONS = 3
BOUND_MS = 2_000
STEP_MS = 10  # event time advances 10 ms a record: 3,000 s of event time in all
BASE_TS = 1_700_000_000_000
KILLS = 20
OUTPUTS = ("running", "tumbling", "hopping", "sliding", "session", "count", "timers")
REPARTITIONED = ("running", "windows", "sliding", "timers")  # the group_by names

APP_SCRIPT = """
import json
import logging
import sys
import time

from headwater import App, agg, windows

logging.basicConfig(
    level=logging.INFO,
    stream=sys.stderr,
    format="%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s",
    datefmt="%H:%M:%S",
)
config = json.loads(sys.argv[1])
name = config["name"]
app = App(
    name,
    config["bootstrap"],
    guarantee="exactly-once",
    state_dir=config["state_dir"],
    commit_interval=0.5,
    max_batch_records=2_000,
    consumer_config=config["consumer_config"],
)


def work(batch):
    time.sleep(config["batch_work"])  # stands for real per-batch work: kills land mid-stream
    return batch


def count_bucket(value, ctx):
    bucket = value["ts"] // 10_000 * 10_000
    seen = ctx.state.get(str(bucket), 0)
    if seen == 0:
        ctx.timers.register_event_time(bucket + 10_000)
    ctx.state.set(str(bucket), seen + 1)


def bucket_closed(key, timestamp, ctx):
    bucket = timestamp - 10_000
    n = ctx.state.get(str(bucket), 0)
    ctx.state.delete(str(bucket))
    return {"customer": key, "bucket": bucket, "n": n}


orders = app.dataframe(app.topic(config["source"], timestamp="ts", partitions=3))
orders = orders.with_watermarks(config["bound"]).map_batches(work, format="polars")
out = lambda kind: app.topic(f"{name}-{kind}")
sums = dict(n=agg.count(), total=agg.sum("v"), lo=agg.min("v"), hi=agg.max("v"))

orders.group_by("customer", name="running").agg_running(
    n=agg.count(), total=agg.sum("v")
).to_topic(out("running"))
by_customer = orders.group_by("customer", name="windows")
by_customer.window(windows.tumbling("10s")).agg(**sums).to_topic(out("tumbling"))
by_customer.window(windows.hopping("20s", step="10s")).agg(**sums).to_topic(out("hopping"))
by_customer.window(windows.session("3s")).agg(**sums).to_topic(out("session"))
by_customer.window(windows.tumbling_count(10)).agg(**sums).to_topic(out("count"))
few = orders[orders["customer"].isin(["c000", "c001", "c002", "c003"])]
few.group_by("customer", name="sliding").window(windows.sliding("5s")).agg(**sums).to_topic(
    out("sliding")
)
orders.group_by("customer", name="timers").process(count_bucket, on_timer=bucket_closed).to_topic(
    out("timers")
)
app.run()
"""


def _records() -> list[tuple[bytes, bytes]]:
    """Keyed by customer; out of order within 90% of the bound, so no record is late."""
    rng = random.Random(20261206)
    out = []
    for i in range(RECORDS):
        customer = f"c{rng.randrange(CUSTOMERS):03d}"
        ts = BASE_TS + i * STEP_MS - rng.randrange(0, int(BOUND_MS * 0.9))
        out.append(
            (customer.encode(), orjson.dumps({"customer": customer, "ts": ts, "v": i % 997}))
        )
    return out


def _closers() -> list[list[tuple[bytes, bytes]]]:
    """A record far ahead in each partition: the watermark passes every window and timer."""
    end = BASE_TS + RECORDS * STEP_MS + 3_600_000
    return [
        [(f"zz-{p}".encode(), orjson.dumps({"customer": f"zz-{p}", "ts": end, "v": 0}))]
        for p in range(PARTITIONS)
    ]


def _produce(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], closers: bool = False
) -> None:
    produce_records(bootstrap, topic, [(k, v, None, None) for k, v in records])
    if closers:
        for p, closer in enumerate(_closers()):
            produce_records(bootstrap, topic, [(k, v, None, None) for k, v in closer], p)


class Pipeline:
    """One app (a consumer group) over the shared input, with replicas as subprocesses."""

    def __init__(self, bootstrap: str, workdir: Path, name: str, source: str, batch_work: float):
        self.bootstrap, self.workdir, self.name, self.source = bootstrap, workdir, name, source
        self.script = workdir / "app.py"
        self.script.write_text(APP_SCRIPT)
        self.config = {
            "bootstrap": bootstrap,
            "name": name,
            "source": source,
            "bound": f"{BOUND_MS}ms",
            "batch_work": batch_work,
            "consumer_config": FAST_GROUP,
        }
        self.runs = 0
        self.apps: list[AppProcess] = []
        self._repartitioned: dict[str, dict[int, int]] | None = None

    def state_dir(self, replica: str) -> Path:
        return self.workdir / f"state-{replica}"

    def start(self, replica: str) -> AppProcess:
        self.runs += 1
        config = {**self.config, "state_dir": str(self.state_dir(replica))}
        app = AppProcess(self.script, config, self.workdir / f"run-{self.runs:02d}-{replica}.log")
        self.apps.append(app)
        return app

    def progress(self) -> int:
        committed = committed_offsets(self.bootstrap, self.name, self.source, PARTITIONS)
        return sum(max(o, 0) for o in committed.values())

    def done(self, ends: dict[int, int]) -> bool:
        """Every input record is committed, and then every record the repartition topics held
        at that moment (they are complete then: written in the same transactions as the input
        offsets; only watermark markers, resent now and then, come after)."""
        committed = committed_offsets(self.bootstrap, self.name, self.source, PARTITIONS)
        if any(committed[p] < offset for p, offset in ends.items()):
            return False
        if self._repartitioned is None:
            self._repartitioned = {
                topic: _data_ends(self.bootstrap, topic)
                for topic in (f"{self.name}-{g}-repartition" for g in REPARTITIONED)
            }
        for topic, wanted in self._repartitioned.items():
            committed = committed_offsets(self.bootstrap, self.name, topic, PARTITIONS)
            if any(committed[p] < end for p, end in wanted.items()):
                return False
        return True

    def outputs(self) -> dict[str, Counter[tuple[bytes | None, bytes]]]:
        found = {}
        for kind in OUTPUTS:
            messages = read_all(
                self.bootstrap, [f"{self.name}-{kind}"], **{"isolation.level": "read_committed"}
            )
            found[kind] = Counter((m.key(), _canonical(m.value())) for m in messages)
        return found

    def close(self) -> None:
        for app in self.apps:
            if app.alive:
                app.kill()


def _canonical(value: bytes) -> bytes:
    return orjson.dumps(orjson.loads(value), option=orjson.OPT_SORT_KEYS)


def _wait_done(pipeline: Pipeline, ends: dict[int, int], live: list[AppProcess]) -> None:
    def done() -> bool:
        for app in live:
            app.check_alive()
        return pipeline.done(ends)

    wait_until(done, timeout=600, interval=0.25)
    for app in live:
        app.terminate()


@pytest.mark.timeout(1500)
def test_exactly_once_output_equals_an_uninterrupted_run_across_20_sigkills(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    skip_on_tansu(broker_kind, "shows aborted transactions' records to read_committed readers")
    caplog.set_level(logging.INFO, logger="crash_loop")
    records = _records()

    # The reference: the same app over the same records, all there at once, uninterrupted. It
    # runs while the crash loop below does, which waits on restarts and group joins much of
    # the time.
    source = make_topic("loop-ref-in", partitions=PARTITIONS)
    _produce(bootstrap, source, records, closers=True)
    ends = end_offsets(bootstrap, source, PARTITIONS)
    assert sum(ends.values()) == RECORDS + PARTITIONS
    (tmp_path / "reference").mkdir()
    reference = Pipeline(bootstrap, tmp_path / "reference", unique("loop-ref"), source, 0.0)

    # The same under a crash loop: the input arrives in slices, one before each kill, so every
    # kill lands while records are being processed.
    source = make_topic("loop-in", partitions=PARTITIONS)
    (tmp_path / "crashed").mkdir()
    crashed = Pipeline(bootstrap, tmp_path / "crashed", unique("loop"), source, 0.02)
    kills: list[str] = []
    try:
        uninterrupted = reference.start("a")
        live = _crash_loop(crashed, records, kills)
        _produce(bootstrap, source, [], closers=True)
        _wait_done(reference, ends, [uninterrupted])
        _wait_done(crashed, end_offsets(bootstrap, source, PARTITIONS), live)
    finally:
        reference.close()
        crashed.close()
    wanted = reference.outputs()
    assert sum(wanted["running"].values()) == RECORDS + PARTITIONS  # one update per record
    assert all(wanted[kind] for kind in OUTPUTS), {k: len(v) for k, v in wanted.items()}
    log.info("kills: %s", kills)
    assert len(kills) >= KILLS
    for kind in ("processing", "recovery", "rebalance"):  # each kind landed at least once
        assert any(k.split()[0] == kind for k in kills), kills

    found = crashed.outputs()
    for kind in OUTPUTS:
        missing, extra = wanted[kind] - found[kind], found[kind] - wanted[kind]
        assert not missing and not extra, (
            f"{kind}: {sum(missing.values())} records missing (e.g. {list(missing)[:2]}), "
            f"{sum(extra.values())} extra or repeated (e.g. {list(extra)[:2]}); kills {kills}"
        )


def _data_ends(bootstrap: str, topic: str) -> dict[int, int]:
    """Per partition, the offset after the last record (not counting transaction markers,
    which take offsets too): read from a little before the end."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ends-probe"})
    try:
        starts = []
        for p in range(PARTITIONS):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            starts.append(TopicPartition(topic, p, max(low, high - 20)))
    finally:
        consumer.close()
    ends: dict[int, int] = {}
    for m in read_from(bootstrap, starts, **{"isolation.level": "read_committed"}):
        ends[m.partition()] = max(ends.get(m.partition(), 0), m.offset() + 1)
    return ends


def _crash_loop(
    pipeline: Pipeline, records: list[tuple[bytes, bytes]], kills: list[str]
) -> list[AppProcess]:
    """Two replicas; before each of ``KILLS`` kills a slice of the input arrives, and once the
    app works on it one replica is SIGKILLed at a random moment of one of three kinds, then
    restarted. Returns the replicas left running."""
    rng = random.Random(7)
    step = -(-len(records) // KILLS)
    replicas = {"a": pipeline.start("a")}
    replicas["b"] = pipeline.start("b")
    for n in range(KILLS):
        before = pipeline.progress()
        _produce(pipeline.bootstrap, pipeline.source, records[n * step : (n + 1) * step])
        wait_until(
            lambda before=before: _alive(replicas) and pipeline.progress() > before,
            timeout=120,
            interval=0.05,
        )
        kind = ("processing", "recovery", "rebalance")[n % 3]
        name = rng.choice(sorted(replicas))
        app = replicas[name]
        if kind == "processing":
            # Mid-stream: a random moment while the slice is processed, transactions open.
            time.sleep(rng.uniform(0.0, 1.0))  # the random moment itself, not a wait
            app.check_alive()
            app.kill()
        elif kind == "recovery":
            app.kill()
            shutil.rmtree(pipeline.state_dir(name), ignore_errors=True)  # replay everything
            app = replicas[name] = pipeline.start(name)
            _when_logged(app, lambda text: text.count("recovering store") > 0)
            time.sleep(rng.uniform(0.0, 0.05))
            text = app.log_text()
            if text.count("recovering store") <= text.count("recovered store"):
                kind = "recovery-finished"  # it was quicker; still a kill, counted apart
            app.kill()
        else:
            # A rebalance: the other replica restarts, and this one is killed while partitions
            # move (after its assignment changed, before or while it resumes processing).
            other = "b" if name == "a" else "a"
            assigned = app.log_text().count("assigned")
            replicas[other].kill()
            replicas[other] = pipeline.start(other)
            _when_logged(app, lambda text, assigned=assigned: text.count("assigned") > assigned)
            time.sleep(rng.uniform(0.0, 0.2))
            app.kill()
        kills.append(f"{kind} {name} at {pipeline.progress()}")
        log.info("SIGKILL %d: %s", len(kills), kills[-1])
        replicas[name] = pipeline.start(name)
    return list(replicas.values())


def _alive(replicas: dict[str, AppProcess]) -> bool:
    for app in replicas.values():
        app.check_alive()
    return True


def _when_logged(app: AppProcess, seen: Callable[[str], bool], timeout: float = 60) -> None:
    def logged() -> bool:
        app.check_alive()
        return seen(app.log_text())

    wait_until(logged, timeout=timeout, interval=0.01)
