"""Latency: end to end, from produce to a reader's receipt, at a fixed input rate (10% of the
maximum), for the stateless pipeline in Headwater (at-least-once, and exactly-once with a
100 ms commit interval) against a raw consume -> produce loop by hand.

Every contender runs in a process of its own, with the same client settings, including
``fetch.wait.max.ms=10``. A generator process produces order events at the fixed rate, each
stamped with its send time; the reader (this process, ``read_committed``) takes the time of
receipt. The first 15 s are left out (group joins, the broker warming up); the report gives
p50/p95/p99/max and the median of the first and last thirds of the run, to show any growth.

    .venv/bin/python benchmarks/latency.py --broker-kind apache
    .venv/bin/python benchmarks/latency.py --broker-kind tansu --rate 2000
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import CONSUMER, PRODUCER, add_broker_kind, create_topics, order_events  # noqa: E402

CONTENDERS = ("raw-copy", "headwater", "headwater-eos")
# Every contender: the shared settings, and fetches that do not wait long on an idle partition.
LOW_LATENCY = {**CONSUMER, "fetch.wait.max.ms": 10, "auto.offset.reset": "latest"}
WARMUP_S = 15.0  # the broker warms up (JIT, first segments): every contender stalls at first
PARTITIONS = 3


# The contenders (each in its own process, until SIGTERM)
def run_raw(bootstrap: str, source: str, sink: str, ready: threading.Event) -> None:
    group = f"lat-raw-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **LOW_LATENCY})
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    consumer.subscribe([source], on_assign=lambda c, p: ready.set())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        for m in _available(consumer, 0.1):
            if m.error() is None:
                while True:
                    try:
                        producer.produce(sink, m.value(), m.key(), timestamp=m.timestamp()[1])
                        break
                    except BufferError:
                        producer.poll(0.01)
        producer.poll(0)
    producer.flush(30)
    consumer.close()


def _available(consumer: Consumer, wait: float) -> list[Any]:
    """The first record as soon as it arrives (up to ``wait``), and what is fetched already.

    ``consume(n, timeout)`` returns only once it has ``n`` records or the timeout passed: at a
    low rate it holds every record for the whole timeout, which a latency figure must not
    count (the app's own loop polls the same way as here)."""
    first = consumer.poll(wait)
    if first is None:
        return []
    return [first, *consumer.consume(10_000, timeout=0)]


def run_headwater(
    bootstrap: str, source: str, sink: str, ready: threading.Event, exactly_once: bool
) -> None:
    import tempfile

    from stateless import build_headwater

    from headwater import App

    app = App(
        f"lat-hw-{uuid.uuid4().hex[:8]}",
        broker=bootstrap,
        consumer_config=dict(LOW_LATENCY),
        producer_config=dict(PRODUCER),
        state_dir=tempfile.mkdtemp(prefix="hw-latency-"),
        guarantee="exactly-once" if exactly_once else "at-least-once",
        commit_interval=0.1 if exactly_once else 5.0,
    )
    build_headwater(app, source, sink)
    ready.set()  # the app joins its group itself; the warm-up covers the join
    app.run()  # SIGTERM stops it after its batch, committed


def contender_main(args: argparse.Namespace) -> None:
    ready = threading.Event()
    if args.contender == "raw-copy":
        run_raw(args.broker, args.input, args.output, ready)
    else:
        run_headwater(args.broker, args.input, args.output, ready, args.contender.endswith("eos"))


# The generator (a process of its own)
def generator_main(args: argparse.Namespace) -> None:
    """Produce order events at ``--rate`` per second for ``--seconds``, each with its send
    time, in ticks of a millisecond (so the rate is steady, not bursts)."""
    events = [orjson.loads(v) for _, v in order_events(10_000)]
    producer = Producer({"bootstrap.servers": args.broker, **PRODUCER, "linger.ms": 1})
    started = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - started) < args.seconds:
        due = int(elapsed * args.rate)
        while sent < due:
            event = events[sent % len(events)]
            # Every event passes the pipeline's filter: each one is measured.
            value = {**event, "status": "paid", "amount": max(event["amount"], 100.0)}
            value["sent"] = time.time()
            producer.produce(args.input, orjson.dumps(value), value["order_id"].encode())
            sent += 1
        producer.poll(0)
        time.sleep(0.001)
    producer.flush(30)


# The harness
def measure(
    bootstrap: str, contender: str, rate: float, seconds: float, warmup: float = WARMUP_S
) -> dict[str, Any]:
    token = uuid.uuid4().hex[:8]
    source, sink = f"lat-in-{token}", f"lat-out-{token}"
    create_topics(bootstrap, [source, sink], PARTITIONS)
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"lat-reader-{token}",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 10,
        }
    )
    reader.assign([TopicPartition(sink, p, 0) for p in range(PARTITIONS)])
    script = str(Path(__file__).resolve())
    common = ["--broker", bootstrap, "--input", source, "--output", sink]
    app = subprocess.Popen(
        [sys.executable, script, "--role", "contender", "--contender", contender, *common],
        stderr=subprocess.DEVNULL,
    )
    # No wait for the app's group join: it reads from the latest offset once it has joined,
    # and the warm-up seconds are left out of the figures.
    generator_args = ["--role", "generator", "--rate", str(rate), "--seconds", str(seconds)]
    generator = subprocess.Popen([sys.executable, script, *generator_args, *common])
    samples: list[tuple[float, float]] = []  # (receipt time, latency in ms)
    started = time.time()
    try:
        while time.time() - started < seconds + 60:
            messages = _available(reader, 0.05)
            for m in messages:
                if m.error() is None:
                    now = time.time()
                    samples.append((now, (now - orjson.loads(m.value())["sent"]) * 1000))
            finished = generator.poll() is not None and time.time() - started > seconds + 2
            if finished and not messages:  # nothing in flight any more
                break
    finally:
        generator.wait(60)
        app.send_signal(signal.SIGTERM)
        app.wait(60)
        reader.close()
    kept = [(t, ms) for t, ms in samples if t - started >= warmup]
    if not kept:
        raise RuntimeError(f"{contender}: no output arrived")
    latencies = sorted(ms for _, ms in kept)
    third = len(kept) // 3
    return {
        "contender": contender,
        "records": len(kept),
        "expected": int(rate * (seconds - warmup)),
        "p50": _percentile(latencies, 50),
        "p95": _percentile(latencies, 95),
        "p99": _percentile(latencies, 99),
        "max": latencies[-1],
        "p50_first_third": statistics.median(ms for _, ms in kept[:third]),
        "p50_last_third": statistics.median(ms for _, ms in kept[-third:]),
    }


def _percentile(values: list[float], pct: float) -> float:
    return values[min(len(values) - 1, int(len(values) * pct / 100))]


def max_rate(bootstrap: str) -> float:
    """Headwater's stateless throughput, measured now (the stateless benchmark, one round)."""
    import stateless

    rates = stateless.benchmark(bootstrap, 200_000, PARTITIONS, ["headwater"], say=lambda _: None)
    return rates["headwater"]


def report(bootstrap: str, args: argparse.Namespace) -> None:
    rate = args.rate or round(max_rate(bootstrap) * 0.1, -2)
    print(
        f"input: {rate:,.0f} records/s for {args.seconds:.0f} s ({PARTITIONS} partitions); "
        f"the first {args.warmup:.0f} s left out; latency in ms from produce to receipt"
    )
    print(
        f"{'contender':>14} {'records':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
        f"{'p50 first 1/3':>14} {'p50 last 1/3':>13}"
    )
    results = []
    for contender in args.only:
        r = measure(bootstrap, contender, rate, args.seconds, args.warmup)
        results.append(r)
        print(
            f"{contender:>14} {r['records']:>8} {r['p50']:>7.1f} {r['p95']:>7.1f} "
            f"{r['p99']:>7.1f} {r['max']:>7.1f} {r['p50_first_third']:>14.1f} "
            f"{r['p50_last_third']:>13.1f}",
            flush=True,
        )
    by_name = {r["contender"]: r for r in results}
    if "raw-copy" in by_name:
        for name in ("headwater", "headwater-eos"):
            if name in by_name:
                ratio = by_name[name]["p99"] / by_name["raw-copy"]["p99"]
                print(f"p99 {name} / raw-copy: {ratio:.2f}x")
    print(json.dumps({"rate": rate, "results": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", help="bootstrap servers; default: start a local broker")
    add_broker_kind(parser)
    parser.add_argument("--rate", type=float, help="records/s (default: 10%% of the maximum)")
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument(
        "--warmup", type=float, default=WARMUP_S, help="seconds left out at the start"
    )
    parser.add_argument("--only", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--role", choices=("contender", "generator"), help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "contender":
        contender_main(args)
        return
    if args.role == "generator":
        generator_main(args)
        return
    if args.broker:
        report(args.broker, args)
        return
    from headwater.kafka.broker import make_broker

    with make_broker(args.broker_kind) as broker:
        report(broker.bootstrap_servers, args)


if __name__ == "__main__":
    main()
