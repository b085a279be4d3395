"""The model scoring benchmark's per-record pipelines in Quix Streams, run inside
benchmarks/.peer-venv.

Each payment gets ``prediction`` and ``score`` from the same model the Headwater contender
scores in batches, one record at a time in an ``apply``:

- without ``url``: the model loaded in the process (``framework`` "sklearn": the joblib file,
  ``predict`` and ``predict_proba`` on a one-row array; "onnx": one onnxruntime ``run`` on a
  one-row float32 array);
- with ``url``: a POST of the features to the model server there, through one keep-alive
  ``requests`` session.

Arguments and output: see ``_harness``; the settings carry ``commit_interval``, ``framework``,
``model_dir``, ``features`` and optionally ``url``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import run
from quixstreams.dataframe import StreamingDataFrame

Scorer = Callable[[list[float]], tuple[int, float]]


def local_scorer(framework: str, folder: Path) -> Scorer:
    import numpy as np

    if framework == "sklearn":
        import joblib

        model = joblib.load(folder / "fraud.joblib")

        def score(features: list[float]) -> tuple[int, float]:
            x = np.array([features], dtype=np.float64)
            return int(model.predict(x)[0]), float(model.predict_proba(x)[0, 1])

        return score
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "fraud.onnx"), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def score_onnx(features: list[float]) -> tuple[int, float]:
        labels, proba = session.run(None, {name: np.array([features], dtype=np.float32)})
        return int(labels[0]), float(proba[0][1])

    return score_onnx


def http_scorer(url: str) -> Scorer:
    import requests

    http = requests.Session()

    def score(features: list[float]) -> tuple[int, float]:
        answer = http.post(url, json=features, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        return body["prediction"], body["score"]

    return score


def pipeline(sdf: StreamingDataFrame, settings: dict[str, Any]) -> StreamingDataFrame:
    url = settings.get("url")
    score = (
        http_scorer(url)
        if url
        else local_scorer(settings["framework"], Path(settings["model_dir"]))
    )
    features = settings["features"]

    def scored(value: dict[str, Any]) -> dict[str, Any]:
        prediction, probability = score([value[f] for f in features])
        return {**value, "prediction": prediction, "score": probability}

    return sdf.apply(scored)


if __name__ == "__main__":
    run("ml", pipeline)
