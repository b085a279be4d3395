"""What a model step measures per version as it scores: records, batches, time spent scoring,
and its scores' distribution, counted per batch in a few columnar operations.

A classifier's scores (probabilities) fall in ``SCORE_BINS`` equal bins of [0, 1]: a
histogram that adds up across batches, replicas and time, from which the platform draws the
distribution over time and its drift from a reference (:func:`population_stability`).
A regressor's predictions have no fixed range, so only records and time are counted.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

SCORE_BINS = 10
# A bin empty in one of the two distributions would make the index infinite: it counts as
# this small share instead (the usual convention).
_EMPTY_SHARE = 1e-4


@dataclass
class VersionCounts:
    """Totals of one model version since the step started."""

    records: int = 0
    batches: int = 0
    seconds: float = 0.0
    bins: list[int] = field(default_factory=lambda: [0] * SCORE_BINS)


class ScoreMonitor:
    """Counts per model version (``None``: a model from a file); safe to read from the
    thread that serves the metrics while the step writes."""

    def __init__(self) -> None:
        self._versions: dict[int | None, VersionCounts] = {}
        self._lock = threading.Lock()

    def observe(
        self, version: int | None, records: int, seconds: float, scores: pl.Series | None
    ) -> None:
        """One scored batch: its size, the time scoring took, and its scores (or None)."""
        bins = score_histogram(scores) if scores is not None else None
        with self._lock:
            counts = self._versions.setdefault(version, VersionCounts())
            counts.records += records
            counts.batches += 1
            counts.seconds += seconds
            if bins is not None:
                counts.bins = [a + b for a, b in zip(counts.bins, bins, strict=True)]

    def totals(self) -> dict[int | None, VersionCounts]:
        with self._lock:
            return {
                v: VersionCounts(c.records, c.batches, c.seconds, list(c.bins))
                for v, c in self._versions.items()
            }


def score_histogram(scores: pl.Series) -> list[int]:
    """How many of ``scores`` fall in each of the ``SCORE_BINS`` bins of [0, 1] (nulls and
    NaNs are left out; 1.0 counts in the last bin)."""
    valid = scores.cast(pl.Float64).drop_nulls().drop_nans()
    index = (valid.clip(0.0, 1.0) * SCORE_BINS).floor().cast(pl.Int64).clip(0, SCORE_BINS - 1)
    counted = index.value_counts()
    bins = [0] * SCORE_BINS
    for i, n in counted.iter_rows():
        bins[i] = n
    return bins


def population_stability(reference: Sequence[float], current: Sequence[float]) -> float | None:
    """The population stability index of ``current`` against ``reference`` (two histograms
    over the same bins): sum of (c - r) * ln(c / r) over the bins' shares. Below 0.1 reads as
    stable, above 0.25 as drifted. None when either histogram is empty."""
    total_r, total_c = sum(reference), sum(current)
    if total_r <= 0 or total_c <= 0:
        return None
    index = 0.0
    for r, c in zip(reference, current, strict=True):
        share_r = max(r / total_r, _EMPTY_SHARE)
        share_c = max(c / total_c, _EMPTY_SHARE)
        index += (share_c - share_r) * math.log(share_c / share_r)
    return index
