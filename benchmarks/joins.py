"""Joins benchmark: an as-of join of two streams and a lookup join against PostgreSQL,
Headwater against the ceiling and a peer.

The left input is a stream of payments (``{"id", "card", "amount", "ts"}``, keyed by card,
event time in ``ts`` advancing 1 ms a record). Two scenarios, each with its own contenders:

**As-of join.** The right input is a stream of card limit changes (``{"card", "limit",
"ts"}``, keyed by card, one for every ``--right-every`` payments, over the same time span).
Each payment is written with the card's latest limit at or before its time (``limit`` null
when the card had none yet): ``pandas.merge_asof(direction="backward")``.

1. ``raw-copy``: confluent-kafka consume -> produce of both inputs' bytes (the ceiling);
2. ``headwater-asof``: ``payments.join_asof(limits, on="card")``, both inputs with a
   watermark of no out-of-orderness (versioned RocksDB store, changelog, checkpoints);
3. ``quix-asof``: ``payments.join_asof(limits, how="left", on_merge="keep-left")`` in Quix
   Streams 3.28 (the right side in a timestamped RocksDB store, event time from ``ts``).

Both inputs end with one closing record per partition far in the future (card
``~closing``), so the watermark passes every payment and Headwater may emit them all; the
harness ignores those records' outputs. Quix Streams joins a payment with what it has read of
the other topic when the payment arrives, so its answer depends on arrival order: the harness
requires each of its outputs to be a version of the card at or before the payment (or none),
and reports how many equal the batch join; Headwater's must all equal it.

**Lookup join.** A PostgreSQL table of ``--keys`` cards (``card``, ``card_limit``, ``tier``);
payments draw their card from 10% more keys than the table has, so some find no row. Each
payment is written with its card's row (nulls when there is none).

4. ``raw-copy-left``: the ceiling over the payments alone;
5. ``headwater-lookup``: ``payments.lookup(PostgresStore(...), on="card")``: per micro-batch one
   ``WHERE card = ANY(...)`` query for the keys the cache misses;
6. ``quix-lookup``: ``payments.join_lookup(PostgresLookup(...), fields, on="card")``, Quix
   Streams 3.28's own PostgreSQL lookup: one ``SELECT ... WHERE card = %s`` per record the cache
   misses.

Both lookups keep a cache as large as the table (every key fits) with a 60 s time to live, so
each reads each key once; what differs is how: one query per batch against one per record.

Each contender runs in its own process with the same consumer and producer settings and the
same commit interval, at at-least-once, and reports the wall-clock time of its first record and
of its final checkpoint, so group joins do not count; msg/s is input records (of every input it
reads) per second. The harness reads every output back and checks it record by record.

    python benchmarks/joins.py                              # 1M payments, 3 rounds
    python benchmarks/joins.py --records 20000 --rounds 1   # a quick run
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from bisect import bisect_right
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
    benchmark_parser,
    create_topics,
    ensure_peer_packages,
    produce_input,
    read_values,
    run_cli,
    run_peer,
    run_rounds,
    run_script,
    say_ratios,
)
from _contenders import run_headwater_app, run_raw  # noqa: E402

CONTENDERS = (
    "raw-copy",
    "headwater-asof",
    "quix-asof",
    "raw-copy-left",
    "headwater-lookup",
    "quix-lookup",
)
ASOF = ("raw-copy", "headwater-asof", "quix-asof")
COMMIT_INTERVAL = 5.0  # seconds; both libraries' default, given to both explicitly
BASE_TS = 1_764_000_000_000
CLOSING_CARD = "~closing"
CLOSING_TS = BASE_TS + 10**12  # far after every payment: the watermark passes them all
CACHE_TTL = 60.0
POSTGRES_URL = os.environ.get(
    "HEADWATER_BENCH_POSTGRES",
    os.environ.get(
        "HEADWATER_TEST_POSTGRES",
        "postgresql://headwater:headwater@127.0.0.1:5432/headwater_test",
    ),
)

Event = tuple[bytes, bytes]
# The right answer per payment id: the limit (as-of) or the (card_limit, tier) row (lookup).
Expected = dict[int, Any]


# The workload
def card(n: int) -> str:
    return f"card-{n:06d}"


def payments(count: int, cards: int, seed: int = 21) -> list[Event]:
    """``count`` payments over ``cards`` cards, uniformly, event time 1 ms apart."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        key = card(rng.randrange(cards))
        value = {"id": i, "card": key, "amount": rng.randrange(1, 100_000), "ts": BASE_TS + i}
        events.append((key.encode(), orjson.dumps(value)))
    return events


def limit_changes(count: int, cards: int, span_ms: int, seed: int = 22) -> list[Event]:
    """``count`` limit changes over ``cards`` cards, at distinct times over ``span_ms``, in time
    order (as a change log is)."""
    rng = random.Random(seed)
    times = sorted(rng.sample(range(span_ms), min(count, span_ms)))
    events = []
    for t in times:
        key = card(rng.randrange(cards))
        value = {"card": key, "limit": rng.randrange(100, 10_000), "ts": BASE_TS + t}
        events.append((key.encode(), orjson.dumps(value)))
    return events


def closing_value(topic_kind: str) -> bytes:
    if topic_kind == "left":
        return orjson.dumps({"id": -1, "card": CLOSING_CARD, "amount": 0, "ts": CLOSING_TS})
    return orjson.dumps({"card": CLOSING_CARD, "limit": 0, "ts": CLOSING_TS})


def produce_closing(bootstrap: str, topic: str, partitions: int, kind: str) -> None:
    """One closing record in every partition of ``topic``, after its input."""
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    for p in range(partitions):
        producer.produce(topic, closing_value(kind), CLOSING_CARD.encode(), partition=p)
    if producer.flush(30):
        raise RuntimeError(f"could not produce the closing records to {topic!r}")


def expected_asof(left: list[Event], right: list[Event]) -> Expected:
    """Each payment's limit as of its time (None when its card had none yet), by hand."""
    versions: dict[str, tuple[list[int], list[int]]] = {}
    for _, raw in right:
        v = orjson.loads(raw)
        times, limits = versions.setdefault(v["card"], ([], []))
        times.append(v["ts"])
        limits.append(v["limit"])
    expected: Expected = {}
    for _, raw in left:
        v = orjson.loads(raw)
        times, limits = versions.get(v["card"], ([], []))
        at = bisect_right(times, v["ts"])
        expected[v["id"]] = limits[at - 1] if at else None
    return expected


def card_rows(cards: int, seed: int = 23) -> dict[str, tuple[int, str]]:
    """The lookup table: ``cards`` cards' (card_limit, tier)."""
    rng = random.Random(seed)
    tiers = ("basic", "silver", "gold", "platinum")
    return {card(n): (rng.randrange(100, 10_000), rng.choice(tiers)) for n in range(cards)}


def expected_lookup(left: list[Event], rows: dict[str, tuple[int, str]]) -> Expected:
    expected: Expected = {}
    for _, raw in left:
        v = orjson.loads(raw)
        expected[v["id"]] = rows.get(v["card"])
    return expected


def create_table(table: str, rows: dict[str, tuple[int, str]]) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(
            f'CREATE TABLE "{table}" (card text PRIMARY KEY, card_limit integer, tier text)'
        )
        with connection.cursor().copy(
            f'COPY "{table}" (card, card_limit, tier) FROM STDIN'
        ) as copy:
            for key, (limit, tier) in rows.items():
                copy.write_row((key, limit, tier))


def drop_table(table: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP TABLE IF EXISTS "{table}"')


# Contenders (each runs in a process of its own)
def build_headwater_asof(app: Any, source: str, sink: str) -> None:
    """The as-of join: each payment with its card's latest limit at or before its time."""
    left, right = source.split(",")
    pay = app.dataframe(app.topic(left, timestamp="ts")).with_watermarks("0s")
    limits = app.dataframe(app.topic(right, timestamp="ts")).with_watermarks("0s")
    # Both inputs are keyed and partitioned by card already: no repartition (nor in Quix).
    pay.join_asof(limits, on="card", repartition=False).to_topic(app.topic(sink))


def build_headwater_lookup(table: str) -> Callable[[Any, str, str], None]:
    def build(app: Any, source: str, sink: str) -> None:
        """The lookup join: each payment with its card's row, one query per batch's misses."""
        from headwater.lookup import LookupPolicy, PostgresStore

        store = PostgresStore(POSTGRES_URL, table, key="card", columns=["card_limit", "tier"])
        policy = LookupPolicy(cache_size=lookup_cache_size(), cache_ttl=CACHE_TTL)
        sdf = app.dataframe(app.topic(source))
        sdf.lookup(store, on="card", policy=policy).to_topic(app.topic(sink))

    return build


def lookup_cache_size() -> int:
    return int(os.environ["HEADWATER_BENCH_CACHE_SIZE"])


def run_headwater_asof(
    bootstrap: str, source: str, sink: str, records: int, timeout: float = 600.0
) -> Timing:
    args = (bootstrap, source, sink, records, timeout)
    return run_headwater_app(
        "hw-asof", build_headwater_asof, *args, commit_interval=COMMIT_INTERVAL
    )


def run_headwater_lookup(
    bootstrap: str, source: str, sink: str, records: int, timeout: float = 600.0
) -> Timing:
    table = os.environ["HEADWATER_BENCH_TABLE"]
    args = (bootstrap, source, sink, records, timeout)
    return run_headwater_app(
        "hw-lookup", build_headwater_lookup(table), *args, commit_interval=COMMIT_INTERVAL
    )


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name in ("raw-copy", "raw-copy-left"):
        return run_raw(bootstrap, source, sink, records)
    if name == "headwater-asof":
        return run_headwater_asof(bootstrap, source, sink, records)
    if name == "headwater-lookup":
        return run_headwater_lookup(bootstrap, source, sink, records)
    raise SystemExit(f"unknown contender {name!r}; use one of {', '.join(CONTENDERS)}")


# Checking outputs
def joined_values(
    bootstrap: str, sink: str, answer: Callable[[dict[str, Any]], Any]
) -> dict[int, Any] | str:
    """Each payment's answer in ``sink`` by id (closing records left out), or what is wrong."""
    found: dict[int, Any] = {}
    for raw in read_values(bootstrap, sink):
        v = orjson.loads(raw)
        if v["card"] == CLOSING_CARD:
            continue
        if v["id"] in found:
            return f"payment {v['id']} written twice"
        found[v["id"]] = answer(v)
    return found


def check_exact(found: dict[int, Any] | str, expected: Expected) -> str | None:
    """None if every payment was written once with exactly its expected answer."""
    if isinstance(found, str):
        return found
    if len(found) != len(expected):
        return f"{len(found)} payments written, {len(expected)} expected"
    for pid, want in expected.items():
        if pid not in found:
            return f"payment {pid} missing"
        if found[pid] != want:
            return f"payment {pid}: {found[pid]!r} != {want!r}"
    return None


def check_asof_valid(
    found: dict[int, Any] | str,
    expected: Expected,
    left: list[Event],
    right: list[Event],
    say: Callable[[str], None],
) -> str | None:
    """None if every payment was written once with a limit its card had at or before its time
    (or none); says how many equal the batch join."""
    if isinstance(found, str):
        return found
    if set(found) != set(expected):
        return f"{len(found)} payments written, {len(expected)} expected"
    versions: dict[str, list[tuple[int, int]]] = {}
    for _, raw in right:
        v = orjson.loads(raw)
        versions.setdefault(v["card"], []).append((v["ts"], v["limit"]))
    for _, raw in left:
        v = orjson.loads(raw)
        got = found[v["id"]]
        allowed = {limit for ts, limit in versions.get(v["card"], []) if ts <= v["ts"]}
        if got is not None and got not in allowed:
            return f"payment {v['id']}: limit {got} was not its card's at or before its time"
    exact = sum(found[pid] == want for pid, want in expected.items())
    say(f"{exact:,} of {len(expected):,} of quix-asof's payments equal the batch as-of join")
    return None


# The harness
def benchmark(
    bootstrap: str,
    records: int,
    keys: int,
    right_every: int,
    partitions: int,
    contenders: list[str],
    rounds: int = 1,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    left = payments(records, cards=int(keys * 1.1))
    right = limit_changes(records // right_every, keys, span_ms=records)
    token = uuid.uuid4().hex[:8]
    left_topic, right_topic = f"bench-payments-{token}", f"bench-limits-{token}"
    sinks = {(n, r): f"bench-join-{n}-{r}-{token}" for n in contenders for r in range(rounds)}
    create_topics(bootstrap, [left_topic, right_topic, *sinks.values()], partitions)
    started = time.monotonic()
    produce_input(bootstrap, right_topic, right)
    produce_closing(bootstrap, right_topic, partitions, "right")
    produce_input(bootstrap, left_topic, left)
    produce_closing(bootstrap, left_topic, partitions, "left")
    say(f"input produced in {time.monotonic() - started:.1f} s")
    rates: dict[str, float] = {}

    asof = [n for n in contenders if n in ASOF]
    if asof:
        inputs = len(left) + len(right) + 2 * partitions
        say(
            f"\nas-of join: {len(left)} payments over {int(keys * 1.1)} cards and {len(right)} "
            f"limit changes over {keys} ({inputs} input records, {partitions} partitions)"
        )
        want = expected_asof(left, right)

        def run_asof(name: str, r: int) -> tuple[Timing, str | None]:
            source, sink = f"{left_topic},{right_topic}", sinks[(name, r)]
            if name == "quix-asof":
                settings = {"commit_interval": COMMIT_INTERVAL, "mode": "asof"}
                timing = run_peer("quix_joins.py", bootstrap, source, sink, inputs, settings)
            else:
                timing = run_script(__file__, name, bootstrap, source, sink, inputs)
            if name == "raw-copy":
                return timing, None if len(read_values(bootstrap, sink)) == inputs else "count"
            found = joined_values(bootstrap, sink, lambda v: v.get("limit"))
            if name == "quix-asof":
                return timing, check_asof_valid(found, want, left, right, say)
            return timing, check_exact(found, want)

        rates |= run_rounds(asof, rounds, inputs, run_asof, say, width=16)

    lookup = [n for n in contenders if n not in ASOF]
    if lookup:
        inputs = len(left) + partitions
        rows = card_rows(keys)
        table = f"bench_cards_{token}"
        say(
            f"\nlookup join: {len(left)} payments over {int(keys * 1.1)} cards, a PostgreSQL "
            f"table of {keys} (cache of {keys} keys, {CACHE_TTL:g} s to live, in both)"
        )
        want = expected_lookup(left, rows)
        create_table(table, rows)
        if "quix-lookup" in lookup:
            ensure_peer_packages("psycopg2-binary")  # Quix Streams' PostgresLookup uses it
        os.environ["HEADWATER_BENCH_TABLE"] = table
        os.environ["HEADWATER_BENCH_CACHE_SIZE"] = str(keys)

        def run_lookup(name: str, r: int) -> tuple[Timing, str | None]:
            sink = sinks[(name, r)]
            if name == "quix-lookup":
                settings = {
                    "commit_interval": COMMIT_INTERVAL,
                    "mode": "lookup",
                    "postgres": POSTGRES_URL,
                    "table": table,
                    "cache_size": keys,
                    "cache_ttl": CACHE_TTL,
                }
                timing = run_peer("quix_joins.py", bootstrap, left_topic, sink, inputs, settings)
                found = joined_values(bootstrap, sink, quix_row)
            else:
                timing = run_script(__file__, name, bootstrap, left_topic, sink, inputs)
            if name == "raw-copy-left":
                return timing, None if len(read_values(bootstrap, sink)) == inputs else "count"
            if name == "headwater-lookup":
                found = joined_values(bootstrap, sink, headwater_row)
            return timing, check_exact(found, want)

        try:
            rates |= run_rounds(lookup, rounds, inputs, run_lookup, say, width=16)
        finally:
            drop_table(table)

    say("")
    pairs = [
        ("headwater-asof", "raw-copy", "as-of: Headwater / ceiling"),
        ("headwater-asof", "quix-asof", "as-of: Headwater / Quix"),
        ("headwater-lookup", "raw-copy-left", "lookup: Headwater / ceiling"),
        ("headwater-lookup", "quix-lookup", "lookup: Headwater / Quix"),
    ]
    say_ratios(rates, pairs, say, width=28)
    return rates


def headwater_row(v: dict[str, Any]) -> tuple[int, str] | None:
    return None if v["tier"] is None else (v["card_limit"], v["tier"])


def quix_row(v: dict[str, Any]) -> tuple[int, str] | None:
    row = v.get("profile")
    return None if row is None else (row["card_limit"], row["tier"])


def main() -> None:
    def benchmark_args(bootstrap: str, args: argparse.Namespace) -> None:
        benchmark(
            bootstrap,
            args.records,
            args.keys,
            args.right_every,
            args.partitions,
            args.only,
            args.rounds,
        )

    parser = benchmark_parser(__doc__, records=1_000_000, keys=100_000)
    parser.add_argument(
        "--right-every", type=int, default=10, help="one limit change per this many payments"
    )
    run_cli(parser, CONTENDERS, run_contender, benchmark_args)


if __name__ == "__main__":
    main()
