"""Online learning: predict then learn, per key or global, and a crash replays exactly."""

from __future__ import annotations

import random

import polars as pl
from river import linear_model, metrics, preprocessing

from headwater.models.online import LearnerState, OnlineLearner


def stream(n: int, seed: int = 5) -> pl.DataFrame:
    rng = random.Random(seed)
    xs = [rng.uniform(-1, 1) for _ in range(n)]
    return pl.DataFrame(
        {
            "card": [rng.choice("ab") for _ in range(n)],
            "x": xs,
            "fraud": [x > 0.2 for x in xs],
        }
    )


def classifier() -> object:
    return preprocessing.StandardScaler() | linear_model.LogisticRegression()


def test_a_classifier_learns_as_the_stream_goes() -> None:
    learner = OnlineLearner(classifier, "fraud", ["x"], metrics.Accuracy)
    state = learner.new_state()
    out = learner.step(stream(2000), state)
    assert state.learned == 2000
    assert out["Accuracy"][-1] > 0.9
    late = out.slice(1500)
    assert (late["prediction"] == late["fraud"]).mean() > 0.95
    assert late["score"].is_between(0, 1).all()


def test_a_restart_from_the_committed_state_replays_exactly() -> None:
    learner = OnlineLearner(classifier, "fraud", ["x"], metrics.Accuracy)
    records = stream(1000)
    uninterrupted = learner.step(records, learner.new_state())

    state = learner.new_state()
    first = learner.step(records.slice(0, 600), state)
    committed = state.dumps()  # checkpoint after record 600
    learner.step(records.slice(600, 250), state)  # work that the crash loses (not committed)
    restored = LearnerState.loads(committed)
    second = learner.step(records.slice(600), restored)
    assert pl.concat([first, second]).equals(uninterrupted)
    assert restored.learned == 1000


def test_one_model_per_key_and_unlabelled_records_only_scored() -> None:
    learner = OnlineLearner(linear_model.LinearRegression, "y", ["x"], metrics.MAE)
    frame = pl.DataFrame(
        {"k": ["a", "b", "a", "b", "a"], "x": [1.0] * 5, "y": [10.0, -10.0, 10.0, None, None]}
    )
    states: dict[object, LearnerState] = {}
    out = learner.step_by_key(frame, "k", states)
    assert set(states) == {"a", "b"}
    assert states["a"].learned == 2 and states["b"].learned == 1
    assert out["prediction"][4] > 0 > out["prediction"][3]  # each key its own model
    assert out["MAE"][3] == out["MAE"][1]  # an unlabelled record leaves the metric alone
