"""The model registry's API: upload (file or folder), validation that changes nothing, versions
with their signature, aliases promoted and rolled back, roles, and the files deployments read."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
from model_helpers import fraud_model, new_project, upload
from platform_server import LiveServer
from sklearn.linear_model import LinearRegression

from headwater.models.registry import ModelReference, RegistryFolder

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_upload_versions_promote_and_roll_back(live: LiveServer, tmp_path: Path) -> None:
    project = new_project(live)
    base = f"/api/projects/{project}/models/fraud"
    first, second = fraud_model(tmp_path), fraud_model(tmp_path, flip=True)
    with live.client("editor") as editor:
        made = upload(
            editor,
            project,
            "fraud",
            first.read_bytes(),
            filename="fraud.joblib",
            metrics='{"auc": 0.93}',
            description="first try",
            alias="production",
        )
        assert made.status_code == 201, made.text
        version = made.json()
        assert version["version"] == 1 and version["framework"] == "sklearn"
        assert version["features"] == [
            {"name": "amount", "kind": "number"},
            {"name": "night", "kind": "number"},
        ]
        assert version["outputs"] == ["prediction", "score"]
        assert version["metrics"] == {"auc": 0.93}
        assert version["author"] == "editor-user" and version["aliases"] == ["production"]
        assert version["size_bytes"] == first.stat().st_size
        again = upload(editor, project, "fraud", second.read_bytes(), filename="fraud.joblib")
        assert again.status_code == 201 and again.json()["version"] == 2

        promoted = editor.put(f"{base}/aliases/production", json={"version": 2})
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["aliases"] == {"production": 2}
        assert promoted.json()["reference"] == "models:/fraud@production"
        staged = editor.put(f"{base}/aliases/staging", json={"version": 1})
        assert staged.json()["aliases"] == {"production": 2, "staging": 1}
        back = editor.post(f"{base}/aliases/production/rollback")
        assert back.status_code == 200 and back.json()["aliases"]["production"] == 1
        moves = back.json()["moves"]
        assert [(m["alias"], m["from_version"], m["to_version"], m["rollback"]) for m in moves] == [
            ("production", 2, 1, True),
            ("staging", None, 1, False),
            ("production", 1, 2, False),
            ("production", None, 1, False),
        ]
        assert editor.post(f"{base}/aliases/staging/rollback").status_code == 409
        missing = editor.put(f"{base}/aliases/production", json={"version": 7})
        assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "version"

    # What a deployment of the project reads: the committed aliases, each version whole.
    folder = RegistryFolder(live.context.models.folder(project))
    assert folder.aliases("fraud") == {"production": 1, "staging": 1}
    found = folder.resolve(ModelReference.parse("models:/fraud@production"))  # type: ignore[arg-type]
    assert found.version == 1 and found.path.read_bytes() == first.read_bytes()
    assert found.features == ("amount", "night") and found.framework == "sklearn"
    assert not (live.context.settings.projects_dir / project / "models").exists()

    with live.client("viewer") as viewer:
        listed = viewer.get(f"/api/projects/{project}/models")
        assert listed.status_code == 200
        assert [(v["version"], v["aliases"]) for v in listed.json()[0]["versions"]] == [
            (2, []),
            (1, ["production", "staging"]),
        ]


def test_folders_upload_as_zip_or_tar(live: LiveServer, tmp_path: Path) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    project = new_project(live)
    model = fraud_model(tmp_path)
    logged = tmp_path / "fraud-mlflow"
    example = pd.DataFrame({"amount": [10.0, 80.0], "night": [0, 1]})
    estimator = joblib.load(model)
    signature = infer_signature(example, estimator.predict(example))
    mlflow.sklearn.save_model(estimator, logged, signature=signature)
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for file in logged.rglob("*"):
            archive.write(file, f"model/{file.relative_to(logged)}")
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as archive:
        archive.add(model, "fraud.joblib")
    with live.client("editor") as editor:
        zipped = upload(editor, project, "fraud", packed.getvalue(), filename="model.zip")
        assert zipped.status_code == 201, zipped.text
        assert zipped.json()["filename"] == "model"  # the folder, as archived
        assert zipped.json()["framework"] == "mlflow"
        assert [f["name"] for f in zipped.json()["features"]] == ["amount", "night"]
        not_mlflow = io.BytesIO()
        with zipfile.ZipFile(not_mlflow, "w") as archive:
            archive.write(model, "folder/fraud.joblib")
        refused = upload(editor, project, "fraud", not_mlflow.getvalue(), filename="f.zip")
        assert refused.status_code == 422 and "MLmodel" in refused.json()["detail"]
        assert ".upload-" not in refused.json()["detail"]  # no server path in the answer
        # One file in the archive: the model is that file.
        tar_made = upload(editor, project, "fraud", tarred.getvalue(), filename="fraud.tar.gz")
        assert tar_made.status_code == 201, tar_made.text
        assert tar_made.json()["filename"] == "fraud.joblib"

        escaping = io.BytesIO()
        with zipfile.ZipFile(escaping, "w") as archive:
            archive.writestr("../../evil.py", "print('x')")
        refused = upload(editor, project, "fraud", escaping.getvalue(), filename="evil.zip")
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "file"


def test_bad_uploads_name_the_field_and_change_nothing(live: LiveServer, tmp_path: Path) -> None:
    project = new_project(live)
    model = fraud_model(tmp_path)
    rng = np.random.default_rng(2)
    bare = tmp_path / "bare.joblib"  # fitted on an array: no feature names in the file
    joblib.dump(LinearRegression().fit(rng.normal(size=(20, 2)), rng.normal(size=20)), bare)
    cases = [
        (b"not a pickle at all", {"filename": "fraud.joblib"}, "file"),
        (model.read_bytes(), {"filename": "fraud.bin"}, "framework"),
        (model.read_bytes(), {"filename": "fraud.joblib", "framework": "tensorflow"}, "framework"),
        (bare.read_bytes(), {"filename": "bare.joblib"}, "features"),
        (model.read_bytes(), {"filename": "fraud.joblib", "metrics": "[1, 2]"}, "metrics"),
        (model.read_bytes(), {"filename": "fraud.joblib", "metrics": '{"auc": "high"}'}, "metrics"),
        (model.read_bytes(), {"filename": "../fraud.joblib"}, "filename"),
        (model.read_bytes(), {"filename": "fraud\x00.joblib"}, "filename"),
        (b"", {"filename": "fraud.joblib"}, "file"),
    ]
    with live.client("editor") as editor:
        for data, params, field in cases:
            refused = upload(editor, project, "fraud", data, **params)
            assert refused.status_code == 422, (params, refused.text)
            error = refused.json()
            assert error["errors"][0]["field"] == field, (params, error)
            assert field in error["detail"], error
        # Nothing was stored: no model, no files left behind.
        assert editor.get(f"/api/projects/{project}/models").json() == []
        assert not any(live.context.models.folder(project).glob("*"))
        # Named features make the bare model loadable.
        named = upload(
            editor, project, "bare", bare.read_bytes(), filename="bare.joblib", features="x,y"
        )
        assert named.status_code == 201, named.text
        assert [f["name"] for f in named.json()["features"]] == ["x", "y"]
        assert named.json()["outputs"] == ["prediction"]
        bad_name = upload(editor, project, "no good", model.read_bytes(), filename="f.joblib")
        assert bad_name.status_code in (404, 422)


def test_a_viewer_lists_but_cannot_upload_or_promote(live: LiveServer, tmp_path: Path) -> None:
    project = new_project(live)
    model = fraud_model(tmp_path).read_bytes()
    base = f"/api/projects/{project}/models/fraud"
    with live.client("editor") as editor:
        assert upload(editor, project, "fraud", model, filename="f.joblib").status_code == 201
        assert upload(editor, project, "fraud", model, filename="f.joblib").status_code == 201
        assert editor.put(f"{base}/aliases/production", json={"version": 1}).status_code == 200
    with live.client("viewer") as viewer:
        assert viewer.get(base).status_code == 200
        refused = upload(viewer, project, "fraud", model, filename="f.joblib")
        assert refused.status_code == 403 and "editor" in refused.json()["detail"]
        assert viewer.put(f"{base}/aliases/production", json={"version": 2}).status_code == 403
        assert viewer.post(f"{base}/aliases/production/rollback").status_code == 403
        seen = viewer.get(base).json()
        assert len(seen["versions"]) == 2 and seen["aliases"] == {"production": 1}
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get(base).status_code == 401
    folder = RegistryFolder(live.context.models.folder(project))
    assert folder.aliases("fraud") == {"production": 1}


def test_uploads_over_the_limit_are_refused(live: LiveServer) -> None:
    project = new_project(live)
    limit = live.context.models.max_bytes
    live.context.models.max_bytes = 1000
    try:
        with live.client("editor") as editor:
            refused = upload(editor, project, "big", b"x" * 5000, filename="big.joblib")
            assert refused.status_code == 413 and refused.json()["errors"][0]["field"] == "file"
    finally:
        live.context.models.max_bytes = limit
    assert json.dumps(refused.json())
