"""End-to-end latency at a fixed input rate, shared by the latency benchmarks: from produce to a
reader's receipt, for a contender running in a process of its own.

A generator process (this file run as a script) produces records at the fixed rate, each
stamped with its send time in the field ``sent``; the reader (the harness's process,
``read_committed``) takes the time of receipt of every output record, which carries ``sent``
through. The first seconds are left out (group joins, the broker warming up); the result gives
p50/p95/p99/max and the median of the first and last thirds of the run, to show any growth.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import CONSUMER, PRODUCER, create_topics  # noqa: E402

# Every contender: the shared settings, and fetches that do not wait long on an idle partition.
LOW_LATENCY = {**CONSUMER, "fetch.wait.max.ms": 10, "auto.offset.reset": "latest"}
WARMUP_S = 15.0  # the broker warms up (JIT, first segments): every contender stalls at first
# Starts a contender reading the first topic and writing the second; stopped with SIGTERM.
StartContender = Callable[[str, str], subprocess.Popen[bytes]]


def available(consumer: Consumer, wait: float) -> list[Any]:
    """The first record as soon as it arrives (up to ``wait``), and what is fetched already.

    ``consume(n, timeout)`` returns only once it has ``n`` records or the timeout passed: at a
    low rate it holds every record for the whole timeout, which a latency figure must not
    count (the app's own loop polls the same way as here)."""
    first = consumer.poll(wait)
    if first is None:
        return []
    return [first, *consumer.consume(10_000, timeout=0)]


def generate(
    bootstrap: str, topic: str, rate: float, seconds: float, values: Path, key: str
) -> None:
    """Produce the JSON lines of ``values`` (cycling) at ``rate`` per second for ``seconds``,
    each with its send time in ``sent`` and keyed by its field ``key``, in ticks of a
    millisecond (so the rate is steady, not bursts)."""
    records = [orjson.loads(line) for line in values.read_bytes().splitlines() if line]
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER, "linger.ms": 1})
    started = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            value = {**records[sent % len(records)], "sent": time.time()}
            producer.produce(topic, orjson.dumps(value), str(value[key]).encode())
            sent += 1
        producer.poll(0)
        time.sleep(0.001)
    producer.flush(30)


def measure(
    bootstrap: str,
    name: str,
    start: StartContender,
    values: list[dict[str, Any]],
    key: str,
    rate: float,
    seconds: float,
    warmup: float = WARMUP_S,
    partitions: int = 3,
) -> dict[str, Any]:
    """Run contender ``name`` (started by ``start``) under ``values`` produced at ``rate`` for
    ``seconds``; its latency figures in ms, the first ``warmup`` seconds left out."""
    token = uuid.uuid4().hex[:8]
    source, sink = f"lat-in-{token}", f"lat-out-{token}"
    create_topics(bootstrap, [source, sink], partitions)
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"lat-reader-{token}",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 10,
        }
    )
    reader.assign([TopicPartition(sink, p, 0) for p in range(partitions)])
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as file:
        file.write(b"\n".join(orjson.dumps(v) for v in values))
    # No wait for the app's group join: it reads from the latest offset once it has joined,
    # and the warm-up seconds are left out of the figures.
    app = start(source, sink)
    command = [sys.executable, __file__, "--broker", bootstrap, "--topic", source, "--key", key]
    command += ["--rate", str(rate), "--seconds", str(seconds), "--values", file.name]
    generator = subprocess.Popen(command)
    samples: list[tuple[float, float]] = []  # (receipt time, latency in ms)
    started = time.time()
    try:
        while time.time() - started < seconds + 60:
            messages = available(reader, 0.05)
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
        Path(file.name).unlink(missing_ok=True)
    return summarize(name, samples, started, warmup, int(rate * (seconds - warmup)))


def summarize(
    name: str, samples: list[tuple[float, float]], started: float, warmup: float, expected: int
) -> dict[str, Any]:
    kept = [(t, ms) for t, ms in samples if t - started >= warmup]
    if not kept:
        raise RuntimeError(f"{name}: no output arrived")
    latencies = sorted(ms for _, ms in kept)
    third = max(1, len(kept) // 3)
    return {
        "contender": name,
        "records": len(kept),
        "expected": expected,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": latencies[-1],
        "p50_first_third": statistics.median(ms for _, ms in kept[:third]),
        "p50_last_third": statistics.median(ms for _, ms in kept[-third:]),
    }


def percentile(values: list[float], pct: float) -> float:
    return values[min(len(values) - 1, int(len(values) * pct / 100))]


def header(width: int = 14) -> str:
    return (
        f"{'contender':>{width}} {'records':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
        f"{'p50 first 1/3':>14} {'p50 last 1/3':>13}"
    )


def row(r: dict[str, Any], width: int = 14) -> str:
    return (
        f"{r['contender']:>{width}} {r['records']:>8} {r['p50']:>7.1f} {r['p95']:>7.1f} "
        f"{r['p99']:>7.1f} {r['max']:>7.1f} {r['p50_first_third']:>14.1f} "
        f"{r['p50_last_third']:>13.1f}"
    )


if __name__ == "__main__":  # the generator's process
    parser = argparse.ArgumentParser(description="produce stamped records at a fixed rate")
    for option in ("--broker", "--topic", "--key"):
        parser.add_argument(option, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--values", type=Path, required=True)
    options = parser.parse_args()
    generate(
        options.broker, options.topic, options.rate, options.seconds, options.values, options.key
    )
