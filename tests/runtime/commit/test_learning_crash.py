"""An app that predicts, then learns, record by record with river models (one per key, and one
per input partition), under exactly-once, SIGKILLed at random moments (while processing and
while recovering its stores) and restarted: its read_committed output and its final models
equal those of an uninterrupted run, the learner run directly over the input in order."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from crash_harness import CrashHarness, Workload, changelog_state, run_with_kills
from kafka_helpers import read_all, skip_on_tansu
from river import linear_model, metrics, preprocessing

from headwater.models.online import LearnerState, OnlineLearner

pytestmark = pytest.mark.broker

RECORDS = 12_000
KEYS = 60
PARTITIONS = 3

APP_SCRIPT = """
import json
import logging
import sys
import time

from river import linear_model, metrics, preprocessing

from headwater import App

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
config = json.loads(sys.argv[1])
app = App(
    config["group"],
    config["bootstrap"],
    guarantee=config["guarantee"],
    state_dir=config["state_dir"],
    commit_interval=config["commit_interval"],
    max_batch_records=config["max_batch_records"],
    consumer_config=config["consumer_config"],
)


def classifier():
    return preprocessing.StandardScaler() | linear_model.LogisticRegression()


def work(batch):
    time.sleep(config["batch_work"])  # stands for real per-batch work: kills land mid-stream
    return batch


sdf = app.dataframe(app.topic(config["source"], partitions=config["partitions"]))
sdf = sdf.map_batches(work, format="polars")
sdf["x"] = (sdf["v"] % 100) / 100
sdf["big"] = sdf["v"] > 500
keyed = sdf.learn(
    classifier, target="big", features=["x"], metric=metrics.Accuracy, store=config["store"]
)
keyed[["seq", "prediction", "score", "Accuracy"]].to_topic(app.topic(config["sink"]))
partition = sdf.learn(
    linear_model.LinearRegression, target="v", features=["x"], metric=metrics.MAE,
    per_key=False, store="per-partition",
)
partition[["seq", "prediction", "MAE"]].to_topic(app.topic(config["partition_sink"]))
app.run()
"""


def classifier() -> Any:
    return preprocessing.StandardScaler() | linear_model.LogisticRegression()


def _frame(events: list[tuple[str, int, int]]) -> pl.DataFrame:
    """The records as the app sees them after its assignments."""
    frame = pl.DataFrame(events, schema=["key", "seq", "v"], orient="row")
    return frame.with_columns(x=(pl.col("v") % 100) / 100, big=pl.col("v") > 500)


def _uninterrupted(
    workload: Workload,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, LearnerState]]:
    """What a run without crashes writes to each output, and its keyed models."""
    events = _frame(workload.events())
    keyed = OnlineLearner(classifier, "big", ["x"], metrics.Accuracy)
    models: dict[Hashable, LearnerState] = {}
    scored = keyed.step_by_key(events, "key", models)
    per_key = scored.select("key", "seq", "prediction", "score", "Accuracy").rows()
    regression = OnlineLearner(linear_model.LinearRegression, "v", ["x"], metrics.MAE)
    per_partition: list[tuple[Any, ...]] = []
    for p in range(PARTITIONS):
        part = events.filter(pl.col("key").replace_strict(workload.partition_of) == p)
        out = regression.step(part, regression.new_state())
        per_partition += out.select("key", "seq", "prediction", "MAE").rows()
    return sorted(per_key), sorted(per_partition), {str(k): s for k, s in models.items()}


def _output(bootstrap: str, topic: str, columns: list[str]) -> list[tuple[Any, ...]]:
    rows = []
    for m in read_all(bootstrap, [topic], **{"isolation.level": "read_committed"}):
        value = orjson.loads(m.value())
        rows.append((m.key().decode(), *(value[c] for c in columns)))
    return sorted(rows)


def _fingerprint(state: LearnerState) -> tuple[Any, ...]:
    """What a model learned: its weights, its scaler's statistics, its metric and count."""
    scaler, regression = state.model["StandardScaler"], state.model["LogisticRegression"]
    return (
        state.learned,
        state.metric.get(),
        dict(regression.weights),
        regression.intercept,
        dict(scaler.means),
        dict(scaler.vars),
    )


def test_online_learning_is_exact_across_sigkills_under_exactly_once(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    skip_on_tansu(broker_kind, "shows a killed transaction's records to read_committed readers")
    caplog.set_level(logging.INFO, logger="crash_harness")
    source = make_topic("lcrash-in", partitions=PARTITIONS)
    workload = Workload(RECORDS, KEYS, seed=16)
    workload.produce(bootstrap, source)
    group = unique("lcrash")
    partition_sink = f"{group}-partition"
    harness = CrashHarness(
        bootstrap,
        tmp_path,
        source=source,
        partitions=PARTITIONS,
        guarantee="exactly-once",
        commit_interval=0.3,
        max_batch_records=300,
        batch_work=0.03,
        app_script=APP_SCRIPT,
        name=group,
        settings={"store": "per-key", "partition_sink": partition_sink},
    )
    try:
        run_with_kills(harness, workload, seed=16, processing_kills=3, recovery_kills=1)
    finally:
        harness.close()
    kills = harness.kills
    assert any(k.kind == "processing" and k.outputs_flowing for k in kills), kills
    assert any(k.kind == "recovery" and k.recovering for k in kills), kills
    assert len({k.progress for k in kills if k.kind == "processing"}) >= 2, kills

    per_key, per_partition, models = _uninterrupted(workload)
    found = _output(bootstrap, harness.sink, ["seq", "prediction", "score", "Accuracy"])
    assert len(found) == RECORDS
    assert found == per_key, _first_difference(found, per_key)
    found = _output(bootstrap, partition_sink, ["seq", "prediction", "MAE"])
    assert found == per_partition, _first_difference(found, per_partition)
    # The models the changelog holds (what a replica taking a partition over starts from).
    logged = changelog_state(bootstrap, harness.group, "per-key")
    stored = {key: LearnerState.from_text(entries["learner"]) for key, entries in logged.items()}
    assert set(stored) == set(models)
    wrong = [k for k in models if _fingerprint(stored[k]) != _fingerprint(models[k])]
    assert not wrong, f"{len(wrong)} keys' models differ, e.g. {wrong[:3]}"


def _first_difference(found: list[Any], wanted: list[Any]) -> str:
    only_found = sorted(set(found) - set(wanted))
    only_wanted = sorted(set(wanted) - set(found))
    return (
        f"{len(found)} records, expected {len(wanted)}; only found {only_found[:3]}; "
        f"only expected {only_wanted[:3]}"
    )
