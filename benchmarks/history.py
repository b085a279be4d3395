"""History benchmark: the windowed-features template's pipeline over history, against the same
pipeline live and against a hand-written Polars computation of the same result.

The pipeline is the one the platform's ``windowed-features`` template deploys: purchases
(``{"user", "amount", "ts"}``) with a 5 s watermark bound, ``amount > 0``, then per user and
1-minute tumbling event-time window the count, sum, mean and max of ``amount``. Amounts are
whole numbers, so every contender's sums are exact and the results are compared for equality.

1. ``history``: ``app.run_history({"purchases": FileSource(folder, time="ts")})`` over Parquet
   files of ``--records`` purchases (10M by default), no broker;
2. ``polars``: the same result by hand: ``scan_parquet``, filter, ``group_by`` user and window,
   ``agg``; the ceiling a single-purpose batch job reaches;
3. ``live``: the same ``App`` pipeline through the broker over ``--live-records`` purchases
   (1M by default: a live run over 10M would take minutes for the same rate), timed from its
   first batch to its final checkpoint as in the other benchmarks.

Each prints records per second; the ratios say how much faster history mode is than live and
how far it is from hand-written Polars (docs/benchmarks.md records a run).

    python benchmarks/history.py                                       # 10M, 1M live
    python benchmarks/history.py --records 1000000 --live-records 200000   # a quick run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import create_topics, produce_input  # noqa: E402
from _contenders import run_headwater_app  # noqa: E402

BASE_TS = 1_764_000_000_000
WINDOW_MS = 60_000
FEATURES = ["user", "window_start", "window_end", "purchases", "total", "mean_amount", "max_amount"]


def purchases(count: int, users: int = 1_000, seed: int = 7) -> pl.DataFrame:
    """``count`` purchases 6 ms apart, each up to 2 s out of order (within the 5 s bound)."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "user": pl.Series(rng.integers(0, users, count)).cast(pl.String).str.replace(r"^", "u"),
            "amount": rng.integers(-20, 500, count).astype(np.float64),
            "ts": BASE_TS + np.arange(count, dtype=np.int64) * 6 - rng.integers(0, 2_000, count),
        }
    )


def build(app: Any, source: str, sink: str) -> None:
    """The windowed-features template's pipeline (platform/projects/templates)."""
    from headwater import agg, windows

    purchases = app.topic(source, value="json", timestamp="ts")
    features = app.topic(sink, value="json")
    sdf = app.dataframe(purchases).with_watermarks("5s", idle_timeout="1m")
    sdf = sdf[sdf["amount"] > 0]
    per_user = (
        sdf.group_by("user")
        .window(windows.tumbling("1m"))
        .agg(
            purchases=agg.count(),
            total=agg.sum("amount"),
            mean_amount=agg.mean("amount"),
            max_amount=agg.max("amount"),
        )
    )
    per_user.to_topic(features)


def run_history(folder: Path) -> tuple[float, pl.DataFrame]:
    from headwater import App
    from headwater.sources import FileSource

    app = App("history-bench")
    build(app, "purchases", "features")
    started = time.perf_counter()
    result = app.run_history({"purchases": FileSource(folder, time="ts")})
    return time.perf_counter() - started, result.outputs["features"]


def run_polars(folder: Path) -> tuple[float, pl.DataFrame]:
    started = time.perf_counter()
    frame = (
        pl.scan_parquet(folder / "*.parquet")
        .filter(pl.col("amount") > 0)
        .with_columns(window_start=pl.col("ts") // WINDOW_MS * WINDOW_MS)
        .group_by("user", "window_start")
        .agg(
            purchases=pl.len(),
            total=pl.col("amount").sum(),
            mean_amount=pl.col("amount").mean(),
            max_amount=pl.col("amount").max(),
        )
        .with_columns(window_end=pl.col("window_start") + WINDOW_MS)
        .collect()
    )
    return time.perf_counter() - started, frame


def run_live(bootstrap: str, frame: pl.DataFrame, partitions: int) -> float:
    source, sink = f"purchases-{uuid.uuid4().hex[:6]}", f"features-{uuid.uuid4().hex[:6]}"
    create_topics(bootstrap, [source, sink], partitions)
    events = [(r["user"].encode(), orjson.dumps(r)) for r in frame.iter_rows(named=True)]
    produce_input(bootstrap, source, events)
    timing = run_headwater_app("history-live", build, bootstrap, source, sink, len(events))
    if timing.consumed < len(events):
        raise RuntimeError(f"the live run read {timing.consumed} of {len(events)} purchases")
    return timing.end - timing.first


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return (
        frame.select(FEATURES)
        .with_columns(pl.col("purchases").cast(pl.Int64))
        .sort("user", "window_start")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--live-records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--broker", help="bootstrap servers; default: start a local Tansu")
    parser.add_argument("--no-live", action="store_true", help="skip the live run")
    args = parser.parse_args()

    data = purchases(args.records)
    folder = Path(tempfile.mkdtemp(prefix="hw-history-bench-"))
    files = 8
    for n in range(files):  # files in name order hold the purchases in order
        part = data.slice(n * args.records // files, args.records // files + 1)
        part.write_parquet(folder / f"purchases-{n:02d}.parquet")

    # Imports and the first Polars plan outside the timing: both contenders start warm.
    warm = folder.with_suffix(".warm.parquet")
    purchases(10_000).write_parquet(warm)
    run_history(warm)

    polars_s, by_hand = run_polars(folder)
    history_s, history = run_history(folder)
    if not canonical(history).equals(canonical(by_hand)):
        raise RuntimeError("history mode and the Polars computation disagree")
    print(f"pipeline: windowed-features template, {args.records:,} purchases")
    print(f"history  {args.records / history_s:>12,.0f} records/s  ({history_s:.2f} s)")
    print(f"polars   {args.records / polars_s:>12,.0f} records/s  ({polars_s:.2f} s)")
    print(f"results: {history.height:,} windows, equal")
    if not args.no_live:
        live_frame = data.slice(0, args.live_records)
        if args.broker:
            live_s = run_live(args.broker, live_frame, args.partitions)
        else:
            from headwater.kafka.tansu import TansuBroker

            with TansuBroker() as broker:
                live_s = run_live(broker.bootstrap_servers, live_frame, args.partitions)
        live_rate = args.live_records / live_s
        print(f"live     {live_rate:>12,.0f} records/s  ({live_s:.2f} s, {args.live_records:,})")
        print(f"history / live: {args.records / history_s / live_rate:.1f}x")
    print(f"polars / history: {history_s / polars_s:.1f}x")


if __name__ == "__main__":
    main()
