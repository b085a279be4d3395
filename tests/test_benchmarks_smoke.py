"""The benchmarks' Headwater contenders, small, against the test broker.

Speed is not tested here: only that each benchmark runs the pipeline it claims to and that
its output is exactly right (the records that pass the filter, each with the assigned column;
the closed windows, each with its count, sum and mean; each payment with its card's limit as of
its time, or its card's row from PostgreSQL; each payment with the model's own prediction and
score).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import _latency
import history
import joins
import ml
import stateless
import windows
from _common import (
    EUR_RATE,
    create_topics,
    order_events,
    passes,
    produce_input,
    read_values,
)

pytestmark = pytest.mark.broker


def test_headwater_contender_outputs_exactly_the_filtered_records(
    bootstrap: str, unique: Callable[[str], str]
) -> None:
    events = order_events(2_000)
    source, sink = unique("bench-orders"), unique("bench-out")
    create_topics(bootstrap, [source, sink], partitions=2)
    produce_input(bootstrap, source, events)

    timing = stateless.run_headwater(bootstrap, source, sink, len(events), timeout=120)

    assert timing.consumed == len(events)
    assert 0 < timing.first <= timing.end
    kept = [v for v in (orjson.loads(value) for _, value in events) if passes(v)]
    assert 0 < len(kept) < len(events)  # the filter really filters
    out = [orjson.loads(v) for v in read_values(bootstrap, sink)]
    assert len(out) == len(kept)
    assert sorted(v["order_id"] for v in out) == sorted(v["order_id"] for v in kept)
    assert all(v["amount_eur"] == pytest.approx(v["amount"] * EUR_RATE) for v in out)
    expected = stateless.digest(kept)
    assert stateless.check_output(bootstrap, sink, expected, assigned=True) is None


def test_windows_contender_outputs_exactly_the_closed_windows(
    bootstrap: str, unique: Callable[[str], str]
) -> None:
    events = windows.windowed_events(3_000, keys=20, step_ms=10)  # 30 s: 3 windows
    source, sink = unique("bench-windowed"), unique("bench-win")
    create_topics(bootstrap, [source, sink], partitions=2)
    produce_input(bootstrap, source, events)

    timing = windows.run_headwater(bootstrap, source, sink, len(events), timeout=120)

    assert timing.consumed == len(events)
    assert 0 < timing.first <= timing.end
    expected = windows.expected_windows(events)
    assert {start for _, start in expected} == {windows.BASE_TS, windows.BASE_TS + 10_000}
    assert len(expected) == 40  # every key in both closed windows; the third is still open
    out = [orjson.loads(v) for v in read_values(bootstrap, sink)]
    assert len(out) == len(expected)
    first = next(v for v in out if (v["key"], v["window_start"]) == next(iter(expected)))
    count, total, mean = expected[(first["key"], first["window_start"])]
    assert (first["count"], first["sum"]) == (count, total)
    assert first["mean"] == pytest.approx(mean, rel=1e-9)
    assert first["window_end"] == first["window_start"] + 10_000
    assert windows.check_output(bootstrap, sink, expected, "window_start") is None


def test_history_benchmark_computes_what_polars_computes(tmp_path: Path) -> None:
    data = history.purchases(20_000, users=30)
    data.slice(0, 12_000).write_parquet(tmp_path / "purchases-00.parquet")
    data.slice(12_000).write_parquet(tmp_path / "purchases-01.parquet")
    _, ours = history.run_history(tmp_path)
    _, by_hand = history.run_polars(tmp_path)
    assert ours.height > 30 and history.canonical(ours).equals(history.canonical(by_hand))


def test_asof_join_contender_outputs_the_batch_asof_join(
    bootstrap: str, unique: Callable[[str], str]
) -> None:
    left = joins.payments(3_000, cards=60)
    right = joins.limit_changes(300, cards=50, span_ms=3_000)
    source, limits, sink = unique("bench-pay"), unique("bench-limits"), unique("bench-asof")
    create_topics(bootstrap, [source, limits, sink], partitions=2)
    produce_input(bootstrap, limits, right)
    joins.produce_closing(bootstrap, limits, 2, "right")
    produce_input(bootstrap, source, left)
    joins.produce_closing(bootstrap, source, 2, "left")
    inputs = len(left) + len(right) + 4

    timing = joins.run_headwater_asof(bootstrap, f"{source},{limits}", sink, inputs, timeout=180)

    assert timing.consumed == inputs
    expected = joins.expected_asof(left, right)
    assert 0 < sum(v is None for v in expected.values()) < len(expected) / 2  # some had none yet
    assert len(set(expected.values())) > 50  # and the others many different limits
    found = joins.joined_values(bootstrap, sink, lambda v: v.get("limit"))
    assert joins.check_exact(found, expected) is None


def test_lookup_join_contender_outputs_each_payment_with_its_row(
    bootstrap: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    left = joins.payments(2_000, cards=110)
    rows = joins.card_rows(100)
    table = unique("bench_cards").replace("-", "_")
    source, sink = unique("bench-pay"), unique("bench-lookup")
    create_topics(bootstrap, [source, sink], partitions=2)
    produce_input(bootstrap, source, left)
    joins.create_table(table, rows)
    monkeypatch.setenv("HEADWATER_BENCH_TABLE", table)
    monkeypatch.setenv("HEADWATER_BENCH_CACHE_SIZE", "100")
    try:
        timing = joins.run_headwater_lookup(bootstrap, source, sink, len(left), timeout=180)
    finally:
        joins.drop_table(table)

    assert timing.consumed == len(left)
    expected = joins.expected_lookup(left, rows)
    assert 0 < sum(v is None for v in expected.values()) < len(expected) / 4  # cards with no row
    found = joins.joined_values(bootstrap, sink, joins.headwater_row)
    assert joins.check_exact(found, expected) is None


@pytest.mark.parametrize("framework", ["sklearn", "onnx"])
def test_model_contender_outputs_the_models_own_scores(
    framework: str,
    bootstrap: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    ml.train_models(tmp_path, samples=2_000)
    monkeypatch.setenv("HEADWATER_BENCH_MODEL_DIR", str(tmp_path))
    events = ml.payments(2_000)
    source, sink = unique("bench-scoring"), unique("bench-scored")
    create_topics(bootstrap, [source, sink], partitions=2)
    produce_input(bootstrap, source, events)

    timing = ml.run_headwater(framework, bootstrap, source, sink, len(events), timeout=180)

    assert timing.consumed == len(events)
    expected = ml.expected_scores(tmp_path, framework, events)
    assert 0 < sum(label for label, _ in expected.values()) < len(expected)  # both classes
    assert ml.check_output(bootstrap, sink, expected, ml.TOLERANCE[framework]) is None


def test_model_latency_run_times_every_scored_payment_from_produce_to_receipt(
    bootstrap: str, tmp_path: Path
) -> None:
    ml.train_models(tmp_path, samples=2_000)
    values = [orjson.loads(v) for _, v in ml.payments(500)]
    start = ml.latency_contender("headwater", "sklearn", bootstrap, tmp_path)

    # 50 payments a second for 12 s; the app joins within the first 4 s, which are left out.
    result = _latency.measure(bootstrap, "headwater-sklearn", start, values, "id", 50, 12, 4, 2)

    assert 0 < result["records"] <= 50 * 12  # at most every payment produced, each once
    assert 0 < result["p50"] <= result["p95"] <= result["p99"] <= result["max"] < 60_000
