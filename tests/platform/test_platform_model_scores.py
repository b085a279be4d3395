"""Model monitoring in the platform: the model counters replicas serve become, per sample and
model step, points per version with records per second, scoring time, scores and drift."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from model_helpers import fraud_model
from prometheus_client import generate_latest

from headwater import App
from headwater.models.monitoring import SCORE_BINS
from headwater.platform.metrics.models import (
    REFERENCE_RECORDS,
    ModelScores,
    Totals,
)
from headwater.platform.metrics.replica import parse_replica
from headwater.runtime.loop.executor import Executor
from headwater.runtime.loop.local import _Capture, _TemporaryStores, make_source
from headwater.runtime.loop.model_metrics import watch_models
from headwater.runtime.loop.step_metrics import StepCounters

KEY = ("n2", "models:/fraud@production", "1")
T = time.time() - 600  # samples of ten minutes ago: within the hour kept


def totals(records: float, bins: list[float], batches: float = 1, seconds: float = 0.01) -> Totals:
    return Totals(records, batches, seconds, list(bins))


def low(n: float) -> list[float]:
    """``n`` scores, all in the lowest tenth."""
    return [n] + [0.0] * (SCORE_BINS - 1)


def high(n: float) -> list[float]:
    return [0.0] * (SCORE_BINS - 1) + [n]


def test_what_a_replica_serves_is_what_the_platform_reads(tmp_path: Path) -> None:
    app = App("scoring")
    app.dataframe(app.topic("payments")).predict(fraud_model(tmp_path)).to_topic(
        app.topic("scores")
    )
    root = app.pipelines()["payments"]
    counters = StepCounters()
    watch_models(counters, [root])
    topic = root.operator.topic  # type: ignore[attr-defined]
    executor = Executor(root, topic, _Capture(), app.on_error, None, _TemporaryStores(), counters)
    executor.process(
        make_source(app.topic("payments"), [{"amount": 5.0 * i, "night": i % 2} for i in range(30)])
    )
    found = parse_replica(generate_latest(counters.registry).decode()).models
    (((step, model, version), read),) = found.items()
    predict = next(n["id"] for n in app.describe()["nodes"] if n["kind"] == "predict")
    assert (step, model, version) == (predict, str(fraud_model(tmp_path)), "")
    assert (read.records, read.batches, sum(read.bins)) == (30, 1, 30)
    assert read.seconds > 0


def test_each_sample_is_a_point_of_the_version_that_scored_summed_over_replicas() -> None:
    scores = ModelScores()
    # First seen: what a counted before is not in a point; b has scored nothing yet.
    scores.observe(1, {"a": {KEY: totals(7, low(7))}, "b": {}}, now=T + 100.0)
    a = totals(107, low(107), batches=5, seconds=0.21)
    b = {KEY: totals(50, low(50), batches=1, seconds=0.1)}
    scores.observe(1, {"a": {KEY: a}, "b": b}, now=T + 105.0)
    ((step_model, points),) = scores.points(1).items()
    assert step_model == ("n2", "models:/fraud@production")
    (point,) = points
    assert point.version == "1" and point.records_per_second == pytest.approx(30.0)
    assert point.batch_ms == pytest.approx(60.0)  # 0.3 s over 5 batches (a: 4 since, b: 1)
    assert point.bins == low(150)

    # Both replicas scored with version 2 since; b restarted (it serves version 2's alone).
    v2 = ("n2", "models:/fraud@production", "2")
    scores.observe(
        1,
        {"a": {KEY: a, v2: totals(30, high(30))}, "b": {v2: totals(20, high(20))}},
        now=T + 110.0,
    )
    last = scores.points(1)[step_model][-1]
    assert (last.version, last.records_per_second) == ("2", pytest.approx(10.0))
    assert last.bins == high(50)


def test_drift_compares_a_versions_recent_scores_with_its_first() -> None:
    scores = ModelScores()
    counted = totals(0, low(0))
    scores.observe(1, {"a": {KEY: counted}}, now=T + 0.0)
    now = T
    drifts = []
    for shape in [low] * 3 + [high] * 20:
        now += 5
        step = totals(100, shape(100))
        counted = Totals(
            counted.records + step.records,
            counted.batches + 1,
            counted.seconds + 0.01,
            [x + y for x, y in zip(counted.bins, step.bins, strict=True)],
        )
        scores.observe(1, {"a": {KEY: counted}}, now=now)
        drifts.append(scores.points(1)[("n2", KEY[1])][-1].drift)
    assert drifts[0] is None  # 100 scores: no reference yet (it takes REFERENCE_RECORDS)
    assert REFERENCE_RECORDS <= 200 and drifts[1] == pytest.approx(0.0)
    assert drifts[-1] > 0.25  # a minute of scores all high, against a reference all low


def test_a_regressor_has_rates_and_no_distribution() -> None:
    scores = ModelScores()
    scores.observe(1, {"a": {KEY: totals(0, low(0))}}, now=T + 0.0)
    scores.observe(1, {"a": {KEY: totals(40, [0.0] * SCORE_BINS)}}, now=T + 4.0)
    (point,) = scores.points(1)[("n2", KEY[1])]
    assert point.bins == [] and point.drift is None and point.records_per_second == 10.0
