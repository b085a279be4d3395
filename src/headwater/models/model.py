"""What every loaded model is to the pipeline: features in, predictions out, per batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import polars as pl

FeatureKind = Literal["number", "string", "boolean", "any"]
PREDICTION = "prediction"
SCORE = "score"
# Added by a registry model: the version that scored the record.
MODEL_VERSION = "model_version"


@dataclass(frozen=True)
class Feature:
    """One input the model reads: a column name and the kind of values it expects."""

    name: str
    kind: FeatureKind = "number"


class Model(Protocol):
    """A model ready to score micro-batches."""

    @property
    def framework(self) -> str:
        """ "sklearn", "onnx", "xgboost", "lightgbm" or "mlflow"."""
        ...

    @property
    def features(self) -> tuple[Feature, ...]:
        """The inputs, in the order the model reads them."""
        ...

    @property
    def classifier(self) -> bool:
        """Whether ``score`` adds a ``score`` column besides ``prediction``."""
        ...

    def score(self, frame: pl.DataFrame) -> pl.DataFrame:
        """One row per row of ``frame`` (which holds at least the features): a ``prediction``
        column, and for classifiers a ``score`` (the positive class's probability for two
        classes, else the predicted class's)."""
        ...


def kind_of(dtype: pl.DataType) -> FeatureKind:
    """The feature kind a column of ``dtype`` provides."""
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return "string"
    return "any"
