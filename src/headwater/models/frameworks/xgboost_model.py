"""XGBoost boosters saved in XGBoost's own format (``.json`` or ``.ubj``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import xgboost as xgb

from headwater.errors import ConfigError
from headwater.models import outputs
from headwater.models.model import Feature


class XGBoostModel:
    framework = "xgboost"

    def __init__(self, path: Path, features: Sequence[str] | None) -> None:
        self._booster = xgb.Booster(model_file=str(path))
        names = self._booster.feature_names
        if names is None:
            if features is None:
                raise ConfigError(
                    f"the model {path.name} has no feature names: name them, "
                    "load_model(path, features=[...])"
                )
            names = list(features)
            self._booster.feature_names = names
        elif features is not None and list(features) != list(names):
            raise ConfigError(f"the model {path.name} reads {list(names)}, not {list(features)}")
        categorical = set(
            n for n, t in zip(names, self._booster.feature_types or [], strict=False) if t == "c"
        )
        self.features = tuple(Feature(n, "any" if n in categorical else "number") for n in names)
        objective = json.loads(self._booster.save_config())["learner"]["objective"]["name"]
        self.classifier = objective.startswith(("binary:logistic", "multi:softprob"))

    def score(self, frame: pl.DataFrame) -> pl.DataFrame:
        names = [f.name for f in self.features]
        predicted = self._booster.inplace_predict(frame.select(names).to_pandas())
        if self.classifier:
            return outputs.from_probabilities(predicted)
        return outputs.regression(predicted)


def load(path: Path, features: Sequence[str] | None) -> XGBoostModel:
    return XGBoostModel(path, features)
