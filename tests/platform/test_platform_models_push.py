"""`headwater models push` and push_model: a notebook's or a terminal's way into the registry,
with the user's API token."""

from __future__ import annotations

import uuid
from pathlib import Path

import joblib
import pandas as pd
import pytest
from model_helpers import fraud_model, new_project
from platform_server import LiveServer

from headwater.cli import main
from headwater.errors import ConfigError
from headwater.models.push import TOKEN_ENV, PushError, push_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_push_model_uploads_files_and_folders(live: LiveServer, tmp_path: Path) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    project = new_project(live)
    model = fraud_model(tmp_path)
    stored = push_model(
        model,
        project,
        "fraud",
        url=live.url,
        token=live.tokens["editor"],
        metrics={"auc": 0.91},
        alias="staging",
    )
    assert stored["version"] == 1 and stored["aliases"] == ["staging"]
    assert stored["metrics"] == {"auc": 0.91}
    folder = tmp_path / "fraud-mlflow"
    example = pd.DataFrame({"amount": [10.0, 80.0], "night": [0, 1]})
    estimator = joblib.load(model)
    mlflow.sklearn.save_model(
        estimator, folder, signature=infer_signature(example, estimator.predict(example))
    )
    logged = push_model(folder, project, "fraud", url=live.url, token=live.tokens["editor"])
    assert logged["version"] == 2 and logged["framework"] == "mlflow"
    assert logged["filename"] == "fraud-mlflow"
    with pytest.raises(PushError, match="needs the editor role"):
        push_model(model, project, "fraud", url=live.url, token=live.tokens["viewer"])
    with pytest.raises(PushError, match="features"):
        push_model(
            model,
            project,
            "fraud",
            url=live.url,
            token=live.tokens["editor"],
            features=["a", "b", "c"],
        )
    with live.client("viewer") as viewer:
        versions = viewer.get(f"/api/projects/{project}/models/fraud").json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]


def test_the_cli_pushes_with_the_token_from_the_environment(
    live: LiveServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = new_project(live)
    model = fraud_model(tmp_path)
    command = ["models", "push", str(model), "--project", project, "--name", "fraud"]
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert main([*command, "--url", live.url]) == 1
    assert TOKEN_ENV in capsys.readouterr().err
    monkeypatch.setenv(TOKEN_ENV, live.tokens["editor"])
    monkeypatch.setenv("HEADWATER_URL", live.url)
    code = main([*command, "--metrics", '{"auc": 0.9}', "--alias", "production"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "fraud version 1 (production): sklearn, features amount, night" in out
    assert main([*command, "--metrics", "[1]"]) == 2
    assert "--metrics must be a JSON object" in capsys.readouterr().err
    assert main([*command, "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach the platform" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="does not exist"):
        push_model(tmp_path / f"missing-{uuid.uuid4().hex}.joblib", project, "fraud")
