"""The model step: whole batches scored in one call, features checked before any record."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from headwater import App, ConfigError
from headwater.plan import Plan


@pytest.fixture(scope="module")
def fraud_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(1)
    history = pd.DataFrame({"amount": rng.lognormal(3, 1, 400), "night": rng.integers(0, 2, 400)})
    history["fraud"] = ((history["amount"] > 40) & (history["night"] == 1)).astype(int)
    model = LogisticRegression(max_iter=500).fit(history[["amount", "night"]], history["fraud"])
    path = tmp_path_factory.mktemp("models") / "fraud.joblib"
    joblib.dump(model, path)
    return path


def test_a_batch_is_scored_and_keeps_its_columns(fraud_model: Path) -> None:
    app = App("scoring")
    sdf = app.dataframe(app.topic("payments"))
    sdf["night"] = (sdf["hour"] < 6).cast(int)
    scored = sdf.predict(fraud_model, prefix="fraud_")
    out = scored.test(
        [
            {"id": "p1", "amount": 150.0, "hour": 2},
            {"id": "p2", "amount": 4.0, "hour": 14},
        ]
    )
    assert out["id"].to_list() == ["p1", "p2"]
    assert out["fraud_prediction"].to_list() == [1, 0]
    assert out["fraud_score"].iloc[0] > 0.5 > out["fraud_score"].iloc[1]


def test_the_plan_names_the_model_and_compiles_again_from_json(fraud_model: Path) -> None:
    app = App("scoring")
    sdf = app.dataframe(app.topic("payments"))
    sdf.predict(fraud_model).to_topic(app.topic("scores"))
    plan = app.plan()
    doc = json.loads(json.dumps(plan.to_json()))
    step = next(s for s in doc["steps"] if s["kind"] == "predict")
    assert step["params"]["model"] == str(fraud_model)
    assert step["params"]["features"] == ["amount", "night"]
    assert step["params"]["framework"] == "sklearn"
    rebuilt = Plan.from_json(doc, plan.callables.entries())
    assert rebuilt.to_json() == plan.to_json()


def test_a_feature_the_pipeline_lacks_is_an_error_at_build_time(fraud_model: Path) -> None:
    app = App("scoring")
    sdf = app.dataframe(app.topic("payments"))[["id", "amount"]]  # the plan knows the columns
    with pytest.raises(ConfigError, match=r"missing feature column\(s\) 'night'"):
        sdf.predict(fraud_model)
    with pytest.raises(ConfigError, match="does not exist"):
        sdf.predict(fraud_model.with_name("nothing.joblib"))


def test_a_mistyped_feature_found_in_the_first_batch_goes_to_the_dead_letters(
    fraud_model: Path,
) -> None:
    app = App("scoring")
    scored = app.dataframe(app.topic("payments")).predict(fraud_model)
    out = scored.test([{"amount": "a lot", "night": 1}])
    assert len(out) == 0
    dead = out.attrs["dead_letters"]
    assert len(dead) == 1
    assert "'amount' holds String values, the model expects number" in dead["reason"].iloc[0]
