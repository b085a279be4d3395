"""Models of every framework load, score whole batches like the framework itself, and say
which features they need."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from headwater.errors import ConfigError
from headwater.models import Feature, check_features, load_model

FEATURES = ["amount", "items", "night"]


def history(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, rows),
            "items": rng.integers(1, 10, rows).astype(float),
            "night": rng.integers(0, 2, rows).astype(float),
        }
    )
    frame["fraud"] = ((frame["amount"] > 40) & (frame["night"] == 1)).astype(int)
    return frame


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return history()


@pytest.fixture(scope="module")
def batch(data: pd.DataFrame) -> pl.DataFrame:
    return pl.from_pandas(data.head(50)).with_columns(pl.lit("c1").alias("customer"))


@pytest.fixture(scope="module")
def classifier(data: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(data[FEATURES], data["fraud"])


def test_a_scikit_learn_classifier_scores_like_itself(
    tmp_path: Path, classifier: LogisticRegression, batch: pl.DataFrame
) -> None:
    joblib.dump(classifier, tmp_path / "fraud.joblib")
    model = load_model(tmp_path / "fraud.joblib")
    assert model.framework == "sklearn"
    assert model.features == tuple(Feature(n) for n in FEATURES)
    scored = model.score(batch)
    expected = classifier.predict_proba(batch.select(FEATURES).to_pandas())[:, 1]
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-9)
    assert scored["prediction"].to_list() == list(classifier.predict(batch.to_pandas()[FEATURES]))


def test_a_scikit_learn_pipeline_with_an_encoder_takes_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"country": ["DE", "FR", "DE", "ES"] * 10, "amount": range(40)})
    pipeline = Pipeline(
        [
            (
                "encode",
                ColumnTransformer([("c", OneHotEncoder(), ["country"])], remainder="passthrough"),
            ),
            ("fit", LinearRegression()),
        ]
    ).fit(frame, frame["amount"] * 2.0)
    joblib.dump(pipeline, tmp_path / "p.pkl")
    model = load_model(tmp_path / "p.pkl")
    assert [f.kind for f in model.features] == ["any", "any"]
    scored = model.score(pl.DataFrame({"country": ["FR"], "amount": [5]}))
    assert scored["prediction"][0] == pytest.approx(10.0)


def test_a_model_fitted_without_names_needs_them(tmp_path: Path, data: pd.DataFrame) -> None:
    joblib.dump(
        LinearRegression().fit(data[FEATURES].to_numpy(), data["amount"]), tmp_path / "m.pkl"
    )
    with pytest.raises(ConfigError, match=r"features=\[\.\.\.\]"):
        load_model(tmp_path / "m.pkl")
    with pytest.raises(ConfigError, match="reads 3 features, 2 were named"):
        load_model(tmp_path / "m.pkl", features=["amount", "items"])
    model = load_model(tmp_path / "m.pkl", features=FEATURES)
    assert model.score(pl.from_pandas(data.head(3)))["prediction"].to_list() == pytest.approx(
        list(data["amount"].head(3))
    )


def test_onnx_from_scikit_learn_scores_like_the_original(
    tmp_path: Path, classifier: LogisticRegression, batch: pl.DataFrame
) -> None:
    from skl2onnx import to_onnx

    sample = history(5).astype(np.float32)[FEATURES].to_numpy()
    (tmp_path / "fraud.onnx").write_bytes(to_onnx(classifier, sample).SerializeToString())
    with pytest.raises(ConfigError, match="name its columns"):
        load_model(tmp_path / "fraud.onnx")
    model = load_model(tmp_path / "fraud.onnx", features=FEATURES)
    assert model.framework == "onnx"
    scored = model.score(batch)
    # ONNX computes in float32: onnxruntime's own answer is the reference, and it stays close
    # to the float64 original.
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "fraud.onnx"))
    inputs = {session.get_inputs()[0].name: batch.select(FEATURES).to_numpy().astype(np.float32)}
    labels, probabilities = session.run(None, inputs)
    own = np.array([row[1] for row in probabilities])
    np.testing.assert_allclose(scored["score"].to_numpy(), own, rtol=1e-9)
    assert scored["prediction"].to_list() == labels.tolist()
    original = classifier.predict_proba(batch.select(FEATURES).to_pandas())[:, 1]
    np.testing.assert_allclose(scored["score"].to_numpy(), original, atol=1e-5)


def test_xgboost_and_lightgbm_boosters(
    tmp_path: Path, data: pd.DataFrame, batch: pl.DataFrame
) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3},
        xgb.DMatrix(data[FEATURES], label=data["fraud"]),
        num_boost_round=10,
    )
    booster.save_model(tmp_path / "fraud.ubj")
    model = load_model(tmp_path / "fraud.ubj")
    expected = booster.predict(xgb.DMatrix(batch.select(FEATURES).to_pandas()))
    scored = model.score(batch)
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-9)
    assert scored["prediction"].to_list() == [int(p >= 0.5) for p in expected]

    gbm = lgb.train(
        {"objective": "regression", "verbose": -1, "min_data_in_leaf": 5},
        lgb.Dataset(data[FEATURES], label=data["amount"]),
        num_boost_round=10,
    )
    gbm.save_model(tmp_path / "amount.txt")
    with pytest.raises(ConfigError, match="framework="):
        load_model(tmp_path / "amount.txt")
    model = load_model(tmp_path / "amount.txt", framework="lightgbm")
    assert [f.name for f in model.features] == FEATURES
    np.testing.assert_allclose(
        model.score(batch)["prediction"].to_numpy(),
        gbm.predict(batch.select(FEATURES).to_numpy()),
        rtol=1e-9,
    )


def test_an_mlflow_model_directory_loads_unchanged(
    tmp_path: Path, classifier: LogisticRegression, data: pd.DataFrame, batch: pl.DataFrame
) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    signature = infer_signature(data[FEATURES], classifier.predict(data[FEATURES]))
    mlflow.sklearn.save_model(classifier, tmp_path / "fraud", signature=signature)
    model = load_model(tmp_path / "fraud")
    assert model.framework == "mlflow"
    assert model.features == tuple(Feature(n, "number") for n in FEATURES)
    assert model.score(batch)["prediction"].to_list() == list(
        classifier.predict(batch.select(FEATURES).to_pandas())
    )


def test_the_signature_check_names_missing_and_mistyped_features(
    tmp_path: Path, classifier: LogisticRegression
) -> None:
    joblib.dump(classifier, tmp_path / "fraud.joblib")
    model = load_model(tmp_path / "fraud.joblib")
    columns = {"amount": pl.String(), "night": pl.Int64(), "customer": pl.String()}
    with pytest.raises(ConfigError) as caught:
        check_features(model.features, columns, "fraud")
    message = str(caught.value)
    assert "missing feature column(s) 'items'" in message
    assert "'amount' holds String values, the model expects number" in message
    check_features(model.features, {**columns, "amount": pl.Float64(), "items": pl.Int8()}, "fraud")


def test_a_missing_framework_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.onnx").write_bytes(b"not a model")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.delitem(sys.modules, "headwater.models.frameworks.onnx_model", raising=False)
    with pytest.raises(ConfigError, match=r"pip install 'headwater\[onnx\]'"):
        load_model(tmp_path / "m.onnx")


def test_bad_arguments_change_nothing_and_say_why(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_model(tmp_path / "nothing.onnx")
    (tmp_path / "m.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="cannot tell the framework"):
        load_model(tmp_path / "m.bin")
    with pytest.raises(ConfigError, match="framework must be one of"):
        load_model(tmp_path / "m.bin", framework="tensorflow")
    with pytest.raises(ConfigError, match="no MLmodel file"):
        load_model(tmp_path)
