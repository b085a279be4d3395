"""scikit-learn estimators and pipelines saved with joblib."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import polars as pl
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from headwater.errors import ConfigError
from headwater.models import outputs
from headwater.models.model import Feature, FeatureKind


class SklearnModel:
    framework = "sklearn"

    def __init__(self, estimator: Any, features: Sequence[str] | None, name: str) -> None:
        if not hasattr(estimator, "predict"):
            raise ConfigError(f"{name} holds a {type(estimator).__name__}, not an estimator")
        self._estimator = estimator
        known = getattr(estimator, "feature_names_in_", None)
        names = [str(n) for n in known] if known is not None else None
        if names is None:
            if features is None:
                raise ConfigError(
                    f"{name} was fitted without column names: name its features, "
                    "load_model(path, features=[...]), or fit it on a DataFrame"
                )
            names = list(features)
            expected = getattr(estimator, "n_features_in_", len(names))
            if expected != len(names):
                raise ConfigError(f"{name} reads {expected} features, {len(names)} were named")
        elif features is not None and list(features) != names:
            raise ConfigError(f"{name} was fitted on {names}, not on {list(features)}")
        kind: FeatureKind = "any" if _encodes(estimator) else "number"
        self.features = tuple(Feature(n, kind) for n in names)
        self.classifier = is_classifier(estimator) and hasattr(estimator, "predict_proba")
        self._named = known is not None  # fitted on a DataFrame: give it one, else an array

    def score(self, frame: pl.DataFrame) -> pl.DataFrame:
        selected = frame.select([f.name for f in self.features])
        table = selected.to_pandas() if self._named else selected.to_numpy()
        labels = self._estimator.predict(table)
        if self.classifier:
            return outputs.classification(labels, self._estimator.predict_proba(table))
        return outputs.regression(labels)


def _encodes(estimator: Any) -> bool:
    """Whether the model turns columns of any type into numbers itself (a ColumnTransformer or
    an encoder first), so text columns are fine."""
    first = estimator.steps[0][1] if isinstance(estimator, Pipeline) else estimator
    return isinstance(first, ColumnTransformer) or "Encoder" in type(first).__name__


def load(path: Path, features: Sequence[str] | None) -> SklearnModel:
    return SklearnModel(joblib.load(path), features, f"the model {path.name}")
