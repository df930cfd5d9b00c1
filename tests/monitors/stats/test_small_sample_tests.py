"""Rank tests on small and degenerate samples against scipy, Evidently's stattests and hand counts.

Mann-Whitney follows scipy's ``method="auto"`` (exact when either sample has <= 8 values and
nothing is tied); Cramer-von Mises follows Evidently's own "exact" p-value up to 20 values.
"""

from __future__ import annotations

import warnings
from math import comb

import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.cramer_von_mises_stattest import _cvm_2samp
from evidently.legacy.calculations.stattests.mann_whitney_urank_stattest import (
    _mannwhitneyu_rank,
)
from scipy import stats as sps

import dqm.monitors.stats.exact_null as exact_null
import dqm.monitors.stats.hypothesis_tests as hypothesis_tests


def _random_pair(rng: np.random.Generator, max_n: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    n1, n2 = int(rng.integers(1, max_n + 1)), int(rng.integers(1, max_n + 1))
    a, b = rng.normal(0, 1, n1), rng.normal(rng.normal(0, 1), 1, n2)
    if ties:
        a, b = np.round(a * 2), np.round(b * 2)
    return np.sort(a), np.sort(b)


def _evidently_mannw(a: np.ndarray, b: np.ndarray) -> float:
    return float(_mannwhitneyu_rank(pd.Series(a), pd.Series(b), None, 0.05)[0])


def test_mann_whitney_three_against_twelve_is_exact_as_in_evidently() -> None:
    ref, cur = np.array([0.5, 1.5, 5.5]), np.arange(1.0, 13.0)
    u, p = hypothesis_tests.mann_whitney_u(ref, cur)
    # By hand: U(cur) = 36 - 6 = 30; 23 of the C(15, 3) = 455 orderings have U >= 30.
    assert u == 6.0
    assert p == pytest.approx(23 / comb(15, 3), rel=1e-12)
    assert p == pytest.approx(_evidently_mannw(ref, cur), rel=1e-12)
    assert round(p, 4) == 0.0505


@pytest.mark.parametrize("ties", [False, True])
def test_mann_whitney_matches_scipy_and_evidently_on_small_samples(ties: bool) -> None:
    rng = np.random.default_rng(20 + ties)
    exact_cases = 0
    for _ in range(300):
        a, b = _random_pair(rng, 25, ties)
        u, p = hypothesis_tests.mann_whitney_u(a, b)
        want = sps.mannwhitneyu(a, b, alternative="less")
        assert u == pytest.approx(sps.mannwhitneyu(a, b).statistic, abs=1e-12)
        assert p == pytest.approx(want.pvalue, rel=1e-10, abs=1e-15), (a, b)
        assert p == pytest.approx(_evidently_mannw(a, b), rel=1e-10, abs=1e-15)
        pooled = np.concatenate([a, b])
        exact_cases += min(a.size, b.size) <= 8 and np.unique(pooled).size == pooled.size
    if not ties:
        assert exact_cases > 50  # the exact branch was exercised


@pytest.mark.parametrize(("n1", "n2"), [(1, 1), (3, 30), (30, 3), (25, 25)])
def test_mann_whitney_on_a_constant_column_is_p_one(n1: int, n2: int) -> None:
    a, b = np.full(n1, 4.0), np.full(n2, 4.0)
    u, p = hypothesis_tests.mann_whitney_u(a, b)
    assert (u, p) == (sps.mannwhitneyu(a, b).statistic, 1.0)
    assert sps.mannwhitneyu(a, b, alternative="less").pvalue == 1.0
    assert _evidently_mannw(a, b) == 1.0


@pytest.mark.parametrize("n", [1, 4, 8])
def test_exact_mann_whitney_tail_matches_scipy_for_a_large_other_sample(n: int) -> None:
    rng = np.random.default_rng(n)
    a, b = np.sort(rng.normal(0.3, 1, n)), np.sort(rng.normal(0, 1, 1500))
    want = sps.mannwhitneyu(a, b, alternative="less", method="exact").pvalue
    assert hypothesis_tests.mann_whitney_u(a, b)[1] == pytest.approx(want, rel=1e-10)


def test_exact_mann_whitney_distribution_against_brute_force() -> None:
    # Every placement of 3 values among 7 ranks: U counts how many cur values lie below ref.
    m, n = 3, 4
    us = []
    for chosen in np.array(np.meshgrid(*[range(m + n)] * m)).reshape(m, -1).T:
        if len(set(chosen)) == m and list(chosen) == sorted(chosen):
            us.append(sum(int(c) - i for i, c in enumerate(chosen)))
    for k in range(m * n + 1):
        want = sum(u >= k for u in us) / comb(m + n, m)
        assert exact_null.mann_whitney_sf(k, m, n) == pytest.approx(want, rel=1e-12)


def test_cramer_von_mises_small_samples_match_evidently() -> None:
    rng = np.random.default_rng(5)
    differs_from_scipy = evidently_fails = 0
    for i in range(250):
        a, b = _random_pair(rng, 20, ties=i % 2 == 1)
        if min(a.size, b.size) < 2:
            assert np.isnan(hypothesis_tests.cramer_von_mises_sorted(a, b)[1])
            continue
        t, p = hypothesis_tests.cramer_von_mises_sorted(a, b)
        scipy_exact = sps.cramervonmises_2samp(a, b, method="exact")
        assert t == pytest.approx(scipy_exact.statistic, rel=1e-12)
        try:
            want = _cvm_2samp(a, b).pvalue
        except TypeError:
            # Evidently's in-place add into an integer table fails under NumPy 2; that table is
            # exact integer arithmetic, i.e. scipy's exact p-value.
            evidently_fails += 1
            assert p == pytest.approx(scipy_exact.pvalue, rel=1e-12, abs=1e-15)
            continue
        assert p == want
        differs_from_scipy += abs(p - scipy_exact.pvalue) > 1e-9
    assert differs_from_scipy > 10 and evidently_fails > 10


def test_anderson_darling_on_three_values_is_undefined_not_an_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(sps.anderson_ksamp([[1.0, 2.0], [3.0]], variant="midrank").pvalue)
    for a, b in (([1.0, 2.0], [3.0]), ([1.0], [1.0])):
        assert np.isnan(hypothesis_tests.anderson_darling_sorted(np.array(a), np.array(b))[1])
