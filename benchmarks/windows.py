"""Windows benchmark: a tumbling 10 s event-time window per key, Headwater against the ceiling
and a peer.

Every contender reads the same pre-produced keyed events (``{"id", "key", "amount", "ts"}``,
event time in ``ts``, advancing 1 ms a record so windows keep closing; integer amounts so sums
are exact), and per key and 10 s window computes the count, sum and mean of ``amount``, writing
one result per window when it closes (``{"key", window start, window end, "count", "sum",
"mean"}``) to a fresh output topic:

1. ``raw-copy``: confluent-kafka consume -> produce of the same bytes (the ceiling);
2. ``headwater``: ``group_by("key", repartition=False).window(windows.tumbling("10s"))
   .agg(...)``, emitted on close (RocksDB state, changelog topic, checkpoints);
3. ``quix``: ``tumbling_window(10_000).agg(Count(), Sum(), Mean()).final()`` in Quix Streams
   3.28 (RocksDB state with changelog topics), run from its own virtualenv.

Each runs in its own process with the same consumer and producer settings and the same commit
interval, at at-least-once, and reports the wall-clock time of its first record and of its
final checkpoint, so group joins do not count. The harness computes every window from the
generated events and checks each contender wrote exactly the closed ones (every window but the
last, still open when the input ends), each once, with the right values.

    python benchmarks/windows.py                              # 1M records, 3 rounds
    python benchmarks/windows.py --records 100000 --rounds 1  # a quick run
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    Timing,
    average_size,
    benchmark_parser,
    read_values,
    run_benchmark,
    run_cli,
    run_peer,
    run_script,
    say_ratios,
)
from _contenders import run_headwater_app, run_raw  # noqa: E402

CONTENDERS = ("raw-copy", "headwater", "quix")
COMMIT_INTERVAL = 5.0  # seconds; both libraries' default, given to both explicitly
WINDOW_MS = 10_000
BASE_TS = 1_764_000_000_000  # a multiple of the window: the first window starts with the data
PIPELINE = "per key, tumbling 10 s event-time windows: count, sum and mean of amount, on close"

# A window's result: (key, start) -> (count, sum, mean)
Windows = dict[tuple[str, int], tuple[int, int, float]]


# The workload
def windowed_events(
    count: int, keys: int, step_ms: int = 1, seed: int = 13
) -> list[tuple[bytes, bytes]]:
    """``count`` (key, value) events over ``keys`` keys, uniformly, event time ``step_ms`` apart."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        key = f"key-{rng.randrange(keys):05d}"
        value = {
            "id": i,
            "key": key,
            "amount": rng.randrange(1, 10_000),
            "ts": BASE_TS + i * step_ms,
        }
        events.append((key.encode(), orjson.dumps(value)))
    return events


def expected_windows(events: list[tuple[bytes, bytes]]) -> Windows:
    """Every closed window's result: all windows but those of the last, which the input's
    latest event time has not passed (so no contender may close it)."""
    sums: dict[tuple[str, int], list[int]] = {}
    latest = 0
    for _, raw in events:
        value = orjson.loads(raw)
        start = value["ts"] - value["ts"] % WINDOW_MS
        entry = sums.setdefault((value["key"], start), [0, 0])
        entry[0] += 1
        entry[1] += value["amount"]
        latest = max(latest, value["ts"])
    still_open = latest - latest % WINDOW_MS
    return {w: (c, s, s / c) for w, (c, s) in sums.items() if w[1] < still_open}


# Contenders (each runs in a process of its own)
def build_headwater(app: Any, source: str, sink: str) -> None:
    """The pipeline: per key and 10 s window, count, sum and mean, on close, to ``sink``."""
    from headwater import agg, windows

    sdf = app.dataframe(app.topic(source, timestamp="ts")).with_watermarks("0s")
    # The input is keyed and partitioned by "key" already: no repartition (nor in Quix).
    grouped = sdf.group_by("key", repartition=False)
    results = grouped.window(windows.tumbling(f"{WINDOW_MS // 1000}s")).agg(
        count=agg.count(), sum=agg.sum("amount"), mean=agg.mean("amount")
    )
    results.to_topic(app.topic(sink))


def run_headwater(
    bootstrap: str, source: str, sink: str, records: int, timeout: float = 600.0
) -> Timing:
    """The pipeline as a Headwater app; stops once ``records`` inputs went through it."""
    args = (bootstrap, source, sink, records, timeout)
    return run_headwater_app("hw-windows", build_headwater, *args, commit_interval=COMMIT_INTERVAL)


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "raw-copy":
        return run_raw(bootstrap, source, sink, records)
    if name == "headwater":
        return run_headwater(bootstrap, source, sink, records)
    raise SystemExit(f"unknown contender {name!r}; use one of {', '.join(CONTENDERS)}")


# Checking outputs
def check_output(bootstrap: str, sink: str, expected: Windows, start_field: str) -> str | None:
    """None if ``sink`` holds exactly the closed windows, each once with the right values
    (means within 1e-9 relative), else what is wrong. ``start_field`` names the window start
    (``window_start`` in Headwater, ``start`` in Quix Streams)."""
    found: Windows = {}
    for raw in read_values(bootstrap, sink):
        v = orjson.loads(raw)
        window = (v["key"], v[start_field])
        if window in found:
            return f"window {window} written twice"
        found[window] = (v["count"], v["sum"], v["mean"])
    missing = [w for w in expected if w not in found]
    if missing:
        return f"{len(missing)} of {len(expected)} closed windows missing, e.g. {missing[0]}"
    extra = [w for w in found if w not in expected]
    if extra:
        return f"{len(extra)} windows that must not have closed yet, e.g. {extra[0]}"
    for window, (count, total, mean) in expected.items():
        got = found[window]
        if got[:2] != (count, total) or abs(got[2] - mean) > 1e-9 * abs(mean):
            return f"window {window}: {got} != {(count, total, mean)}"
    return None


# The harness
def benchmark(
    bootstrap: str,
    records: int,
    keys: int,
    partitions: int,
    contenders: list[str],
    rounds: int = 1,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run ``contenders`` over ``records`` events, ``rounds`` times in turn (so drift in the
    machine's load hits each alike); returns the median msg/s per contender."""
    events = windowed_events(records, keys)
    expected = expected_windows(events)
    say(
        f"{records} events over {keys} keys ({average_size(events):.0f} bytes of JSON on average, "
        f"{partitions} partitions, commit every {COMMIT_INTERVAL:g} s); {PIPELINE}: "
        f"{len(expected)} closed windows"
    )

    def run(name: str, source: str, sink: str) -> tuple[Timing, str | None]:
        if name == "quix":
            settings = {"commit_interval": COMMIT_INTERVAL, "window_ms": WINDOW_MS}
            timing = run_peer("quix_windows.py", bootstrap, source, sink, records, settings)
        else:
            timing = run_script(__file__, name, bootstrap, source, sink, records)
        if name == "raw-copy":
            return timing, None if len(read_values(bootstrap, sink)) == records else "count"
        start_field = "start" if name == "quix" else "window_start"
        return timing, check_output(bootstrap, sink, expected, start_field)

    topics = ("bench-windowed", "bench-win")
    rates = run_benchmark(bootstrap, topics, events, partitions, contenders, rounds, run, say)
    if "headwater" in rates:
        say("")
        labels = (("raw-copy", "ceiling"), ("quix", "Quix"))
        pairs = [("headwater", name, f"Headwater / {label}") for name, label in labels]
        say_ratios(rates, pairs, say, width=19)
    return rates


def main() -> None:
    def benchmark_args(bootstrap: str, args: argparse.Namespace) -> None:
        benchmark(bootstrap, args.records, args.keys, args.partitions, args.only, args.rounds)

    parser = benchmark_parser(__doc__, records=1_000_000, keys=1_000)
    run_cli(parser, CONTENDERS, run_contender, benchmark_args)


if __name__ == "__main__":
    main()
