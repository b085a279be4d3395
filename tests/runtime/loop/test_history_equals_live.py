"""One pipeline, two modes, equal answers: a bounded live run through the broker (three
partitions, small batches, partitions read interleaved as they are fetched) and runs over history
of the same records (Parquet files, a DataFrame, a differently interleaved order) produce exactly
the same records, for every window kind, an interval join of two inputs, a running aggregate
and a keyed process function with timers.

The records are randomized but on time: out of order by less than the watermark bound in every
interleaving, so no mode drops one as late, and each customer's records keep their order (count
windows depend on it, as in every engine). Amounts are multiples of 1/4, so float sums are exact
whatever the batches they are added in.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from integration_helpers import FAST_GROUP, produce_records, read_topic, run_bounded

from headwater import App, agg, windows
from headwater.runtime.operators.repartition import murmur2_partition
from headwater.runtime.operators.timers import ProcessContext
from headwater.sources import FileSource, FrameSource

pytestmark = pytest.mark.broker

BASE_TS = 1_700_000_000_000
BOUND_MS = 2_000
PARTITIONS = 3
BUCKET_MS = 5_000
KINDS = {
    "tumbling": windows.tumbling("3s"),
    "hopping": windows.hopping("4s", step="2s"),
    "sliding": windows.sliding("2s"),
    "session": windows.session("1500ms"),
    "tumbling_count": windows.tumbling_count(4),
    "hopping_count": windows.hopping_count(4, step=2),
}


def orders(count: int, seed: int) -> list[dict[str, Any]]:
    """Order events ~150 ms apart, each up to 400 ms out of order, amounts in quarters."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        rows.append(
            {
                "id": i,
                "customer": f"c{rng.randrange(7)}",
                "ts": BASE_TS + i * 150 - rng.randrange(400),
                "amount": rng.randrange(-200, 2_000) / 4,
                "sku": f"s{rng.randrange(4)}",
            }
        )
    return rows


def payments(count: int, seed: int) -> list[dict[str, Any]]:
    """Payments of the same customers ~200 ms apart, each up to 400 ms out of order."""
    rng = random.Random(seed + 1)
    return [
        {
            "pid": i,
            "customer": f"c{rng.randrange(7)}",
            "ts": BASE_TS + i * 200 - rng.randrange(400),
            "paid": rng.randrange(1, 400) / 4,
        }
        for i in range(count)
    ]


def bucket_totals(value: dict[str, Any], ctx: ProcessContext) -> None:
    """Adds each order to its customer's 5 s bucket; the bucket's timer reports it."""
    due = (ctx.timestamp // BUCKET_MS + 1) * BUCKET_MS
    n, total = ctx.state.get(f"b{due}", (0, 0.0))
    ctx.state.set(f"b{due}", (n + 1, total + value["amount"]))
    ctx.timers.register_event_time(due)


def report_bucket(key: Any, timestamp: int, ctx: ProcessContext) -> dict[str, Any]:
    n, total = ctx.state.get(f"b{timestamp}")
    ctx.state.delete(f"b{timestamp}")
    return {"customer": key, "bucket_end": timestamp, "orders": n, "total": total}


def features_app(
    name: str, source: str, paid_topic: str, **settings: Any
) -> tuple[App, dict[str, str]]:
    """The pipeline under test: written once, run live and over history unchanged."""
    app = App(name, **settings)
    events = app.dataframe(app.topic(source, timestamp="ts", partitions=PARTITIONS))
    events = events.with_watermarks(f"{BOUND_MS}ms")
    paid = app.dataframe(app.topic(paid_topic, timestamp="ts", partitions=PARTITIONS))
    outputs: dict[str, str] = {"interval_join": f"{name}-interval-join"}
    joined = events.join_interval(
        paid.with_watermarks(f"{BOUND_MS}ms"),
        on="customer",
        lower="-1s",
        upper="1s",
        how="left",
    )
    joined.to_topic(app.topic(outputs["interval_join"]))
    grouped = events.group_by("customer")
    for kind, window in KINDS.items():
        outputs[kind] = f"{name}-{kind}"
        grouped.window(window).agg(
            n=agg.count(),
            total=agg.sum("amount"),
            avg=agg.mean("amount"),
            lo=agg.min("amount"),
            hi=agg.max("amount"),
            first_sku=agg.first("sku"),
            last_amount=agg.last("amount"),
            ids=agg.collect("id"),
            skus=agg.count_distinct("sku"),
        ).to_topic(app.topic(outputs[kind]))
    outputs["running"] = f"{name}-running"
    running = events.group_by("customer", name="running").agg_running(
        n=agg.count(), total=agg.sum("amount"), hi=agg.max("amount"), last_sku=agg.last("sku")
    )
    running.to_topic(app.topic(outputs["running"]))
    outputs["timers"] = f"{name}-timers"
    buckets = events.group_by("customer", name="buckets").process(
        bucket_totals, on_timer=report_bucket
    )
    buckets.to_topic(app.topic(outputs["timers"]))
    return app, outputs


def _canonical(rows: list[dict[str, Any]]) -> list[bytes]:
    """Records as sorted JSON text: how they read off a topic, in one order. Null fields are
    left out: a history run's output is one DataFrame per topic, where a field some records
    lack (a left join's unmatched rows have no right-side fields) reads as null."""
    return sorted(
        orjson.dumps({k: v for k, v in r.items() if v is not None}, option=orjson.OPT_SORT_KEYS)
        for r in rows
    )


def _history_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    values = frame.drop("_key", "_timestamp")
    return [orjson.loads(orjson.dumps(r)) for r in values.to_dicts()]


def _interleaved(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The records as another reader could meet them: partition by partition in runs of
    random length, each partition (and so each customer) in its own order, none more than
    800 ms of event time ahead of the others."""
    rng = random.Random(seed)
    queues = [
        [r for r in rows if murmur2_partition(r["customer"].encode(), PARTITIONS) == p]
        for p in range(PARTITIONS)
    ]
    out: list[dict[str, Any]] = []
    queue = queues[0]
    while any(queues):
        behind = min(q[0]["ts"] for q in queues if q)
        ready = [q for q in queues if q and q[0]["ts"] <= behind + 800]
        if queue not in ready or rng.random() < 0.5:  # stay on a partition for a while
            queue = rng.choice(ready)
        out.append(queue.pop(0))
    return out


@pytest.mark.parametrize(
    ("seed", "guarantee"), [(3, "at-least-once"), (11, "exactly-once")], ids=["seed3", "seed11"]
)
def test_a_bounded_live_run_equals_history_from_files_and_frames(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    seed: int,
    guarantee: str,
) -> None:
    rows, paid = orders(600, seed), payments(450, seed)
    source = make_topic("equal-orders", partitions=PARTITIONS)
    paid_topic = make_topic("equal-payments", partitions=PARTITIONS)
    for topic, records in ((source, rows), (paid_topic, paid)):
        produce_records(
            bootstrap,
            topic,
            [(r["customer"].encode(), orjson.dumps(r), None, None) for r in records],
        )
    live, outputs = features_app(
        unique("equal-live"),
        source,
        paid_topic,
        broker=bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.3,
        max_batch_records=20,
        state_dir=tmp_path / "state",
        guarantee=guarantee,
    )
    run_bounded(live)
    got_live = {
        kind: _canonical([orjson.loads(m.value()) for m in read_topic(bootstrap, topic)])
        for kind, topic in outputs.items()
    }

    frame = pl.DataFrame(rows)
    folder = tmp_path / "history"
    folder.mkdir()
    frame.slice(0, 250).write_parquet(folder / "orders-1.parquet")
    frame.slice(250).write_parquet(folder / "orders-2.parquet")
    paid_frame = pl.DataFrame(paid)
    inputs = {
        "parquet files": (
            FileSource(folder, time="ts", chunk_rows=64),
            FrameSource(paid_frame, time="ts", chunk_rows=48),
        ),
        "a DataFrame": (
            FrameSource(frame.to_pandas(), time="ts", chunk_rows=1_000),
            FrameSource(paid_frame.to_pandas(), time="ts", chunk_rows=1_000),
        ),
        "interleaved": (
            FrameSource(pl.DataFrame(_interleaved(rows, seed)), time="ts", chunk_rows=7),
            FrameSource(pl.DataFrame(_interleaved(paid, seed)), time="ts", chunk_rows=5),
        ),
    }
    for label, (history_orders, history_paid) in inputs.items():
        app, history_outputs = features_app(unique("equal-history"), source, paid_topic)
        result = app.run_history({source: history_orders, paid_topic: history_paid})
        assert result.dead_letters.is_empty(), label
        for kind, live_rows in got_live.items():
            got = _canonical(_history_rows(result.outputs[history_outputs[kind]]))
            assert len(got) == len(live_rows) and got == live_rows, (label, kind)
    assert {k: len(v) for k, v in got_live.items()}["running"] == len(rows)
    assert all(got_live.values())
