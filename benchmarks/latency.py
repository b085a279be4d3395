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
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import PRODUCER, add_broker_kind, order_events  # noqa: E402
from _latency import (  # noqa: E402
    LOW_LATENCY,
    WARMUP_S,
    StartContender,
    available,
    header,
    measure,
    row,
)

CONTENDERS = ("raw-copy", "headwater", "headwater-eos")
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
        for m in available(consumer, 0.1):
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


# The workload and the harness
def paid_orders() -> list[dict[str, Any]]:
    """Order events that all pass the pipeline's filter: each one is measured."""
    events = [orjson.loads(v) for _, v in order_events(10_000)]
    return [{**e, "status": "paid", "amount": max(e["amount"], 100.0)} for e in events]


def start_contender(bootstrap: str, contender: str) -> StartContender:
    def start(source: str, sink: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, str(Path(__file__).resolve()), "--role", "contender"]
        command += ["--contender", contender, "--broker", bootstrap]
        return subprocess.Popen(
            [*command, "--input", source, "--output", sink], stderr=subprocess.DEVNULL
        )

    return start


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
    print(header())
    results = []
    values = paid_orders()
    for contender in args.only:
        start = start_contender(bootstrap, contender)
        r = measure(
            bootstrap,
            contender,
            start,
            values,
            "order_id",
            rate,
            args.seconds,
            args.warmup,
            PARTITIONS,
        )
        results.append(r)
        print(row(r), flush=True)
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
    parser.add_argument("--role", choices=("contender",), help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "contender":
        contender_main(args)
        return
    if args.broker:
        report(args.broker, args)
        return
    from headwater.kafka.broker import make_broker

    with make_broker(args.broker_kind) as broker:
        report(broker.bootstrap_servers, args)


if __name__ == "__main__":
    main()
