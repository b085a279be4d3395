"""LightGBM boosters saved as text (``booster.save_model``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightgbm as lgb
import polars as pl

from headwater.errors import ConfigError
from headwater.models import outputs
from headwater.models.model import Feature


class LightGBMModel:
    framework = "lightgbm"

    def __init__(self, path: Path, features: Sequence[str] | None) -> None:
        self._booster = lgb.Booster(model_file=str(path))
        names = list(self._booster.feature_name())
        # LightGBM names unnamed columns Column_0, Column_1...: those count as unnamed.
        if all(n == f"Column_{i}" for i, n in enumerate(names)) and features is not None:
            if len(features) != len(names):
                raise ConfigError(
                    f"the model {path.name} reads {len(names)} features, {len(features)} were named"
                )
            names = list(features)
        elif features is not None and list(features) != names:
            raise ConfigError(f"the model {path.name} reads {names}, not {list(features)}")
        self.features = tuple(Feature(n) for n in names)
        objective = str(self._booster.dump_model().get("objective", ""))
        self.classifier = objective.startswith(("binary", "multiclass"))

    def score(self, frame: pl.DataFrame) -> pl.DataFrame:
        matrix = outputs.feature_matrix(frame, [f.name for f in self.features])
        predicted = self._booster.predict(matrix)
        if self.classifier:
            return outputs.from_probabilities(predicted)
        return outputs.regression(predicted)


def load(path: Path, features: Sequence[str] | None) -> LightGBMModel:
    return LightGBMModel(path, features)
