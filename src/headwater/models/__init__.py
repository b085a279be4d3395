"""Models scored inside the pipeline: whole micro-batches in one call.

:func:`load_model` reads a scikit-learn estimator or pipeline (joblib), an ONNX model
(onnxruntime), an XGBoost or LightGBM booster, or an MLflow model directory (the ``MLmodel``
format), and returns a :class:`Model`: its input features, when the file says, and
``score(frame)``, which returns a ``prediction`` column (and a ``score`` column for classifiers)
for every row. Each framework is an optional extra, imported only when a model needs it.
"""

from headwater.models.loading import FRAMEWORKS, load_model
from headwater.models.model import Feature, FeatureKind, Model
from headwater.models.signature import check_features

__all__ = ["FRAMEWORKS", "Feature", "FeatureKind", "Model", "check_features", "load_model"]
