"""Baseline bounds against the standard library's statistics module and hand values."""

from __future__ import annotations

import math
import random
import statistics

import numpy as np
import pytest

from dqm.alerts.baseline import Baseline, baseline_bounds, bounds_from_values
from dqm.monitors.errors import InvalidInputError


def test_bounds_match_statistics_mean_and_stdev() -> None:
    rng = random.Random(3)
    for _ in range(20):
        values = [rng.gauss(5, 2) for _ in range(rng.randint(2, 40))]
        sigma = rng.uniform(0.5, 4)
        mean, sd = statistics.fmean(values), statistics.stdev(values)
        assert bounds_from_values(values, sigma) == pytest.approx(
            (mean - sigma * sd, mean + sigma * sd), rel=1e-12, abs=1e-12
        )


def test_bounds_match_numpy_ddof1_on_hand_example() -> None:
    values = [0.1, 0.12, 0.09, 0.11, 0.3]
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    assert bounds_from_values(values, 3) == pytest.approx((mean - 3 * sd, mean + 3 * sd))
    assert mean == pytest.approx(0.144) and sd == pytest.approx(0.0879204, abs=1e-7)


def test_non_finite_values_are_ignored_and_too_few_raise() -> None:
    assert bounds_from_values([1, math.inf, 3, math.nan], 1) == bounds_from_values([1, 3], 1)
    with pytest.raises(InvalidInputError):
        bounds_from_values([1.0, math.nan], 3)
    with pytest.raises(InvalidInputError):
        bounds_from_values([1.0, 2.0], 0)


def test_history_defaults_and_window() -> None:
    b = Baseline(baseline="history")
    assert (b.runs, b.min_runs, b.sigma) == (20, 5, 3.0)
    values = [float(v) for v in range(100)]
    # Only the last 20 (80..99) count: mean 89.5, stdev of 20 consecutive integers 5.91608.
    lo, hi = baseline_bounds(b, values) or (0.0, 0.0)
    assert (lo + hi) / 2 == pytest.approx(89.5)
    assert (hi - lo) / 6 == pytest.approx(statistics.stdev(values[-20:]))
    assert baseline_bounds(b, values[:4]) is None  # fewer than min_runs
    assert baseline_bounds(b, None) is None
    assert baseline_bounds(Baseline(baseline="history", runs=2), [1.0, 3.0]) is not None


def test_reference_needs_two_values() -> None:
    b = Baseline(baseline="reference", sigma=1)
    assert baseline_bounds(b, [1.0]) is None
    assert baseline_bounds(b, [1.0, 3.0]) == pytest.approx((2 - math.sqrt(2), 2 + math.sqrt(2)))
