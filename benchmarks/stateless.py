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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    EUR_RATE,
    MIN_AMOUNT,
    PIPELINE,
    Timing,
    average_size,
    benchmark_parser,
    order_events,
    passes,
    read_values,
    run_benchmark,
    run_cli,
    run_peer,
    run_script,
    say_ratios,
)
from _contenders import run_headwater_app, run_raw  # noqa: E402

CONTENDERS = ("raw-copy", "raw-json", "headwater", "quix")


# Contenders (each runs in a process of its own)
def filter_and_assign(value: bytes) -> bytes | None:
    """The pipeline by hand with orjson: None for a record the filter drops."""
    record = orjson.loads(value)
    if not (record["status"] == "paid" and record["amount"] >= MIN_AMOUNT):
        return None
    record["amount_eur"] = record["amount"] * EUR_RATE
    return orjson.dumps(record)


def build_headwater(app: Any, source: str, sink: str) -> None:
    """The pipeline: filter, then assign ``amount_eur``, to ``sink``."""
    sdf = app.dataframe(app.topic(source))
    sdf = sdf[(sdf["status"] == "paid") & (sdf["amount"] >= MIN_AMOUNT)]
    sdf["amount_eur"] = sdf["amount"] * EUR_RATE
    sdf.to_topic(app.topic(sink))


def run_headwater(
    bootstrap: str, source: str, sink: str, records: int, timeout: float = 600.0
) -> Timing:
    """The pipeline as a Headwater app; stops once ``records`` inputs went through it."""
    args = (bootstrap, source, sink, records, timeout)
    return run_headwater_app("headwater", build_headwater, *args)


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "raw-copy":
        return run_raw(bootstrap, source, sink, records)
    if name == "raw-json":
        return run_raw(bootstrap, source, sink, records, filter_and_assign)
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
    events = order_events(records)
    decoded = [orjson.loads(v) for _, v in events]
    everything, kept = digest(decoded), digest([v for v in decoded if passes(v)])
    say(
        f"{records} order events ({average_size(events):.0f} bytes of JSON on average, 7 fields, "
        f"{partitions} partitions); {PIPELINE}: {kept[0] / records:.1%} pass"
    )

    def run(name: str, source: str, sink: str) -> tuple[Timing, str | None]:
        if name == "quix":
            settings = {"min_amount": MIN_AMOUNT, "eur_rate": EUR_RATE}
            timing = run_peer("quix_stateless.py", bootstrap, source, sink, records, settings)
        else:
            timing = run_script(__file__, name, bootstrap, source, sink, records)
        copy = name == "raw-copy"  # the ceiling copies every record unchanged
        return timing, check_output(bootstrap, sink, everything if copy else kept, not copy)

    topics = ("bench-orders", "bench-out")
    rates = run_benchmark(bootstrap, topics, events, partitions, contenders, rounds, run, say)
    if "headwater" in rates:
        say("")
        labels = (("raw-copy", "ceiling"), ("raw-json", "raw-json"), ("quix", "Quix"))
        pairs = [("headwater", name, f"Headwater / {label}") for name, label in labels]
        say_ratios(rates, pairs, say, width=20)
    return rates


def main() -> None:
    def benchmark_args(bootstrap: str, args: argparse.Namespace) -> None:
        benchmark(bootstrap, args.records, args.partitions, args.only, args.rounds)

    parser = benchmark_parser(__doc__, records=500_000)
    run_cli(parser, CONTENDERS, run_contender, benchmark_args)


if __name__ == "__main__":
    main()
