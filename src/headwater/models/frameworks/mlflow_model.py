"""MLflow model directories (the ``MLmodel`` format), loaded as MLflow's python functions, so a
model a data scientist logged with MLflow loads unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import polars as pl

from headwater.errors import ConfigError
from headwater.models import outputs
from headwater.models.model import Feature, FeatureKind

_KINDS: dict[str, FeatureKind] = {
    "double": "number",
    "float": "number",
    "long": "number",
    "integer": "number",
    "string": "string",
    "boolean": "boolean",
}


class MLflowModel:
    framework = "mlflow"
    classifier = False  # a python function's predict gives the prediction alone

    def __init__(self, path: Path, features: Sequence[str] | None) -> None:
        self._model = mlflow.pyfunc.load_model(str(path))
        schema = self._model.metadata.get_input_schema()
        named = schema is not None and schema.has_input_names()
        if named:
            specs = [
                (s.name, _KINDS.get(str(getattr(s.type, "name", s.type)), "any"))
                for s in schema.inputs
            ]
            if features is not None and list(features) != [n for n, _ in specs]:
                raise ConfigError(
                    f"the model {path.name} reads {[n for n, _ in specs]}, not {list(features)}"
                )
            self.features = tuple(Feature(str(n), k) for n, k in specs)
        elif features is not None:
            self.features = tuple(Feature(n, "any") for n in features)
        else:
            raise ConfigError(
                f"the model {path.name} was logged without a signature: name its features, "
                "load_model(path, features=[...]), or log it with one"
            )

    def score(self, frame: pl.DataFrame) -> pl.DataFrame:
        table = frame.select([f.name for f in self.features]).to_pandas()
        predicted: Any = self._model.predict(table)
        if hasattr(predicted, "to_numpy"):
            predicted = predicted.to_numpy()
        return outputs.regression(predicted)


def load(path: Path, features: Sequence[str] | None) -> MLflowModel:
    return MLflowModel(path, features)
