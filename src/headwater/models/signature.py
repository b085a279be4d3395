"""Checking a model's inputs against a stream's columns, before any record is scored."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from headwater.errors import ConfigError
from headwater.models.model import Feature, kind_of


def check_features(
    features: tuple[Feature, ...], columns: Mapping[str, pl.DataType], model: str
) -> None:
    """Raise :class:`ConfigError` naming every feature ``columns`` lacks or holds as the wrong
    kind of value; a column of unknown type (``Null``, Python objects) passes."""
    missing = [f.name for f in features if f.name not in columns]
    wrong = []
    for feature in features:
        dtype = columns.get(feature.name)
        if dtype is None or feature.kind == "any" or dtype in (pl.Null, pl.Object):
            continue
        found = kind_of(dtype)
        # Booleans are numbers to every framework here (0 and 1).
        fits = found == feature.kind or (feature.kind, found) == ("number", "boolean")
        if not fits:
            wrong.append(f"{feature.name!r} holds {dtype} values, the model expects {feature.kind}")
    problems = []
    if missing:
        problems.append(
            f"missing feature column(s) {', '.join(map(repr, missing))}: add them before the "
            "model step"
        )
    if wrong:
        problems.append("; ".join(wrong) + ": cast the column before the model step")
    if problems:
        raise ConfigError(f"{model}: " + "; ".join(problems))
