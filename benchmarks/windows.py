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
    from headwater import App
    from headwater.runtime.checkpoint import Checkpoint
    from headwater.runtime.executor import Executor

    state_dir = Path(tempfile.mkdtemp(prefix="hw-bench-state-"))
    app = App(
        f"bench-hw-windows-{uuid.uuid4().hex[:8]}",
        broker=bootstrap,
        consumer_config=dict(CONSUMER),
        producer_config=dict(PRODUCER),
        state_dir=state_dir,
        commit_interval=COMMIT_INTERVAL,
    )
    build_headwater(app, source, sink)

    # Observe the run from outside: the first batch, the input count, the final checkpoint.
    observed: dict[str, Any] = {"first": 0.0, "end": 0.0, "consumed": 0, "stopping": False}
    process, commit = Executor.process, Checkpoint.commit

    def observed_process(executor: Executor, batch: Any) -> None:
        if not observed["first"]:
            observed["first"] = time.time()
        process(executor, batch)
        observed["consumed"] += len(batch)
        if observed["consumed"] >= records and not observed["stopping"]:
            observed["stopping"] = True
            app.stop()

    def observed_commit(checkpoint: Checkpoint, *args: Any, **kwargs: Any) -> Any:
        result = commit(checkpoint, *args, **kwargs)
        if observed["stopping"] and not observed["end"]:
            observed["end"] = time.time()  # outputs, changelog and offsets committed
        return result

    Executor.process = observed_process  # type: ignore[method-assign]
    Checkpoint.commit = observed_commit  # type: ignore[method-assign]
    watchdog = threading.Timer(timeout, app.stop)  # a stuck run ends, and reports too few
    watchdog.start()
    try:
        app.run()
    finally:
        watchdog.cancel()
        Executor.process, Checkpoint.commit = process, commit  # type: ignore[method-assign]
        shutil.rmtree(state_dir, ignore_errors=True)
    return Timing(observed["first"], observed["end"], observed["consumed"], -1)


def run_quix(bootstrap: str, source: str, sink: str, records: int) -> Timing:
    """Quix Streams in its own virtualenv (created on demand), reporting JSON on stdout."""
    python = ensure_peer_venv()
    settings = {
        "consumer": CONSUMER,
        "producer": PRODUCER,
        "commit_interval": COMMIT_INTERVAL,
        "window_ms": WINDOW_MS,
    }
    command = [str(python), str(HERE / "peers" / "quix_windows.py"), bootstrap, source, sink]
    command += [str(records), json.dumps(settings)]
    return run_timed(command)


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "raw-copy":
        return run_raw(bootstrap, source, sink, records, transform=False)
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
def spawn(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "quix":
        return run_quix(bootstrap, source, sink, records)
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
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run ``contenders`` over ``records`` events, ``rounds`` times in turn (so drift in the
    machine's load hits each alike); returns the median msg/s per contender."""
    token = uuid.uuid4().hex[:8]
    source = f"bench-windowed-{token}"
    sinks = {(n, r): f"bench-win-{n}-{r}-{token}" for n in contenders for r in range(rounds)}
    create_topics(bootstrap, [source, *sinks.values()], partitions)
    events = windowed_events(records, keys)
    expected = expected_windows(events)
    size = sum(len(v) for _, v in events) / len(events)
    say(
        f"{records} events over {keys} keys ({size:.0f} bytes of JSON on average, "
        f"{partitions} partitions, commit every {COMMIT_INTERVAL:g} s); {PIPELINE}: "
        f"{len(expected)} closed windows"
    )
    started = time.monotonic()
    produce_input(bootstrap, source, events)
    say(f"input produced in {time.monotonic() - started:.1f} s")

    def run(name: str, r: int) -> tuple[Timing, str | None]:
        sink = sinks[(name, r)]
        timing = spawn(name, bootstrap, source, sink, records)
        if name == "raw-copy":
            return timing, None if len(read_values(bootstrap, sink)) == records else "count"
        start_field = "start" if name == "quix" else "window_start"
        return timing, check_output(bootstrap, sink, expected, start_field)

    rates = run_rounds(contenders, rounds, records, run, say, width=10)
    if "headwater" in rates:
        say("")
        for name, label in (("raw-copy", "ceiling"), ("quix", "Quix")):
            if name in rates:
                say(f"Headwater / {label:<7}: {rates['headwater'] / rates[name]:.2f}x")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=1_000)
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
    run = (args.records, args.keys, args.partitions, args.only, args.rounds)
    if args.broker:
        benchmark(args.broker, *run)
        return
    from headwater.kafka.broker import LocalBroker

    with LocalBroker() as broker:
        benchmark(broker.bootstrap_servers, *run)


if __name__ == "__main__":
    main()
