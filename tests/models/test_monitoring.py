"""Score histograms per tenth of [0, 1] and the population stability index between two."""

from __future__ import annotations

import math

import polars as pl
import pytest

from headwater.models.monitoring import ScoreMonitor, population_stability, score_histogram


def test_scores_fall_in_tenths_with_one_in_the_last_and_nulls_left_out() -> None:
    scores = pl.Series([0.0, 0.05, 0.1, 0.55, 0.99, 1.0, None, float("nan")])
    assert score_histogram(scores) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]


def test_the_same_distribution_is_stable_and_a_moved_one_drifts() -> None:
    reference = [10, 20, 30, 20, 10, 5, 3, 1, 1, 0]
    assert population_stability(reference, [2 * n for n in reference]) == pytest.approx(0.0)
    moved = list(reversed(reference))
    assert population_stability(reference, moved) > 0.25
    # By the formula, for two bins: (0.75 - 0.25) ln 3 + (0.25 - 0.75) ln(1/3).
    assert population_stability([1, 3], [3, 1]) == pytest.approx(math.log(3))
    assert population_stability([0, 0], [1, 2]) is None


def test_a_monitor_adds_up_batches_per_version() -> None:
    monitor = ScoreMonitor()
    monitor.observe(1, 3, 0.01, pl.Series([0.1, 0.2, 0.95]))
    monitor.observe(1, 2, 0.02, pl.Series([0.15, 0.96]))
    monitor.observe(2, 4, 0.03, None)
    totals = monitor.totals()
    assert (totals[1].records, totals[1].batches) == (5, 2)
    assert totals[1].seconds == pytest.approx(0.03)
    assert totals[1].bins == [0, 2, 1, 0, 0, 0, 0, 0, 0, 2]
    assert totals[2].bins == [0] * 10 and totals[2].records == 4
