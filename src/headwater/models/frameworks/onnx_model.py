"""ONNX models, run with onnxruntime on the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import polars as pl

from headwater.errors import ConfigError
from headwater.models import outputs
from headwater.models.model import Feature, FeatureKind

_TYPES: dict[str, tuple[Any, FeatureKind]] = {
    "tensor(float)": (np.float32, "number"),
    "tensor(double)": (np.float64, "number"),
    "tensor(int64)": (np.int64, "number"),
    "tensor(int32)": (np.int32, "number"),
    "tensor(string)": (np.object_, "string"),
    "tensor(bool)": (np.bool_, "boolean"),
}


class OnnxModel:
    """One input of shape [rows, features] (named with ``features=``), or one input per
    feature of shape [rows, 1] (as skl2onnx writes a model fitted on named columns)."""

    framework = "onnx"

    def __init__(self, path: Path, features: Sequence[str] | None) -> None:
        name = f"the model {path.name}"
        self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inputs = self._session.get_inputs()
        for node in inputs:
            if node.type not in _TYPES:
                raise ConfigError(f"{name}: input {node.name!r} has type {node.type}, unsupported")
        self._stacked = len(inputs) == 1 and _width(inputs[0].shape) != 1
        if self._stacked:
            only = inputs[0]
            if features is None:
                raise ConfigError(
                    f"{name} reads one tensor {only.name!r}: name its columns, "
                    "load_model(path, features=[...])"
                )
            width = _width(only.shape)
            if width is not None and width != len(features):
                raise ConfigError(f"{name} reads {width} features, {len(features)} were named")
            dtype, kind = _TYPES[only.type]
            self._input, self._dtype = only.name, dtype
            self.features = tuple(Feature(f, kind) for f in features)
        else:
            if features is not None and list(features) != [i.name for i in inputs]:
                raise ConfigError(f"{name} reads {[i.name for i in inputs]}, not {list(features)}")
            self._dtypes = {i.name: _TYPES[i.type][0] for i in inputs}
            self.features = tuple(Feature(i.name, _TYPES[i.type][1]) for i in inputs)
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.classifier = len(self._outputs) > 1  # a label and the class probabilities

    def score(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self._stacked:
            names = [f.name for f in self.features]
            feeds = {self._input: outputs.feature_matrix(frame, names, self._dtype)}
        else:
            feeds = {
                n: frame[n].to_numpy().astype(t, copy=False).reshape(-1, 1)
                for n, t in self._dtypes.items()
            }
        results = self._session.run(self._outputs, feeds)
        if len(results) == 1:
            return outputs.regression(results[0])
        labels, probabilities = results[0], results[1]
        if isinstance(probabilities, list):  # a ZipMap: one {class: probability} per row
            classes = list(probabilities[0]) if probabilities else []
            probabilities = np.array([[row[c] for c in classes] for row in probabilities])
        return outputs.classification(labels, probabilities)


def _width(shape: Sequence[Any]) -> int | None:
    """The feature count of a [rows, features] shape; None when symbolic."""
    return shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None


def load(path: Path, features: Sequence[str] | None) -> OnnxModel:
    return OnnxModel(path, features)
