"""Registry models in the model step: ``models:/name@alias`` follows its alias between batches,
``models:/name/3`` stays put, and each record says which version scored it."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from headwater import App, ConfigError
from headwater.models import load_model
from headwater.models.registry import MODELS_DIR_ENV, ModelReference, RegistryFolder
from headwater.runtime.operators.steps import Predict

BATCH = pl.DataFrame({"id": [1, 2, 3], "amount": [120.0, 8.0, 55.0], "night": [1, 0, 1]})


def fitted(folder: Path, flip: bool) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"amount": rng.lognormal(3, 1, 300), "night": rng.integers(0, 2, 300)})
    fraud = (frame["amount"] > 40) & (frame["night"] == 1)
    path = folder / f"fraud-{int(flip)}.joblib"
    joblib.dump(LogisticRegression(max_iter=500).fit(frame, (fraud ^ flip).astype(int)), path)
    return path


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryFolder:
    """A registry with fraud versions 1 (the rule) and 2 (its opposite), production at 1."""
    folder = RegistryFolder(tmp_path / "registry")
    for version, flip in ((1, False), (2, True)):
        staged = tmp_path / f"staged-{version}"
        staged.mkdir()
        model = shutil.copy(fitted(tmp_path, flip), staged / "fraud.joblib")
        folder.add_version("fraud", version, Path(model), "sklearn", ["amount", "night"])
    folder.write_aliases("fraud", {"production": 1})
    monkeypatch.setenv(MODELS_DIR_ENV, str(folder.root))
    return folder


def expected(registry: RegistryFolder, version: int) -> list[int]:
    model = load_model(registry.get("fraud", version).path)
    return list(model.score(BATCH)["prediction"])


def test_references_parse_or_say_how_to_write_them() -> None:
    assert ModelReference.parse("models:/fraud@production") == ModelReference("fraud", "production")
    assert ModelReference.parse("models:/fraud/3") == ModelReference("fraud", version=3)
    assert ModelReference.parse("fraud.joblib") is None
    assert str(ModelReference("fraud", version=3)) == "models:/fraud/3"
    for bad in ("models:/", "models:/fraud", "models:/fraud@", "models:/a/b/c", "models:/x/1.5"):
        with pytest.raises(ConfigError, match="models:/NAME@ALIAS"):
            ModelReference.parse(bad)


class _Completed:
    """A batch context whose pass always completes: what a step counts is counted at once."""

    def on_delivery(self, action: Callable[[], None]) -> None:
        action()


def test_one_operator_swaps_between_batches_and_names_the_version(
    registry: RegistryFolder, caplog: pytest.LogCaptureFixture
) -> None:
    step = Predict("models:/fraud@production", [], None, "fraud_")
    pinned = Predict("models:/fraud/1", [], None, "")
    v1, v2 = expected(registry, 1), expected(registry, 2)
    assert v1 != v2

    def run(operator: Predict) -> tuple[list[int], list[int]]:
        out = operator.process(BATCH, _Completed())  # type: ignore[arg-type]
        prefix = operator.prefix
        return list(out[f"{prefix}prediction"]), list(out[f"{prefix}model_version"])

    assert run(step) == (v1, [1, 1, 1])
    registry.write_aliases("fraud", {"production": 2})
    assert run(step) == (v2, [2, 2, 2])  # the next batch, the same operator: no restart
    assert run(pinned) == (v1, [1, 1, 1])
    registry.write_aliases("fraud", {"production": 1})  # a rollback
    assert run(step) == (v1, [1, 1, 1])

    # A version that cannot load leaves the live one scoring, and the log says why.
    broken = registry.version_folder("fraud", 2) / "fraud.joblib"
    broken.write_bytes(b"not a model")
    with caplog.at_level(logging.ERROR, "headwater.models"):
        registry.write_aliases("fraud", {"production": 2})
        assert run(step) == (v1, [1, 1, 1])
    assert "keeps version 1" in caplog.text
    registry.write_aliases("fraud", {"production": 9})
    assert run(step) == (v1, [1, 1, 1])
    assert "no such version" in caplog.text


def test_a_pipeline_names_a_registry_model(registry: RegistryFolder) -> None:
    app = App("scoring")
    scored = app.dataframe(app.topic("payments")).predict("models:/fraud@production")
    out = scored.test(BATCH.to_dicts())
    assert out["prediction"].tolist() == expected(registry, 1)
    assert out["model_version"].tolist() == [1, 1, 1]
    assert len(scored.test([{"id": 9, "amount": 1.0}]).attrs["dead_letters"]) == 1  # no night
    registry.write_aliases("fraud", {"production": 2})
    assert scored.test(BATCH.to_dicts())["model_version"].tolist() == [2, 2, 2]
    with pytest.raises(ConfigError, match=r"no alias 'staging'.*its aliases: production"):
        app.dataframe(app.topic("more")).predict("models:/fraud@staging")


def test_without_a_registry_the_error_says_where_one_comes_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    app = App("scoring")
    with pytest.raises(ConfigError, match=f"deploy the app on the platform.*{MODELS_DIR_ENV}"):
        app.dataframe(app.topic("payments")).predict("models:/fraud@production")
