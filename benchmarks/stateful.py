"""Stateful benchmark: a running count and sum per key, Headwater against the ceiling and a peer.

Every contender reads the same pre-produced keyed events (``{"id", "key", "amount"}``, integer
amounts so sums are exact), keeps a running count and sum per key, and writes every update
(``{"key", "count", "sum"}``) to a fresh output topic:

1. ``raw-copy``: confluent-kafka consume -> produce of the same bytes (the ceiling);
2. ``raw-dict``: confluent-kafka + orjson + a Python dict, by hand: the work with no fault
   tolerance at all (state is lost on a crash);
3. ``headwater-alo`` / ``headwater-eos``: ``apply(fn, stateful=True)`` at at-least-once and
   exactly-once (RocksDB stores, changelog topics, checkpoints; one transaction per checkpoint);
4. ``headwater-agg-alo`` / ``headwater-agg-eos``: ``group_by("key").agg_running(...)``, the
   vectorised keyed-state path, when this Headwater has it;
5. ``quix-alo`` / ``quix-eos``: the same stateful apply in Quix Streams 3.28 (RocksDB state with
   changelog topics), at ``processing_guarantee`` at-least-once and exactly-once, run from its
   own virtualenv like the stateless benchmark's peer.

Each runs in its own process with the same consumer and producer settings and the same commit
interval, and reports the wall-clock time of its first record and of its final checkpoint, so
group joins do not count. The harness reads every output back and checks each key's final
count and sum (and, for per-record contenders, that there is exactly one update per input).

Then the changelog replay rate: Headwater rebuilds a store of 100k keys from its changelog
into an empty state directory, as a replica that lost its disk does.

    python benchmarks/stateful.py                              # 500k records, 3 rounds
    python benchmarks/stateful.py --records 50000 --rounds 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    CONSUMER,
    PRODUCER,
    Timing,
    create_topics,
    ensure_peer_venv,
    produce_input,
    read_values,
    run_rounds,
    run_timed,
)
from stateless import run_raw  # noqa: E402

HEADWATER = ("headwater-alo", "headwater-eos", "headwater-agg-alo", "headwater-agg-eos")
CONTENDERS = ("raw-copy", "raw-dict", *HEADWATER, "quix-alo", "quix-eos")
GUARANTEES = {"alo": "at-least-once", "eos": "exactly-once"}
COMMIT_INTERVAL = 5.0  # seconds; both libraries' default, given to both explicitly
CONSUME_BATCH = 10_000
PIPELINE = "per key: count += 1, sum += amount; every update written out"


# The workload
def keyed_events(count: int, keys: int, seed: int = 11) -> list[tuple[bytes, bytes]]:
    """``count`` (key, value) events over ``keys`` keys, uniformly: ``{"id", "key", "amount"}``."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        key = f"key-{rng.randrange(keys):06d}"
        value = {"id": i, "key": key, "amount": rng.randrange(1, 10_000)}
        events.append((key.encode(), orjson.dumps(value)))
    return events


def expected_totals(events: list[tuple[bytes, bytes]]) -> dict[str, tuple[int, int]]:
    """Each key's final (count, sum): what every contender's last update per key must say."""
    totals: dict[str, tuple[int, int]] = {}
    for _, raw in events:
        value = orjson.loads(raw)
        count, total = totals.get(value["key"], (0, 0))
        totals[value["key"]] = (count + 1, total + value["amount"])
    return totals


def running_totals(value: dict[str, Any], state: Any) -> dict[str, Any]:
    """The Headwater contender's row function; the Quix one is the same code."""
    count = state.get("count", 0) + 1
    total = state.get("sum", 0) + value["amount"]
    state.set("count", count)
    state.set("sum", total)
    return {"key": value["key"], "count": count, "sum": total}


# Contenders (each runs in a process of its own)
def run_raw_dict(
    bootstrap: str, source: str, sink: str, records: int, timeout: float = 600.0
) -> Timing:
    """The work by hand: a dict of running totals, every update produced. No state store."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-dict-{uuid.uuid4().hex[:8]}",
            **CONSUMER,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    consumer.subscribe([source])
    produce, loads, dumps = producer.produce, orjson.loads, orjson.dumps
    totals: dict[str, list[int]] = {}
    first = 0.0
    consumed = produced = 0
    deadline = time.monotonic() + timeout
    while consumed < records:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {consumed} of {records} records arrived in {timeout} s")
        messages = consumer.consume(CONSUME_BATCH, timeout=0.1)
        if not messages:
            continue
        if not first:
            first = time.time()
        for m in messages:
            if m.error() is not None:
                continue
            consumed += 1
            value = loads(m.value())  # type: ignore[arg-type]
            key = value["key"]
            entry = totals.get(key)
            if entry is None:
                entry = totals[key] = [0, 0]
            entry[0] += 1
            entry[1] += value["amount"]
            out = dumps({"key": key, "count": entry[0], "sum": entry[1]})
            while True:
                try:
                    produce(sink, out, m.key(), timestamp=m.timestamp()[1])
                    break
                except BufferError:
                    producer.poll(0.05)
            produced += 1
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError("outputs were not acknowledged within 60 s")
    consumer.commit(asynchronous=False)
    end = time.time()
    consumer.close()
    return Timing(first, end, consumed, produced)


def agg_running_available() -> bool:
    """Whether this Headwater has the vectorised path, ``group_by(col).agg_running(...)``."""
    try:
        from headwater import agg  # noqa: F401
        from headwater.dataframe.grouped import GroupBy
    except ImportError:
        return False
    return hasattr(GroupBy, "agg_running")


def build_headwater(app: Any, source: str, sink: str, vectorised: bool) -> None:
    """The pipeline: running count and sum per key, every update to ``sink``."""
    sdf = app.dataframe(app.topic(source))
    if vectorised:
        from headwater import agg

        # The input is keyed and partitioned by "key" already: no repartition (nor in Quix).
        grouped = sdf.group_by("key", repartition=False)
        totals = grouped.agg_running(count=agg.count(), sum=agg.sum("amount"))
        totals.to_topic(app.topic(sink))
    else:
        sdf.apply(running_totals, stateful=True, store="totals").to_topic(app.topic(sink))


def run_headwater(
    bootstrap: str,
    source: str,
    sink: str,
    records: int,
    guarantee: str,
    vectorised: bool = False,
    timeout: float = 600.0,
) -> Timing:
    """The pipeline as a Headwater app; stops once ``records`` inputs went through it."""
    from headwater import App
    from headwater.runtime.checkpoint import Checkpoint
    from headwater.runtime.executor import Executor

    state_dir = Path(tempfile.mkdtemp(prefix="hw-bench-state-"))
    app = App(
        f"bench-hw-stateful-{uuid.uuid4().hex[:8]}",
        broker=bootstrap,
        consumer_config=dict(CONSUMER),
        producer_config=dict(PRODUCER),
        guarantee=guarantee,  # type: ignore[arg-type]
        state_dir=state_dir,
        commit_interval=COMMIT_INTERVAL,
    )
    build_headwater(app, source, sink, vectorised)

    # Observe the run from outside: the first batch, the input count, the final checkpoint
    # (at-least-once: Checkpoint.commit; exactly-once: its transactional subclass's commit).
    observed: dict[str, Any] = {"first": 0.0, "end": 0.0, "consumed": 0, "stopping": False}
    process = Executor.process
    commits = {cls: cls.commit for cls in (Checkpoint, *_subclasses(Checkpoint))}

    def observed_process(executor: Executor, batch: Any) -> None:
        if not observed["first"]:
            observed["first"] = time.time()
        process(executor, batch)
        observed["consumed"] += len(batch)
        if observed["consumed"] >= records and not observed["stopping"]:
            observed["stopping"] = True
            app.stop()

    def observing(commit: Callable[..., Any]) -> Callable[..., Any]:
        def observed_commit(checkpoint: Checkpoint, *args: Any, **kwargs: Any) -> Any:
            result = commit(checkpoint, *args, **kwargs)
            if observed["stopping"] and not observed["end"]:
                observed["end"] = time.time()  # outputs, changelogs and offsets committed
            return result

        return observed_commit

    Executor.process = observed_process  # type: ignore[method-assign]
    for cls, commit in commits.items():
        cls.commit = observing(commit)  # type: ignore[method-assign]
    watchdog = threading.Timer(timeout, app.stop)  # a stuck run ends, and reports too few
    watchdog.start()
    try:
        app.run()
    finally:
        watchdog.cancel()
        Executor.process = process  # type: ignore[method-assign]
        for cls, commit in commits.items():
            cls.commit = commit  # type: ignore[method-assign]
        shutil.rmtree(state_dir, ignore_errors=True)
    return Timing(observed["first"], observed["end"], observed["consumed"], -1)


def _subclasses(cls: type) -> list[type]:
    """Every subclass of ``cls`` (the checkpoint variants), imported or not yet."""
    import headwater.runtime.runner  # noqa: F401  (imports every checkpoint kind)

    found: list[type] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def run_quix(bootstrap: str, source: str, sink: str, records: int, guarantee: str) -> Timing:
    """Quix Streams in its own virtualenv (created on demand), reporting JSON on stdout."""
    python = ensure_peer_venv()
    settings = {
        "consumer": CONSUMER,
        "producer": PRODUCER,
        "guarantee": guarantee,
        "commit_interval": COMMIT_INTERVAL,
    }
    command = [str(python), str(HERE / "peers" / "quix_stateful.py"), bootstrap, source, sink]
    command += [str(records), json.dumps(settings)]
    return run_timed(command)


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "raw-copy":
        return run_raw(bootstrap, source, sink, records, transform=False)
    if name == "raw-dict":
        return run_raw_dict(bootstrap, source, sink, records)
    if name in HEADWATER:
        guarantee = GUARANTEES[name.rsplit("-", 1)[1]]
        return run_headwater(bootstrap, source, sink, records, guarantee, "-agg-" in name)
    raise SystemExit(f"unknown contender {name!r}; use one of {', '.join(CONTENDERS)}")


# Checking outputs
def check_output(
    bootstrap: str,
    sink: str,
    events: list[tuple[bytes, bytes]],
    totals: dict[str, Any],
    per_record: bool,
) -> str | None:
    """None if ``sink`` holds the right updates, else what is wrong.

    Every contender's last update per key (the highest count) must carry that key's final
    count and sum; a per-record contender must also write exactly one update per input, the
    updates of a key counting 1, 2, ... N with the right running sums.
    """
    values = [orjson.loads(v) for v in read_values(bootstrap, sink)]
    final: dict[str, tuple[int, int]] = {}
    for v in values:
        known = final.get(v["key"])
        if known is None or v["count"] > known[0]:
            final[v["key"]] = (v["count"], v["sum"])
    wrong = [k for k, t in totals.items() if final.get(k) != t]
    if wrong or len(final) != len(totals):
        k = wrong[0] if wrong else next(iter(set(final) - set(totals)))
        return f"{len(wrong)} keys with wrong totals, e.g. {k}: {final.get(k)} != {totals.get(k)}"
    if per_record:
        found = _digest((v["key"], v["count"], v["sum"]) for v in values)
        if found != _digest(_every_update(events)):
            return f"{len(values)} updates (expected {len(events)}), not one per input"
    return None


def _every_update(events: list[tuple[bytes, bytes]]) -> list[tuple[str, int, int]]:
    running: dict[str, tuple[int, int]] = {}
    updates = []
    for _, raw in events:
        value = orjson.loads(raw)
        count, total = running.get(value["key"], (0, 0))
        running[value["key"]] = (count + 1, total + value["amount"])
        updates.append((value["key"], count + 1, total + value["amount"]))
    return updates


def _digest(updates: Any) -> tuple[int, str]:
    lines = sorted(f"{k}\t{c}\t{s}" for k, c, s in updates)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


# Changelog replay
def replay_rate(bootstrap: str, keys: int = 100_000, partitions: int = 4) -> dict[str, float]:
    """Rebuild a ``keys``-key store (count and sum per key) from its changelog into an empty
    state directory; returns keys/s and changelog records/s.

    The changelog holds two checkpoints, as a live one would: every key created, then every
    key updated, so replay reads each entry twice (the broker here does not compact).
    """
    from headwater.kafka.admin import TopicAdmin
    from headwater.kafka.settings import KafkaSettings
    from headwater.state import StateManager
    from headwater.topic import Topic

    app, topic = f"bench-replay-{uuid.uuid4().hex[:8]}", f"bench-replay-in-{uuid.uuid4().hex[:8]}"
    TopicAdmin(KafkaSettings(bootstrap)).create([Topic(topic, partitions=partitions)])
    assigned = [(topic, p) for p in range(partitions)]
    names = [f"key-{i:06d}" for i in range(keys)]
    with tempfile.TemporaryDirectory(prefix="hw-replay-") as tmp:
        writer = StateManager(app, Path(tmp) / "writer", bootstrap)
        writer.register_store("totals", topic)
        writer.prepare()
        writer.on_assign(assigned)
        while not writer.recovery.step(10_000):
            pass
        producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
        written = 0
        for checkpoint in (1, 2):
            for p in range(partitions):
                store = writer.store("totals", topic, p)
                mine = names[p::partitions]
                store.set_many(((k, checkpoint) for k in mine), name="count")
                store.set_many(((k, checkpoint * 100) for k in mine), name="sum")
            offsets = {(topic, p): checkpoint for p in range(partitions)}
            for r in writer.changelog_records(offsets):
                while True:
                    try:
                        producer.produce(
                            r.topic, r.value, r.key, partition=r.partition, headers=r.headers
                        )
                        break
                    except BufferError:
                        producer.poll(0.05)
                written += 1
            if producer.flush(120):
                raise RuntimeError("the changelog was not acknowledged within 120 s")
            writer.persist(offsets)
        writer.close()

        reader = StateManager(app, Path(tmp) / "reader", bootstrap)
        reader.register_store("totals", topic)
        started = time.perf_counter()
        reader.on_assign(assigned)
        while not reader.recovery.step(10_000):
            pass
        elapsed = time.perf_counter() - started
        sample = random.Random(3).sample(range(keys), 1_000)
        for i in sample:
            store = reader.store("totals", topic, i % partitions)
            got = (store.get(names[i], "count"), store.get(names[i], "sum"))
            if got != (2, 200):
                raise RuntimeError(f"replayed store has {got} for {names[i]}, expected (2, 200)")
        reader.close()
    return {
        "keys": keys,
        "records": written,
        "seconds": elapsed,
        "keys_per_s": keys / elapsed,
        "records_per_s": written / elapsed,
    }


# The harness
def spawn(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name.startswith("quix-"):
        return run_quix(bootstrap, source, sink, records, GUARANTEES[name.split("-")[1]])
    command = [sys.executable, str(Path(__file__).resolve()), "--contender", name]
    command += ["--broker", bootstrap, "--input", source, "--output", sink]
    command += ["--records", str(records)]
    return run_timed(command)


def benchmark(
    bootstrap: str,
    records: int,
    keys: int,
    partitions: int,
    contenders: list[str],
    rounds: int = 1,
    replay_keys: int = 100_000,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run ``contenders`` over ``records`` events, ``rounds`` times in turn (so drift in the
    machine's load hits each alike); returns the median msg/s per contender."""
    if not agg_running_available():
        skipped = [c for c in contenders if "-agg-" in c]
        if skipped:
            say(f"group_by(...).agg_running(...) is not in this Headwater: skipping {skipped}")
        contenders = [c for c in contenders if "-agg-" not in c]
    token = uuid.uuid4().hex[:8]
    source = f"bench-keyed-{token}"
    sinks = {(n, r): f"bench-agg-{n}-{r}-{token}" for n in contenders for r in range(rounds)}
    create_topics(bootstrap, [source, *sinks.values()], partitions)
    events = keyed_events(records, keys)
    totals = expected_totals(events)
    size = sum(len(v) for _, v in events) / len(events)
    say(
        f"{records} events over {len(totals)} keys ({size:.0f} bytes of JSON on average, "
        f"{partitions} partitions, commit every {COMMIT_INTERVAL:g} s); {PIPELINE}"
    )
    started = time.monotonic()
    produce_input(bootstrap, source, events)
    say(f"input produced in {time.monotonic() - started:.1f} s")

    def run(name: str, r: int) -> tuple[Timing, str | None]:
        sink = sinks[(name, r)]
        timing = spawn(name, bootstrap, source, sink, records)
        if name == "raw-copy":
            return timing, None if len(read_values(bootstrap, sink)) == records else "count"
        return timing, check_output(bootstrap, sink, events, totals, "-agg-" not in name)

    rates = run_rounds(contenders, rounds, records, run, say, width=17)
    say("")
    for ours, theirs, label in (
        ("headwater-alo", "quix-alo", "Headwater / Quix, at-least-once"),
        ("headwater-eos", "quix-eos", "Headwater / Quix, exactly-once"),
        ("headwater-agg-alo", "quix-alo", "Headwater agg / Quix, at-least-once"),
        ("headwater-agg-eos", "quix-eos", "Headwater agg / Quix, exactly-once"),
        ("headwater-alo", "raw-copy", "Headwater at-least-once / ceiling"),
        ("headwater-alo", "raw-dict", "Headwater at-least-once / raw-dict"),
    ):
        if ours in rates and theirs in rates:
            say(f"{label:<38}: {rates[ours] / rates[theirs]:.2f}x")
    for alo, eos in (
        ("headwater-alo", "headwater-eos"),
        ("headwater-agg-alo", "headwater-agg-eos"),
    ):
        if alo in rates and eos in rates:
            say(f"exactly-once cost, {alo[:-4]:<20}: {1 - rates[eos] / rates[alo]:.1%}")
    if "quix-alo" in rates and "quix-eos" in rates:
        say(f"exactly-once cost, {'quix':<20}: {1 - rates['quix-eos'] / rates['quix-alo']:.1%}")
    if replay_keys:
        replay = replay_rate(bootstrap, replay_keys, partitions)
        say(
            f"\nchangelog replay: {replay['keys']:,} keys ({replay['records']:,} changelog "
            f"records) rebuilt in {replay['seconds']:.2f} s: {replay['keys_per_s']:,.0f} keys/s, "
            f"{replay['records_per_s']:,.0f} records/s"
        )
        rates["replay-keys/s"] = replay["keys_per_s"]
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="runs per contender; median wins")
    parser.add_argument("--replay-keys", type=int, default=100_000, help="0: skip the replay")
    parser.add_argument("--broker", help="bootstrap servers; default: start a local broker")
    parser.add_argument("--only", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        run_contender(args.contender, args.broker, args.input, args.output, args.records).report()
        return
    run = (args.records, args.keys, args.partitions, args.only, args.rounds, args.replay_keys)
    if args.broker:
        benchmark(args.broker, *run)
        return
    from headwater.kafka.broker import LocalBroker

    with LocalBroker() as broker:
        benchmark(broker.bootstrap_servers, *run)


if __name__ == "__main__":
    main()
