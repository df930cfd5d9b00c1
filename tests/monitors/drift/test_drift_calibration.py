"""False alarms and power of ``policy="calibrated"`` on seeded simulated windows.

Null windows come from one distribution, so each flagged column is a false alarm. The share
flagged must stay within the nominal 5% plus 3 binomial standard errors of the number of
columns simulated; under Evidently's policy the 3-20-category columns exceed that bound at
1,000 rows, which shows the check can fail. Samples: :mod:`bench.drift_calibration`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.drift_calibration import any_flag_share, column_pair, measure
from dqm.monitors.drift.params import DriftParams

ALPHA = 0.05
CALIBRATED = DriftParams(policy="calibrated")
CATEGORIES = [f"categorical {levels}" for levels in range(3, 21)]
# Columns simulated per window size: numerical, and each of the 18 category counts.
PLAN = {1_000: (180, 10), 100_000: (90, 5), 1_000_000: (18, 3)}


def bound(share: float, trials: int) -> float:
    """``share`` plus 3 binomial standard errors for ``trials`` independent columns or runs."""
    return share + 3 * math.sqrt(share * (1 - share) / trials)


def null_flags(n: int, params: DriftParams, seed: int) -> tuple[int, int, int]:
    """Flagged numerical columns, flagged categorical columns, and the number of columns."""
    numerical, per_level = PLAN[n]
    rng = np.random.default_rng(seed)
    num = sum(
        bool(measure(column_pair(rng, n, "numerical"), params).drifted) for _ in range(numerical)
    )
    cat = sum(
        bool(measure(column_pair(rng, n, kind), params).drifted)
        for kind in CATEGORIES
        for _ in range(per_level)
    )
    return num, cat, numerical + per_level * len(CATEGORIES)


@pytest.mark.slow
@pytest.mark.parametrize("floor", [None, 0.0], ids=["default_floor", "no_floor"])
@pytest.mark.parametrize("n", sorted(PLAN))
def test_calibrated_null_share_is_at_most_nominal(n: int, floor: float | None) -> None:
    # Without the floor the two-sample tests alone must hold the nominal rate.
    params = CALIBRATED.model_copy(update={"effect_size_floor": floor})
    num, cat, columns = null_flags(n, params, seed=n % 1009)
    assert (num + cat) / columns <= bound(ALPHA, columns)


@pytest.mark.slow
def test_evidently_chisquare_exceeds_the_bound_at_1000_rows() -> None:
    _, cat, _ = null_flags(1_000, DriftParams(), seed=5)
    categorical = PLAN[1_000][1] * len(CATEGORIES)
    assert cat / categorical > bound(ALPHA, categorical)


@pytest.mark.slow
def test_bh_keeps_runs_with_any_false_column_at_alpha() -> None:
    runs = 150  # of 20 columns: 10 numerical, 10 with 3-12 categories
    share = any_flag_share(1_000, runs, CALIBRATED.model_copy(update={"multiple_testing": "bh"}), 3)
    assert share <= bound(ALPHA, runs)
    without = any_flag_share(1_000, runs, CALIBRATED, 3)
    assert without > bound(ALPHA, runs)  # 20 uncorrected tests: about 1 - 0.95**20 = 64%


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["numerical", "categorical 3", "categorical 10", "categorical 20"])
def test_a_tenth_of_a_standard_deviation_is_flagged_at_100k(kind: str) -> None:
    rng = np.random.default_rng(11)
    outcomes = [measure(column_pair(rng, 100_000, kind, shift=0.1), CALIBRATED) for _ in range(10)]
    assert all(o.drifted for o in outcomes)
    floor = outcomes[0].details["effect_size_floor"]
    assert all(o.effect_size is not None and o.effect_size >= floor for o in outcomes)


@pytest.mark.slow
def test_floor_stops_a_trivial_shift_that_the_test_detects_at_1m() -> None:
    rng = np.random.default_rng(12)
    o = measure(column_pair(rng, 1_000_000, "numerical", shift=0.02), CALIBRATED)
    assert o.details["p_value"] < 1e-6  # KS sees 0.02 sd at a million rows
    assert o.effect_size == pytest.approx(0.02, abs=0.005)
    assert o.drifted is False
