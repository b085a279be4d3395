"""Point-in-time training sets: each label meets the features its entity had at that moment.

Joining labels to features by entity alone leaks the future: a label from Monday would see
features computed from Tuesday's events, and the model learns from what it cannot know when it
scores live. :func:`training_set` is an as-of join, as Feast's ``get_historical_features``
does: the latest feature row at or before the label's time, never after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from headwater.errors import ConfigError
from headwater.sources.base import event_time_ms

_ROW = "__headwater_label_row"
_AT = "__headwater_at"


def training_set(
    labels: Any,
    features: Any,
    entity: str | Sequence[str],
    label_time: str,
    feature_time: str,
    tolerance_ms: int | None = None,
    inclusive: bool = True,
) -> pl.DataFrame:
    """Every row of ``labels`` (pandas or Polars; order kept) with the columns of the latest
    row of ``features`` for the same ``entity`` whose ``feature_time`` is at or before (or,
    with ``inclusive=False``, strictly before) its ``label_time`` and, with
    ``tolerance_ms``, not older than that; feature columns are null where none qualifies.

    ``feature_time`` must be when the value became known (a window's end, not its start).

    >>> labels = pl.DataFrame({"card": ["a", "a"], "at": [15, 30], "fraud": [0, 1]})
    >>> features = pl.DataFrame({"card": ["a", "a"], "known": [10, 20], "spend": [5.0, 9.0]})
    >>> training_set(labels, features, "card", "at", "known")["spend"].to_list()
    [5.0, 9.0]
    """
    left = labels if isinstance(labels, pl.DataFrame) else pl.from_pandas(labels)
    right = features if isinstance(features, pl.DataFrame) else pl.from_pandas(features)
    keys = [entity] if isinstance(entity, str) else list(entity)
    for frame, name, columns in (
        (left, "labels", [*keys, label_time]),
        (right, "features", [*keys, feature_time]),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ConfigError(f"training_set: {name} lack column(s) {missing} ({frame.columns})")
    if tolerance_ms is not None and (not isinstance(tolerance_ms, int) or tolerance_ms < 0):
        raise ConfigError("training_set: tolerance_ms must be a whole number of ms >= 0, or None")
    clashes = [
        c for c in right.columns if c in left.columns and c not in keys and c != feature_time
    ]
    if clashes:
        raise ConfigError(
            f"training_set: labels and features both have {clashes}; rename one side first"
        )
    left = left.with_row_index(_ROW).with_columns(
        event_time_ms(left, label_time, "labels").alias(_AT)
    )
    right = right.with_columns(event_time_ms(right, feature_time, "features").alias(_AT))
    joined = left.sort(_AT).join_asof(
        right.sort(_AT).drop(feature_time) if feature_time != label_time else right.sort(_AT),
        on=_AT,
        by=keys,
        strategy="backward",
        tolerance=tolerance_ms,
        allow_exact_matches=inclusive,
        suffix="_feature",
        check_sortedness=False,  # both sides were just sorted on the time
    )
    return joined.sort(_ROW).drop(_ROW, _AT)
