"""Model monitoring on /metrics: a model step's records, batches, scoring time and score
histogram per version, served beside the step counters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from model_helpers import fraud_model
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from headwater import App
from headwater.models.monitoring import SCORE_BINS
from headwater.runtime.loop.executor import Executor
from headwater.runtime.loop.local import _Capture, _TemporaryStores, make_source
from headwater.runtime.loop.model_metrics import watch_models
from headwater.runtime.loop.step_metrics import StepCounters


def _samples(counters: StepCounters) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(counters.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("headwater_model_")
    }


def test_a_model_step_counts_records_batches_time_and_its_scores_per_tenth(
    tmp_path: Path,
) -> None:
    model_file = fraud_model(tmp_path)
    app = App("scoring")
    app.dataframe(app.topic("payments")).predict(model_file).to_topic(app.topic("scores"))
    step = next(n["id"] for n in app.describe()["nodes"] if n["kind"] == "predict")
    root = app.pipelines()["payments"]
    counters = StepCounters()
    watch_models(counters, [root])
    topic = root.operator.topic  # type: ignore[attr-defined]
    executor = Executor(root, topic, _Capture(), app.on_error, None, _TemporaryStores(), counters)
    rng = np.random.default_rng(4)
    batches = [
        [
            {"amount": float(a), "night": int(n)}
            for a, n in zip(rng.lognormal(3, 1, size), rng.integers(0, 2, size), strict=True)
        ]
        for size in (40, 25)
    ]
    for batch in batches:
        executor.process(make_source(app.topic("payments"), batch))

    found = _samples(counters)
    labels: tuple[tuple[str, str], ...] = (
        ("model", str(model_file)),
        ("step", step),
        ("version", ""),
    )
    assert found[("headwater_model_records_total", labels)] == 65
    assert found[("headwater_model_batches_total", labels)] == 2
    assert 0 < found[("headwater_model_batch_seconds_total", labels)] < 10
    # The histogram is that of the model's own probabilities over both batches.
    rows: list[dict[str, Any]] = [r for b in batches for r in b]
    probabilities = joblib.load(model_file).predict_proba(pd.DataFrame(rows))[:, 1]
    expected = np.bincount(
        np.minimum((probabilities * SCORE_BINS).astype(int), SCORE_BINS - 1), minlength=SCORE_BINS
    )
    bins = [
        found[("headwater_model_scores_total", tuple(sorted((*labels, ("bin", str(i))))))]
        for i in range(SCORE_BINS)
    ]
    assert bins == expected.tolist()


def test_an_app_without_a_model_step_serves_no_model_counters() -> None:
    app = App("plain")
    app.dataframe(app.topic("orders")).to_topic(app.topic("copies"))
    counters = StepCounters()
    watch_models(counters, app.pipelines().values())
    assert _samples(counters) == {}


def _refuses_large_amounts(df: pd.DataFrame) -> pd.DataFrame:
    if (df["amount"] > 1000).any():
        raise ValueError("an amount over 1000")
    return df


def test_a_batch_rerun_record_by_record_counts_each_record_once(tmp_path: Path) -> None:
    # A step after the model fails on one record: the batch's first pass is discarded and it
    # runs again record by record, each record scored again; only the pass kept counts.
    app = App("scoring", on_error="dead-letter")
    scored = app.dataframe(app.topic("payments")).predict(fraud_model(tmp_path))
    scored.map_batches(_refuses_large_amounts).to_topic(app.topic("scores"))
    root = app.pipelines()["payments"]
    counters = StepCounters()
    watch_models(counters, [root])
    topic = root.operator.topic  # type: ignore[attr-defined]
    capture = _Capture()
    executor = Executor(root, topic, capture, app.on_error, None, _TemporaryStores(), counters)
    batch = [{"amount": float(10 + i), "night": i % 2} for i in range(30)]
    batch[7]["amount"] = 5000.0
    executor.process(make_source(app.topic("payments"), batch))

    assert len(capture.dead) == 1
    found = {name: value for (name, _), value in _samples(counters).items()}
    assert found["headwater_model_records_total"] == 30
    assert found["headwater_model_batches_total"] == 30  # one score call per record kept
    assert (
        sum(v for (name, _), v in _samples(counters).items() if name.endswith("scores_total")) == 30
    )
