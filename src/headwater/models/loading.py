"""Finding a model's framework from its file and loading it through that framework's adapter."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from headwater.errors import ConfigError
from headwater.models.model import Model

# framework: (adapter module, the extra that installs its library, the library)
FRAMEWORKS = {
    "sklearn": ("sklearn_model", "sklearn", "scikit-learn"),
    "onnx": ("onnx_model", "onnx", "onnxruntime"),
    "xgboost": ("xgboost_model", "xgboost", "xgboost"),
    "lightgbm": ("lightgbm_model", "lightgbm", "lightgbm"),
    "mlflow": ("mlflow_model", "mlflow", "mlflow-skinny"),
}
_SUFFIXES = {
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".onnx": "onnx",
    ".ubj": "xgboost",
    ".xgb": "xgboost",
    ".lgb": "lightgbm",
}


def load_model(
    path: str | Path, framework: str | None = None, features: Sequence[str] | None = None
) -> Model:
    """Load the model at ``path``: a file, or an MLflow model directory.

    The framework comes from the file (``.joblib``/``.pkl``: scikit-learn, ``.onnx``,
    ``.ubj``/``.xgb``: XGBoost, ``.lgb``: LightGBM, a folder with ``MLmodel``: MLflow) unless
    ``framework`` names it (XGBoost's ``.json`` and LightGBM's ``.txt`` need it). ``features``
    names the input columns of a model whose file does not.

    Loading a pickle (scikit-learn's format) runs code from the file: load only models you
    trust; the platform runs deployments in their sandbox.
    """
    where = Path(path)
    if not where.exists():
        raise ConfigError(f"model: {where} does not exist")
    chosen = framework or _detect(where)
    if chosen not in FRAMEWORKS:
        raise ConfigError(
            f"model: framework must be one of {', '.join(FRAMEWORKS)}, not {chosen!r}"
        )
    if features is not None and (isinstance(features, str) or not all(features)):
        raise ConfigError("model: features must be a list of column names")
    module, extra, library = FRAMEWORKS[chosen]
    try:
        adapter = importlib.import_module(f"headwater.models.frameworks.{module}")
    except ImportError as exc:
        raise ConfigError(
            f"loading a {chosen} model needs {library}: pip install 'headwater[{extra}]' ({exc})"
        ) from exc
    model: Model = adapter.load(where, None if features is None else list(features))
    return model


def _detect(path: Path) -> str:
    if path.is_dir():
        if (path / "MLmodel").exists():
            return "mlflow"
        raise ConfigError(f"model: the folder {path} has no MLmodel file (not an MLflow model)")
    framework = _SUFFIXES.get(path.suffix.lower())
    if framework is None:
        raise ConfigError(
            f"model: cannot tell the framework of {path.name} from its suffix; pass "
            f"framework= one of {', '.join(FRAMEWORKS)}"
        )
    return framework
