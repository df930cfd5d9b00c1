"""dqm.monitors.stats.extra against independent oracles: scipy, sklearn, Evidently's stattests."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.anderson_darling_stattest import _anderson_darling
from evidently.legacy.calculations.stattests.cramer_von_mises_stattest import _cvm_2samp
from evidently.legacy.calculations.stattests.hellinger_distance import _hellinger_distance
from evidently.legacy.calculations.stattests.kl_div import _kl_div
from evidently.legacy.calculations.stattests.mann_whitney_urank_stattest import (
    _mannwhitneyu_rank,
)
from evidently.legacy.calculations.stattests.tvd_stattest import _total_variation_distance
from evidently.legacy.core import ColumnType
from scipy import stats as sps

import dqm.monitors.stats.basic as stats
import dqm.monitors.stats.extra as stats_more

SEEDS = [0, 1, 2]


def _samples(seed: int, n1: int, n2: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n1), rng.normal(0.2, 1.2, n2)
    if ties:
        a, b = np.round(a * 3), np.round(b * 3)
    return np.sort(a), np.sort(b)


def _cat_counts(seed: int) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = pd.Series(rng.choice(list("abcd"), 300, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(list("abcde"), 200))
    keys = sorted(set(ref) | set(cur))
    rc = np.array([(ref == k).sum() for k in keys])
    cc = np.array([(cur == k).sum() for k in keys])
    return ref, cur, rc, cc


@pytest.mark.parametrize("seed", SEEDS)
def test_hellinger_categorical_matches_evidently(seed: int) -> None:
    ref, cur, rc, cc = _cat_counts(seed)
    want = _hellinger_distance(ref, cur, ColumnType.Categorical, 0.1)[0]
    assert stats_more.hellinger_counts(rc, cc) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_hellinger_numerical_matches_evidently(seed: int, ties: bool) -> None:
    a, b = _samples(seed, 500, 300, ties)
    keys = np.union1d(a, b)
    want = _hellinger_distance(pd.Series(a), pd.Series(b), ColumnType.Numerical, 0.1)[0]
    assert stats_more.hellinger_sorted(a, b, keys) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_kl_divergence_matches_scipy_and_evidently(seed: int) -> None:
    a, b = _samples(seed, 800, 600, ties=False)
    edges = stats.sturges_edges(a, b)
    p = stats.fill_empty_bins(stats.sorted_histogram(a, edges) / a.size)
    q = stats.fill_empty_bins(stats.sorted_histogram(b, edges) / b.size)
    assert stats_more.kl_divergence(p, q) == pytest.approx(sps.entropy(p, q), rel=1e-12)
    want = _kl_div(pd.Series(a), pd.Series(b), ColumnType.Numerical, 0.1)[0]
    assert stats_more.kl_divergence(p, q) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_total_variation_matches_evidently(seed: int) -> None:
    ref, cur, rc, cc = _cat_counts(seed)
    want = _total_variation_distance(ref, cur)
    assert stats_more.total_variation(rc, cc) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_energy_distance_matches_scipy(seed: int, ties: bool) -> None:
    a, b = _samples(seed, 700, 450, ties)
    want = sps.energy_distance(a, b)
    assert stats_more.energy_distance_sorted(a, b) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_mann_whitney_matches_scipy_and_evidently(seed: int, ties: bool) -> None:
    a, b = _samples(seed, 120, 90, ties)
    u, p = stats_more.mann_whitney_u(a, b)
    want = sps.mannwhitneyu(a, b, alternative="less")
    assert u == pytest.approx(sps.mannwhitneyu(a, b).statistic)
    assert p == pytest.approx(want.pvalue, rel=1e-9)
    assert p == pytest.approx(
        _mannwhitneyu_rank(pd.Series(a), pd.Series(b), None, 0.05)[0], rel=1e-9
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_cramer_von_mises_matches_scipy_and_evidently(seed: int, ties: bool) -> None:
    a, b = _samples(seed, 150, 100, ties)
    t, p = stats_more.cramer_von_mises_sorted(a, b)
    want = sps.cramervonmises_2samp(a, b, method="asymptotic")
    assert t == pytest.approx(want.statistic, rel=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(_cvm_2samp(a, b).pvalue, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shift", [0.0, 0.15, 1.0])
def test_anderson_darling_matches_scipy_and_evidently(seed: int, ties: bool, shift: float) -> None:
    a, b = _samples(seed, 200, 150, ties)
    stat, p = stats_more.anderson_darling_sorted(a, b + shift)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when the p-value is capped
        want = sps.anderson_ksamp([a, b + shift], variant="midrank")
        evidently = _anderson_darling(pd.Series(a), pd.Series(b + shift), None, 0.1)[0]
    assert stat == pytest.approx(want.statistic, rel=1e-10)
    assert p == pytest.approx(want.pvalue, rel=1e-9)
    assert p == pytest.approx(evidently, rel=1e-9)


@pytest.mark.parametrize(
    "table",
    [
        [[8, 2], [1, 5]],
        [[100, 50], [60, 90]],
        [[0, 5], [5, 0]],
        [[3, 3], [3, 3]],
        [[20, 1], [1, 0]],
    ],
)
def test_fisher_exact_matches_scipy(table: list[list[int]]) -> None:
    got = stats_more.fisher_exact_2x2(np.array(table))
    assert got == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-9)
