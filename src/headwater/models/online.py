"""Online learning with river: predict each record, then learn from it, in order.

The learner's state (the river model and its running metric) is plain picklable data, so the
pipeline keeps it in a state store and commits it with the offsets: after a crash, the replay
starts from the committed state and neither loses nor repeats a learning step.
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from headwater.errors import ConfigError
from headwater.models.model import PREDICTION, SCORE


@dataclass
class LearnerState:
    """One model and its running metric, with how many records it learned from."""

    model: Any
    metric: Any | None
    learned: int = 0

    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data: bytes) -> LearnerState:
        state = pickle.loads(data)
        if not isinstance(state, LearnerState):
            raise TypeError(f"not a learner's state: {type(state).__name__}")
        return state

    def to_text(self) -> str:
        """The state as text, the form a state store (whose values are JSON) keeps it in."""
        return base64.b64encode(self.dumps()).decode("ascii")

    @staticmethod
    def from_text(text: str) -> LearnerState:
        return LearnerState.loads(base64.b64decode(text))


class OnlineLearner:
    """Scores every record with the model as it stands, then learns from the record's
    ``target`` (a record whose target is null is only scored). Adds ``prediction``, ``score``
    (the probability of ``True``/``1`` for binary classifiers) and, with a ``metric``, a column
    named after it holding its value after the record.

    >>> from river import linear_model, metrics
    >>> learner = OnlineLearner(linear_model.LinearRegression, "y", ["x"], metrics.MAE)
    >>> state = learner.new_state()
    >>> out = learner.step(pl.DataFrame({"x": [1.0, 2.0], "y": [2.0, 4.0]}), state)
    >>> out.columns, state.learned
    (['x', 'y', 'prediction', 'score', 'MAE'], 2)
    """

    def __init__(
        self,
        model: Callable[[], Any],
        target: str,
        features: Sequence[str],
        metric: Callable[[], Any] | None = None,
    ) -> None:
        if not callable(model):
            raise ConfigError("OnlineLearner: model must make a river model, e.g. a class")
        if isinstance(features, str) or not features:
            raise ConfigError("OnlineLearner: features must be a list of column names")
        self._make_model = model
        self._make_metric = metric
        self.target = target
        self.features = list(features)
        self.metric_name = type(metric()).__name__ if metric is not None else None

    @property
    def outputs(self) -> list[str]:
        """The columns :meth:`step` adds."""
        return [PREDICTION, SCORE, *([self.metric_name] if self.metric_name else [])]

    def new_state(self) -> LearnerState:
        return LearnerState(self._make_model(), self._make_metric() if self._make_metric else None)

    def step(self, frame: pl.DataFrame, state: LearnerState) -> pl.DataFrame:
        """Every row of ``frame`` in order through one model."""
        return self.step_by_key(frame, None, {None: state})

    def step_by_key(
        self, frame: pl.DataFrame, key: str | None, states: dict[Hashable, LearnerState]
    ) -> pl.DataFrame:
        """Every row in order through the model of its ``key`` column's value (a new model for
        a key not in ``states``, added to it)."""
        if key is not None and key not in frame.columns:
            raise ConfigError(f"OnlineLearner: the records lack column(s) {[key]}")
        keys = frame[key].to_list() if key else [None] * frame.height
        return self.step_by_keys(frame, keys, states)

    def step_by_keys(
        self, frame: pl.DataFrame, keys: Sequence[Hashable], states: dict[Hashable, LearnerState]
    ) -> pl.DataFrame:
        """Every row in order through the model of its key in ``keys`` (one per row)."""
        missing = [c for c in [*self.features, self.target] if c not in frame.columns]
        if missing:
            raise ConfigError(f"OnlineLearner: the records lack column(s) {missing}")
        predictions: list[Any] = []
        scores: list[float | None] = []
        metrics: list[float | None] = []
        targets = frame[self.target].to_list()
        for row_key, x, y in zip(
            keys, frame.select(self.features).iter_rows(named=True), targets, strict=True
        ):
            state = states.get(row_key)
            if state is None:
                state = states[row_key] = self.new_state()
            predicted, score = _predict(state.model, x)
            predictions.append(predicted)
            scores.append(score)
            if y is not None:
                if state.metric is not None and predicted is not None:
                    state.metric.update(y, predicted)
                state.model.learn_one(x, y)
                state.learned += 1
            metrics.append(state.metric.get() if state.metric is not None else None)
        columns = [
            pl.Series(PREDICTION, predictions, strict=False),
            pl.Series(SCORE, scores, dtype=pl.Float64),
        ]
        if self.metric_name is not None:
            columns.append(pl.Series(self.metric_name, metrics, dtype=pl.Float64))
        return frame.with_columns(columns)


def _predict(model: Any, x: dict[str, Any]) -> tuple[Any, float | None]:
    proba = getattr(model, "predict_proba_one", None)
    if proba is None:
        return model.predict_one(x), None
    probabilities = proba(x)
    if not probabilities:  # a classifier that has seen nothing yet
        return None, None
    label = max(probabilities, key=probabilities.get)
    positive = next((probabilities[c] for c in (True, 1) if c in probabilities), None)
    return label, positive
