"""Stateless benchmark: a JSON filter + column assign, Headwater against the ceiling and a peer.

Four contenders read the same pre-produced order events and write what passes the filter
(status == 'paid' and amount >= 20, then amount_eur = amount * 0.92) to a fresh output topic:

1. ``raw-copy``: confluent-kafka consume -> produce of the same bytes (the ceiling);
2. ``raw-json``: confluent-kafka + orjson doing the filter and assign by hand;
3. ``headwater``: the same pipeline as a Headwater app;
4. ``quix``: the same pipeline in Quix Streams 3.28, run from its own virtualenv
   (``benchmarks/.peer-venv``, created on first use) because it pins another confluent-kafka.

Each runs in its own process with the same consumer and producer settings and reports the
wall-clock time of its first record and of its final flush + commit, so group joins do not
count. The harness then reads every output topic back and checks the records are right.

    python benchmarks/stateless.py                              # 500k records, 3 rounds
    python benchmarks/stateless.py --records 50000 --rounds 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
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
    EUR_RATE,
    MIN_AMOUNT,
    PIPELINE,
    PRODUCER,
    Timing,
    create_topics,
    ensure_peer_venv,
    order_events,
    passes,
    produce_input,
    read_values,
    run_rounds,
    run_timed,
)

CONTENDERS = ("raw-copy", "raw-json", "headwater", "quix")
CONSUME_BATCH = 10_000


# Contenders (each runs in a process of its own)
def run_raw(
    bootstrap: str, source: str, sink: str, records: int, transform: bool, timeout: float = 600.0
) -> Timing:
    """confluent-kafka by hand: copy the bytes, or parse, filter, assign and re-encode."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            **CONSUMER,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    consumer.subscribe([source])
    produce, loads, dumps = producer.produce, orjson.loads, orjson.dumps
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
            value = m.value()
            if transform:
                record = loads(value)  # type: ignore[arg-type]
                if not (record["status"] == "paid" and record["amount"] >= MIN_AMOUNT):
                    continue
                record["amount_eur"] = record["amount"] * EUR_RATE
                value = dumps(record)
            while True:
                try:
                    produce(sink, value, m.key(), timestamp=m.timestamp()[1])
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


def run_headwater(
    bootstrap: str, source: str, sink: str, records: int, timeout: float = 600.0
) -> Timing:
    """The pipeline as a Headwater app; stops once ``records`` inputs went through it."""
    from headwater import App
    from headwater.runtime.checkpoint import Checkpoint
    from headwater.runtime.executor import Executor

    app = App(
        f"bench-headwater-{uuid.uuid4().hex[:8]}",
        broker=bootstrap,
        consumer_config=dict(CONSUMER),
        producer_config=dict(PRODUCER),
    )
    sdf = app.dataframe(app.topic(source))
    sdf = sdf[(sdf["status"] == "paid") & (sdf["amount"] >= MIN_AMOUNT)]
    sdf["amount_eur"] = sdf["amount"] * EUR_RATE
    sdf.to_topic(app.topic(sink))

    # Observe the run from outside: the first batch, the input count, the final commit.
    state = {"first": 0.0, "end": 0.0, "consumed": 0, "stopping": False}
    process, commit = Executor.process, Checkpoint.commit

    def observed_process(executor: Executor, batch: Any) -> None:
        if not state["first"]:
            state["first"] = time.time()
        process(executor, batch)
        state["consumed"] += len(batch)
        if state["consumed"] >= records and not state["stopping"]:
            state["stopping"] = True
            app.stop()

    def observed_commit(checkpoint: Checkpoint) -> None:
        commit(checkpoint)
        if state["stopping"] and not state["end"]:
            state["end"] = time.time()  # outputs acknowledged, offsets committed

    Executor.process = observed_process  # type: ignore[method-assign]
    Checkpoint.commit = observed_commit  # type: ignore[method-assign]
    watchdog = threading.Timer(timeout, app.stop)  # a stuck run ends, and reports too few
    watchdog.start()
    try:
        app.run()
    finally:
        watchdog.cancel()
        Executor.process, Checkpoint.commit = process, commit  # type: ignore[method-assign]
    # Outputs go to one topic, so every produced record is one that passed the filter.
    return Timing(state["first"], state["end"], state["consumed"], -1)


def run_quix(bootstrap: str, source: str, sink: str, records: int, partitions: int) -> Timing:
    """Quix Streams in its own virtualenv (created on demand), reporting JSON on stdout."""
    python = ensure_peer_venv()
    settings = {
        "consumer": CONSUMER,
        "producer": PRODUCER,
        "min_amount": MIN_AMOUNT,
        "eur_rate": EUR_RATE,
    }
    command = [
        str(python),
        str(HERE / "peers" / "quix_stateless.py"),
        bootstrap,
        source,
        sink,
        str(records),
        json.dumps(settings),
    ]
    return run_timed(command)


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "raw-copy":
        return run_raw(bootstrap, source, sink, records, transform=False)
    if name == "raw-json":
        return run_raw(bootstrap, source, sink, records, transform=True)
    if name == "headwater":
        return run_headwater(bootstrap, source, sink, records)
    raise SystemExit(f"unknown contender {name!r}; use one of {', '.join(CONTENDERS)}")


# The harness
def digest(values: list[dict[str, Any]]) -> tuple[int, str]:
    """How many records, and a digest of their order ids (order-independent)."""
    ids = sorted(v["order_id"] for v in values)
    return len(ids), hashlib.sha256("\n".join(ids).encode()).hexdigest()


def check_output(
    bootstrap: str, sink: str, expected: tuple[int, str], assigned: bool
) -> str | None:
    """None if ``sink`` holds exactly the expected records, else what is wrong."""
    values = [orjson.loads(v) for v in read_values(bootstrap, sink)]
    found = digest(values)
    if found != expected:
        return f"{found[0]} records (expected {expected[0]}), same ids: {found[1] == expected[1]}"
    if assigned:
        wrong = [v for v in values if abs(v.get("amount_eur", -1) - v["amount"] * EUR_RATE) > 1e-9]
        if wrong:
            return f"{len(wrong)} records with a wrong amount_eur, e.g. {wrong[0]}"
    return None


def spawn(name: str, bootstrap: str, source: str, sink: str, records: int, parts: int) -> Timing:
    if name == "quix":
        return run_quix(bootstrap, source, sink, records, parts)
    command = [sys.executable, str(Path(__file__).resolve()), "--contender", name]
    command += ["--broker", bootstrap, "--input", source, "--output", sink]
    command += ["--records", str(records)]
    return run_timed(command)


def benchmark(
    bootstrap: str,
    records: int,
    partitions: int,
    contenders: list[str],
    rounds: int = 1,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run ``contenders`` over ``records`` events, ``rounds`` times in turn (so drift in the
    machine's load hits each alike); returns the median msg/s per contender."""
    token = uuid.uuid4().hex[:8]
    source = f"bench-orders-{token}"
    sinks = {(n, r): f"bench-out-{n}-{r}-{token}" for n in contenders for r in range(rounds)}
    create_topics(bootstrap, [source, *sinks.values()], partitions)
    events = order_events(records)
    decoded = [orjson.loads(v) for _, v in events]
    everything, kept = digest(decoded), digest([v for v in decoded if passes(v)])
    size = sum(len(v) for _, v in events) / len(events)
    say(
        f"{records} order events ({size:.0f} bytes of JSON on average, 7 fields, "
        f"{partitions} partitions); {PIPELINE}: {kept[0] / records:.1%} pass"
    )
    started = time.monotonic()
    produce_input(bootstrap, source, events)
    say(f"input produced in {time.monotonic() - started:.1f} s")

    def run(name: str, r: int) -> tuple[Timing, str | None]:
        sink = sinks[(name, r)]
        timing = spawn(name, bootstrap, source, sink, records, partitions)
        copy = name == "raw-copy"  # the ceiling copies every record unchanged
        return timing, check_output(bootstrap, sink, everything if copy else kept, not copy)

    rates = run_rounds(contenders, rounds, records, run, say, width=10)
    if "headwater" in rates:
        say("")
        for name, label in (("raw-copy", "ceiling"), ("raw-json", "raw-json"), ("quix", "Quix")):
            if name in rates:
                say(f"Headwater / {label:<8}: {rates['headwater'] / rates[name]:.2f}x")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="runs per contender; median wins")
    parser.add_argument("--broker", help="bootstrap servers; default: start a local broker")
    parser.add_argument("--only", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        run_contender(args.contender, args.broker, args.input, args.output, args.records).report()
        return
    if args.broker:
        benchmark(args.broker, args.records, args.partitions, args.only, args.rounds)
        return
    from headwater.kafka.broker import LocalBroker

    with LocalBroker() as broker:
        benchmark(broker.bootstrap_servers, args.records, args.partitions, args.only, args.rounds)


if __name__ == "__main__":
    main()
