"""The online-learning step: predict then learn per record, one model per key or partition,
with the same results as the learner run directly over the records in order."""

from __future__ import annotations

import json
import random
from typing import Any

import polars as pl
import pytest
from river import linear_model, metrics, preprocessing

from headwater import App, ConfigError
from headwater.models.online import LearnerState, OnlineLearner
from headwater.plan import Plan


def classifier() -> Any:
    return preprocessing.StandardScaler() | linear_model.LogisticRegression()


def payments(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        amount = rng.uniform(0, 100)
        rows.append({"id": i, "card": rng.choice("abc"), "amount": amount, "fraud": amount > 70})
    return rows


def test_each_key_learns_in_order_as_the_learner_does_directly() -> None:
    rows = payments(300)
    app = App("learning")
    sdf = app.dataframe(app.topic("payments"))
    learned = sdf.learn(
        classifier, target="fraud", features=["amount"], metric=metrics.Accuracy, prefix="fraud_"
    )
    out = learned.test(rows, keys=[r["card"] for r in rows])

    learner = OnlineLearner(classifier, "fraud", ["amount"], metrics.Accuracy)
    states: dict[object, LearnerState] = {}
    expected = learner.step_by_key(pl.DataFrame(rows), "card", states)
    assert out["id"].to_list() == expected["id"].to_list()
    assert out["fraud_prediction"].to_list() == expected["prediction"].to_list()
    assert out["fraud_score"].to_list() == expected["score"].to_list()
    assert out["fraud_Accuracy"].to_list() == expected["Accuracy"].to_list()
    assert out["fraud_Accuracy"].iloc[-1] > 0.8  # the models did learn
    assert {k: s.learned for k, s in states.items()} == {
        c: sum(r["card"] == c for r in rows) for c in "abc"
    }


def test_one_model_per_partition_without_keys_and_unlabelled_records_only_scored() -> None:
    rows = [{"x": 1.0, "y": 10.0}, {"x": 1.0, "y": 10.0}, {"x": 1.0}, {"x": 1.0, "y": None}]
    app = App("learning")
    sdf = app.dataframe(app.topic("readings"))
    learned = sdf.learn(
        linear_model.LinearRegression, target="y", features=["x"], metric=metrics.MAE, per_key=False
    )
    out = learned.test(rows)  # no keys: one model for the partition
    learner = OnlineLearner(linear_model.LinearRegression, "y", ["x"], metrics.MAE)
    state = learner.new_state()
    expected = learner.step(pl.DataFrame(rows), state)
    assert out["prediction"].to_list() == expected["prediction"].to_list()
    assert out["MAE"].to_list() == expected["MAE"].to_list()
    assert state.learned == 2
    # The last two records were only scored: the metric did not move.
    assert out["MAE"].iloc[2] == out["MAE"].iloc[3] == out["MAE"].iloc[1]


def test_a_keyed_model_needs_record_keys() -> None:
    app = App("learning")
    learned = app.dataframe(app.topic("readings")).learn(
        linear_model.LinearRegression, target="y", features=["x"]
    )
    out = learned.test([{"x": 1.0, "y": 2.0}])
    assert len(out) == 0
    assert "needs a record key" in out.attrs["dead_letters"]["reason"].iloc[0]


def test_the_plan_names_the_step_and_its_store_and_compiles_again_from_json() -> None:
    app = App("learning")
    sdf = app.dataframe(app.topic("payments"))
    sdf.learn(classifier, target="fraud", features=["amount"], store="fraud-models").to_topic(
        app.topic("scores")
    )
    plan = app.plan()
    doc = json.loads(json.dumps(plan.to_json()))
    step = next(s for s in doc["steps"] if s["kind"] == "learn")
    assert step["params"]["target"] == "fraud"
    assert step["params"]["store"] == "fraud-models"
    assert "fraud-models" in plan.stores
    rebuilt = Plan.from_json(doc, plan.callables.entries())
    assert rebuilt.to_json() == plan.to_json()


def test_a_model_that_is_not_a_factory_is_an_error_at_build_time() -> None:
    app = App("learning")
    sdf = app.dataframe(app.topic("payments"))
    with pytest.raises(ConfigError, match="must make a river model"):
        sdf.learn(classifier(), target="fraud", features=["amount"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="features must be a list"):
        sdf.learn(classifier, target="fraud", features="amount")
