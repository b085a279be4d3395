"""Validating an upload: the model is loaded by ``child.py`` in the server's sandbox, and what
it reports (framework, features) is checked before anything is stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from headwater.models.loading import FRAMEWORKS
from headwater.platform.errors import Invalid
from headwater.platform.registry.child import MARKER
from headwater.platform.sandbox import Jail, Sandbox

INSPECT_TIMEOUT = 180.0  # an MLflow model imports much on a loaded machine
KINDS = ("number", "string", "boolean", "any")


@dataclass(frozen=True)
class Inspection:
    framework: str
    features: list[dict[str, str]]  # [{"name": ..., "kind": ...}], in the model's order
    classifier: bool


def inspect_model(
    sandbox: Sandbox, path: Path, framework: str | None, features: list[str] | None
) -> Inspection:
    """Load ``path`` in the sandbox as ``load_model`` would in a deployment; raise Invalid
    naming the field to fix when it does not load."""
    jail = Jail(workdir=path.parent)
    request = json.dumps({"path": str(path), "framework": framework, "features": features})
    command = sandbox.command([sys.executable, "-m", "headwater.platform.registry.child"], jail)
    try:
        done = subprocess.run(
            command,
            cwd=path.parent,
            env=sandbox.environment({"PYTHONUNBUFFERED": "1"}, jail),
            input=request.encode(),
            capture_output=True,
            timeout=INSPECT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _invalid(
            "file", f"loading the model took over {INSPECT_TIMEOUT:g} s; upload a smaller model"
        ) from None
    report = _report(done.stdout)
    if report is None:
        output = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise _invalid(
            "file",
            f"loading the model crashed (exit {done.returncode}: {' '.join(output)}); upload "
            "the file or folder the framework saved",
        )
    if "error" in report:
        # The staging folder's path means nothing to the uploader: name the upload alone.
        error = str(report["error"]).replace(f"{path.parent}{os.sep}", "")
        raise _load_error(error, report.get("kind") == "config", framework, features)
    return _checked(report)


def _report(stdout: bytes) -> dict[str, object] | None:
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith(MARKER):
            try:
                found = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def _checked(report: dict[str, object]) -> Inspection:
    # The child ran the uploaded file's code: its answer is checked like any input.
    framework = report.get("framework")
    features = report.get("features")
    if framework not in FRAMEWORKS or not isinstance(features, list):
        raise _invalid("file", "the model did not report its framework and features")
    names: list[dict[str, str]] = []
    for feature in features:
        if not isinstance(feature, dict) or not isinstance(feature.get("name"), str):
            raise _invalid("file", "the model reported a feature without a name")
        kind = feature.get("kind")
        names.append({"name": feature["name"], "kind": kind if kind in KINDS else "any"})
    return Inspection(str(framework), names, bool(report.get("classifier")))


def _load_error(
    error: str, config: bool, framework: str | None, features: list[str] | None
) -> Invalid:
    if config and features is not None and "pip install" not in error:
        return _invalid(
            "features",
            f"{error}; leave features out if the file names them, or name the columns the "
            "model was fitted on, in order",
        )
    if config and ("feature" in error or "column names" in error):
        return _invalid(
            "features",
            f"{error}; name the model's input columns with features (a comma-separated list)",
        )
    if config and "framework" in error and framework is None:
        return _invalid("framework", f"{error}; give framework, one of {', '.join(FRAMEWORKS)}")
    if config and "pip install" in error:
        return _invalid("framework", f"{error} (on the platform's server)")
    named = f"a {framework} model" if framework else "a model"
    return _invalid(
        "file",
        f"the file does not load as {named} ({error}); upload the file the framework saved "
        "(joblib.dump, an .onnx file, a booster's save_model) or an MLflow model folder",
    )


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", [{"field": field, "message": message}])
