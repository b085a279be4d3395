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
import functools
import hashlib
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    PRODUCER,
    Timing,
    average_size,
    benchmark_parser,
    read_values,
    run_benchmark,
    run_cli,
    run_peer,
    run_script,
    running_totals,
    say_ratios,
)
from _contenders import run_headwater_app, run_raw  # noqa: E402

HEADWATER = ("headwater-alo", "headwater-eos", "headwater-agg-alo", "headwater-agg-eos")
CONTENDERS = ("raw-copy", "raw-dict", *HEADWATER, "quix-alo", "quix-eos")
GUARANTEES = {"alo": "at-least-once", "eos": "exactly-once"}
COMMIT_INTERVAL = 5.0  # seconds; both libraries' default, given to both explicitly
PIPELINE = "per key: count += 1, sum += amount; every update written out"
RATIOS = (  # (ours, theirs, label) printed as ours / theirs
    ("headwater-alo", "quix-alo", "Headwater / Quix, at-least-once"),
    ("headwater-eos", "quix-eos", "Headwater / Quix, exactly-once"),
    ("headwater-agg-alo", "quix-alo", "Headwater agg / Quix, at-least-once"),
    ("headwater-agg-eos", "quix-eos", "Headwater agg / Quix, exactly-once"),
    ("headwater-alo", "raw-copy", "Headwater at-least-once / ceiling"),
    ("headwater-alo", "raw-dict", "Headwater at-least-once / raw-dict"),
)


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


# Contenders (each runs in a process of its own)
def running_totals_by_hand() -> Callable[[bytes], bytes]:
    """The work by hand: a dict of running totals, every update written. No state store."""
    loads, dumps = orjson.loads, orjson.dumps
    totals: dict[str, list[int]] = {}

    def update(raw: bytes) -> bytes:
        value = loads(raw)
        key = value["key"]
        entry = totals.get(key)
        if entry is None:
            entry = totals[key] = [0, 0]
        entry[0] += 1
        entry[1] += value["amount"]
        return dumps({"key": key, "count": entry[0], "sum": entry[1]})

    return update


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
    build = functools.partial(build_headwater, vectorised=vectorised)
    return run_headwater_app(
        "hw-stateful",
        build,
        bootstrap,
        source,
        sink,
        records,
        timeout,
        guarantee=guarantee,
        commit_interval=COMMIT_INTERVAL,
    )


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "raw-copy":
        return run_raw(bootstrap, source, sink, records)
    if name == "raw-dict":
        return run_raw(bootstrap, source, sink, records, running_totals_by_hand())
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
    events = keyed_events(records, keys)
    totals = expected_totals(events)
    say(
        f"{records} events over {len(totals)} keys ({average_size(events):.0f} bytes of JSON on "
        f"average, {partitions} partitions, commit every {COMMIT_INTERVAL:g} s); {PIPELINE}"
    )

    def run(name: str, source: str, sink: str) -> tuple[Timing, str | None]:
        if name.startswith("quix-"):
            guarantee = GUARANTEES[name.split("-")[1]]
            settings = {"guarantee": guarantee, "commit_interval": COMMIT_INTERVAL}
            timing = run_peer("quix_stateful.py", bootstrap, source, sink, records, settings)
        else:
            timing = run_script(__file__, name, bootstrap, source, sink, records)
        if name == "raw-copy":
            return timing, None if len(read_values(bootstrap, sink)) == records else "count"
        return timing, check_output(bootstrap, sink, events, totals, "-agg-" not in name)

    topics = ("bench-keyed", "bench-agg")
    rates = run_benchmark(
        bootstrap, topics, events, partitions, contenders, rounds, run, say, width=17
    )
    say("")
    say_ratios(rates, RATIOS, say, width=38)
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
    def benchmark_args(bootstrap: str, args: argparse.Namespace) -> None:
        run = (args.records, args.keys, args.partitions, args.only, args.rounds, args.replay_keys)
        benchmark(bootstrap, *run)

    parser = benchmark_parser(__doc__, records=500_000, keys=10_000)
    parser.add_argument("--replay-keys", type=int, default=100_000, help="0: skip the replay")
    run_cli(parser, CONTENDERS, run_contender, benchmark_args)


if __name__ == "__main__":
    main()
