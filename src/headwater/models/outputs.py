"""Turning what a framework returns into the model step's columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from headwater.models.model import PREDICTION, SCORE


def regression(values: Any) -> pl.DataFrame:
    """A prediction per row."""
    return pl.DataFrame({PREDICTION: np.asarray(values).reshape(-1)})


def classification(labels: Any, probabilities: Any) -> pl.DataFrame:
    """A label and a score per row; ``probabilities`` is an array of one column per class
    (in the order of the model's classes). The score is the positive (second) class's
    probability for two classes, else the predicted class's."""
    proba = np.asarray(probabilities, dtype=np.float64)
    if proba.ndim == 1:  # one column: the positive class already
        score = proba
    elif proba.shape[1] == 2:
        score = proba[:, 1]
    else:
        score = proba.max(axis=1)
    return pl.DataFrame({PREDICTION: np.asarray(labels).reshape(-1), SCORE: score})


def from_probabilities(probabilities: Any, classes: Sequence[Any] | None = None) -> pl.DataFrame:
    """Labels picked from per-class probabilities (a 1-D array is the positive class's)."""
    proba = np.asarray(probabilities, dtype=np.float64)
    if proba.ndim == 1:
        labels = (proba >= 0.5).astype(np.int64)
    else:
        picked = proba.argmax(axis=1)
        labels = picked if classes is None else np.asarray(classes)[picked]
    return classification(labels, proba)


def feature_matrix(frame: pl.DataFrame, names: Sequence[str], dtype: Any = np.float64) -> Any:
    """The feature columns as one 2-D array, in the model's order."""
    return frame.select(names).to_numpy().astype(dtype, copy=False)
