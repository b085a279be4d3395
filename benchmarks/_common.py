"""Shared by the benchmark scripts: the workload, client settings, topics, the timing report,
the round runner and the command line.

Imports nothing from Headwater at module level (only inside ``run_cli``, to start a local
broker), so the peer runners (in their own virtualenv) can use it too.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

# Every contender gets these consumer settings: the fast group join the test broker needs
# (see BROKER.md quirk 2), the same fetch sizes, and a short wait before fetching again once the
# prefetch queue was full (librdkafka waits 1 s by default; Headwater's own default is 20 ms).
CONSUMER: dict[str, Any] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
    "fetch.max.bytes": 52_428_800,
    "max.partition.fetch.bytes": 1_048_576,
    "queued.max.messages.kbytes": 65_536,
    "fetch.queue.backoff.ms": 20,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
}
# ... and these producer settings (acks=all, idempotent, the same batching).
PRODUCER: dict[str, Any] = {
    "enable.idempotence": True,
    "linger.ms": 5,
    "queue.buffering.max.messages": 500_000,
}
HERE = Path(__file__).resolve().parent
# Quix Streams pins another confluent-kafka: it runs from its own virtualenv, made on first use.
PEER_VENV = HERE / ".peer-venv"
PEER_REQUIREMENT = "quixstreams==3.28.0"
# Topics carry an explicit retention.ms: Quix Streams reads it back (BROKER.md quirk 4). Kept
# forever: window results carry their event time, fixed in the past, and Apache Kafka deletes
# records older than a finite retention.
TOPIC_CONFIG = {"retention.ms": "-1"}

STATUSES = ("paid",) * 7 + ("pending", "cancelled", "refunded")
COLOURS = ("RED", "BLUE", "BLACK", "WHITE", "GREEN")
SIZES = ("XS", "S", "M", "L", "XL")
COUNTRIES = ("DE", "FR", "GB", "US", "NL", "ES", "IT", "PL", "SE", "BR")
MIN_AMOUNT = 20.0
EUR_RATE = 0.92
PIPELINE = (
    f"keep status == 'paid' and amount >= {MIN_AMOUNT}, then amount_eur = amount * {EUR_RATE}"
)


def order_events(count: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """``count`` (key, value) order events: JSON objects of about 180 bytes, keyed by customer."""
    rng = random.Random(seed)
    base = 1_764_000_000_000
    events = []
    for i in range(count):
        customer = f"customer-{rng.randrange(50_000):06d}"
        value = {
            "order_id": f"ord-2026-{i:010d}",
            "customer_id": customer,
            "sku": f"SKU-{rng.randrange(10_000):04d}-{rng.choice(COLOURS)}-{rng.choice(SIZES)}",
            "amount": round(rng.lognormvariate(3.6, 0.9), 2),
            "country": rng.choice(COUNTRIES),
            "status": rng.choice(STATUSES),
            "created_at": base + i * 7,
        }
        events.append((customer.encode(), orjson.dumps(value)))
    return events


def passes(value: dict[str, Any]) -> bool:
    """The filter, by hand: what every contender keeps."""
    return value["status"] == "paid" and value["amount"] >= MIN_AMOUNT


def running_totals(value: dict[str, Any], state: Any) -> dict[str, Any]:
    """The stateful row function: one read and one write per name. Headwater's and Quix's
    contenders (and the failover replicas) all run this same code."""
    count = state.get("count", 0) + 1
    total = state.get("sum", 0) + value["amount"]
    state.set("count", count)
    state.set("sum", total)
    return {"key": value["key"], "count": count, "sum": total}


def average_size(events: list[tuple[bytes, bytes]]) -> float:
    """The mean size of the events' values, in bytes."""
    return sum(len(v) for _, v in events) / len(events)


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(n, partitions, 1, config=dict(TOPIC_CONFIG)) for n in names]
    )
    for future in futures.values():
        future.result(timeout=30)
    deadline = time.monotonic() + 30
    while True:
        topics = admin.list_topics(timeout=10).topics
        if all(n in topics and len(topics[n].partitions) == partitions for n in names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"topics {names} did not appear within 30 s")
        time.sleep(0.05)


def produce_input(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    for key, value in events:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(60):
        raise RuntimeError(f"could not produce the input to {topic!r}")


def read_values(bootstrap: str, topic: str) -> list[bytes]:
    """Every value in ``topic``, read to partition EOF (exact, unlike the high watermark)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-reader-{uuid.uuid4().hex[:8]}",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        remaining = set(partitions)
        values: list[bytes] = []
        deadline = time.monotonic() + 120
        while remaining and time.monotonic() < deadline:
            for m in consumer.consume(10_000, timeout=0.5):
                error = m.error()
                if error is None:
                    values.append(m.value())
                elif error.code() == KafkaError._PARTITION_EOF:
                    remaining.discard(m.partition())
        if remaining:
            raise RuntimeError(f"could not read {topic!r} to its end within 120 s")
        return values
    finally:
        consumer.close()


@dataclass
class Timing:
    """What a contender reports: wall-clock seconds of its first record and final ack."""

    first: float
    end: float
    consumed: int
    produced: int

    def report(self) -> None:
        sys.stdout.write(json.dumps(asdict(self)) + "\n")
        sys.stdout.flush()


def run_timed(command: list[str]) -> Timing:
    """Run one contender in its own process; it reports its Timing as its last stdout line."""
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=900)
    return Timing(**json.loads(out.stdout.strip().splitlines()[-1]))


def run_script(
    script: str, name: str, bootstrap: str, source: str, sink: str, records: int
) -> Timing:
    """Run contender ``name`` of benchmark ``script`` (its ``--contender`` mode) in a process."""
    command = [sys.executable, str(Path(script).resolve()), "--contender", name]
    command += ["--broker", bootstrap, "--input", source, "--output", sink]
    command += ["--records", str(records)]
    return run_timed(command)


def run_peer(
    runner: str, bootstrap: str, source: str, sink: str, records: int, settings: dict[str, Any]
) -> Timing:
    """Run Quix Streams runner ``peers/<runner>`` in its own virtualenv (created on demand) with
    the shared client settings and ``settings``; it reports JSON on stdout."""
    return run_timed(peer_command(runner, bootstrap, source, sink, records, settings))


def peer_command(
    runner: str, bootstrap: str, source: str, sink: str, records: int, settings: dict[str, Any]
) -> list[str]:
    """The command running Quix Streams runner ``peers/<runner>`` (see :func:`run_peer`)."""
    python = ensure_peer_venv()
    settings = {"consumer": CONSUMER, "producer": PRODUCER, **settings}
    command = [str(python), str(HERE / "peers" / runner), bootstrap, source, sink]
    return [*command, str(records), json.dumps(settings)]


def ensure_peer_venv() -> Path:
    """The peer virtualenv's python, with Quix Streams installed (created once)."""
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", "import quixstreams; print(quixstreams.__version__)"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {PEER_VENV.name} with {PEER_REQUIREMENT} (once)...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_REQUIREMENT], check=True)
    return python


def ensure_peer_packages(*requirements: str) -> None:
    """Install ``requirements`` (pip specifiers, e.g. ``scikit-learn==1.7.2``) into the peer
    virtualenv, which pip skips when they are there already."""
    python = ensure_peer_venv()
    command = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*command, *requirements], check=True)


def run_rounds(
    contenders: list[str],
    rounds: int,
    records: int,
    run: Callable[[str, int], tuple[Timing, str | None]],
    say: Callable[[str], None],
    width: int = 10,
) -> dict[str, float]:
    """Run every contender ``rounds`` times in turn (so drift in the machine's load hits each
    alike); ``run(name, round)`` returns its Timing and what is wrong with its output, if
    anything. A wrong output stops the benchmark. Returns the median msg/s per contender."""
    measured: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(rounds):
        say(f"\nround {r + 1} of {rounds}")
        for name in contenders:
            timing, problem = run(name, r)
            seconds = timing.end - timing.first
            measured[name].append(records / seconds)
            status = "output ok" if problem is None else f"OUTPUT WRONG: {problem}"
            say(f"{name:>{width}}: {records / seconds:>9,.0f} msg/s  ({seconds:5.2f} s)  {status}")
            if problem is not None:
                raise SystemExit(f"{name} produced a wrong output: {problem}")
    rates = {name: statistics.median(values) for name, values in measured.items()}
    say(f"\nmedian of {rounds} round(s), input msg/s:")
    for name, rate in rates.items():
        say(f"{name:>{width}}: {rate:>9,.0f} msg/s")
    return rates


def run_benchmark(
    bootstrap: str,
    topics: tuple[str, str],
    events: list[tuple[bytes, bytes]],
    partitions: int,
    contenders: list[str],
    rounds: int,
    run: Callable[[str, str, str], tuple[Timing, str | None]],
    say: Callable[[str], None],
    width: int = 10,
) -> dict[str, float]:
    """Create the input topic and a fresh output topic per contender and round (``topics``: the
    two name prefixes), produce ``events`` to the input, then ``run_rounds``;
    ``run(name, source, sink)`` runs one contender and checks its output."""
    token = uuid.uuid4().hex[:8]
    source = f"{topics[0]}-{token}"
    sinks = {(n, r): f"{topics[1]}-{n}-{r}-{token}" for n in contenders for r in range(rounds)}
    create_topics(bootstrap, [source, *sinks.values()], partitions)
    started = time.monotonic()
    produce_input(bootstrap, source, events)
    say(f"input produced in {time.monotonic() - started:.1f} s")

    def run_round(name: str, r: int) -> tuple[Timing, str | None]:
        return run(name, source, sinks[(name, r)])

    return run_rounds(contenders, rounds, len(events), run_round, say, width)


def say_ratios(
    rates: dict[str, float],
    pairs: Iterable[tuple[str, str, str]],
    say: Callable[[str], None],
    width: int,
) -> None:
    """``label: ours / theirs`` for each (ours, theirs, label) where both were measured."""
    for ours, theirs, label in pairs:
        if ours in rates and theirs in rates:
            say(f"{label:<{width}}: {rates[ours] / rates[theirs]:.2f}x")


# The command line
def benchmark_parser(doc: str, records: int, keys: int | None = None) -> argparse.ArgumentParser:
    """The options every benchmark has first: records, keys (when it has keys), partitions,
    rounds. Add the benchmark's own, then hand it to ``run_cli``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=records)
    if keys is not None:
        parser.add_argument("--keys", type=int, default=keys)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="runs per contender; median wins")
    return parser


def run_cli(
    parser: argparse.ArgumentParser,
    contenders: tuple[str, ...],
    run_contender: Callable[[str, str, str, str, int], Timing],
    benchmark: Callable[[str, argparse.Namespace], object],
) -> None:
    """Add the options every benchmark ends with, parse, then either run one contender (the
    hidden ``--contender`` mode ``run_script`` uses) or ``benchmark(bootstrap, args)``
    against ``--broker``, or a local broker of ``--broker-kind`` started for the run."""
    parser.add_argument("--broker", help="bootstrap servers; default: start a local broker")
    add_broker_kind(parser)
    parser.add_argument("--only", nargs="+", choices=contenders, default=list(contenders))
    parser.add_argument("--contender", choices=contenders, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        run_contender(args.contender, args.broker, args.input, args.output, args.records).report()
        return
    if args.broker:
        benchmark(args.broker, args)
        return
    from headwater.kafka.broker import make_broker

    with make_broker(args.broker_kind) as broker:
        benchmark(broker.bootstrap_servers, args)


def add_broker_kind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker-kind",
        choices=("tansu", "apache"),
        default="tansu",
        help="the local broker to start when --broker is not given (default: tansu)",
    )
