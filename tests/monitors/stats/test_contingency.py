"""The two-sample contingency chi-square against scipy.stats.chi2_contingency."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from dqm.monitors.stats.contingency import chi2_contingency_counts, chi2_sf


@pytest.mark.parametrize("levels", [2, 3, 7, 20])
@pytest.mark.parametrize("seed", range(3))
def test_matches_scipy_chi2_contingency_without_correction(levels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.multinomial(300, rng.dirichlet(np.ones(levels)))
    cur = rng.multinomial(500, rng.dirichlet(np.ones(levels)))
    table = np.vstack([ref, cur])
    expected = sps.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)
    stat, p = chi2_contingency_counts(ref, cur)
    assert stat == pytest.approx(expected.statistic, rel=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_a_category_seen_in_one_window_only_counts() -> None:
    stat, p = chi2_contingency_counts(np.array([40, 60, 0]), np.array([35, 55, 10]))
    expected = sps.chi2_contingency([[40, 60, 0], [35, 55, 10]], correction=False)
    assert (stat, p) == pytest.approx((expected.statistic, expected.pvalue))
    assert p < 0.01


def test_two_by_two_hand_value() -> None:
    # Pooled shares 0.4 / 0.6 of 200: expected 40 / 60 per row, deviations of 10 in each cell.
    stat, p = chi2_contingency_counts(np.array([50, 50]), np.array([30, 70]))
    assert stat == pytest.approx(100 / 40 * 2 + 100 / 60 * 2)
    assert p == pytest.approx(sps.chi2.sf(stat, 1))


def test_single_category_is_no_evidence() -> None:
    assert chi2_contingency_counts(np.array([12, 0]), np.array([30, 0])) == (0.0, 1.0)


@pytest.mark.parametrize("df", [0, 1, 2, 7, 99, 12345])
def test_chi2_sf_equals_scipy(df: int) -> None:
    for stat in [0.0, 1e-300, 0.5, 1.0, 3.84, 50.0, 1e3, 1e5, 1e7, math.inf, -1.0, math.nan]:
        got, want = chi2_sf(stat, df), float(sps.chi2.sf(stat, df))
        assert got == want or (math.isnan(got) and math.isnan(want)), (stat, df)
