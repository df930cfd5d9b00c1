"""dqm.monitors.stats.hypothesis_tests against scipy, Evidently's stattests and hand derivations."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.anderson_darling_stattest import _anderson_darling
from evidently.legacy.calculations.stattests.cramer_von_mises_stattest import _cvm_2samp
from evidently.legacy.calculations.stattests.mann_whitney_urank_stattest import (
    _mannwhitneyu_rank,
)
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test
from evidently.legacy.core import ColumnType
from scipy import stats as sps

import dqm.monitors.stats.hypothesis_tests as hypothesis_tests
from tests.monitors.stats.samples import samples, samples_with_ties

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n1", "n2"), [(50, 70), (300, 300), (900, 15000), (12000, 20000)])
def test_ks_matches_scipy(seed: int, n1: int, n2: int) -> None:
    a, b = samples(seed, n1, n2, discrete=seed == 2)
    d, p = hypothesis_tests.ks_2samp_sorted(a, b)
    want = sps.ks_2samp(a, b)
    assert d == pytest.approx(want.statistic, rel=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", SEEDS)
def test_ks_statistic_matches_scipy_with_ties(seed: int) -> None:
    a, b = samples(seed, 400, 333, discrete=True)
    assert hypothesis_tests.ks_statistic_sorted(a, b) == pytest.approx(sps.ks_2samp(a, b).statistic)


@pytest.mark.parametrize("seed", SEEDS)
def test_chisquare_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.integers(20, 200, 6)
    cur = rng.integers(20, 200, 6)
    stat, p = hypothesis_tests.chisquare_counts(ref, cur)
    want = sps.chisquare(cur, ref * cur.sum() / ref.sum())
    assert stat == pytest.approx(want.statistic, rel=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9)


def test_chisquare_unseen_category_is_certain_drift() -> None:
    stat, p = hypothesis_tests.chisquare_counts(np.array([10, 10, 0]), np.array([5, 5, 1]))
    assert math.isinf(stat)
    assert p == 0.0


@pytest.mark.parametrize(
    ("ref", "cur"),
    [([60, 40], [40, 60]), ([500, 3], [480, 30]), ([7, 0], [0, 9]), ([12, 0], [12, 0])],
)
def test_z_test_matches_evidently(ref: list[int], cur: list[int]) -> None:
    ref_s = pd.Series(["a"] * ref[0] + ["b"] * ref[1])
    cur_s = pd.Series(["a"] * cur[0] + ["b"] * cur[1])
    want = _z_stat_test(ref_s, cur_s, ColumnType.Categorical, 0.05)[0]
    got = hypothesis_tests.z_test_proportions(np.array(ref), np.array(cur))
    assert got == pytest.approx(want, rel=1e-9)


def test_z_test_hand_computed() -> None:
    # p1 = .4, p2 = .6, pooled .5, se = sqrt(.25 * (1/100 + 1/100)) = .0707..., z = -2.828...
    z = -0.2 / math.sqrt(0.25 * 0.02)
    want = math.erfc(abs(z) / math.sqrt(2))
    assert hypothesis_tests.z_test_proportions(
        np.array([60, 40]), np.array([40, 60])
    ) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_mann_whitney_matches_scipy_and_evidently(seed: int, ties: bool) -> None:
    a, b = samples_with_ties(seed, 120, 90, ties)
    u, p = hypothesis_tests.mann_whitney_u(a, b)
    want = sps.mannwhitneyu(a, b, alternative="less")
    assert u == pytest.approx(sps.mannwhitneyu(a, b).statistic)
    assert p == pytest.approx(want.pvalue, rel=1e-9)
    assert p == pytest.approx(
        _mannwhitneyu_rank(pd.Series(a), pd.Series(b), None, 0.05)[0], rel=1e-9
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_cramer_von_mises_matches_scipy_and_evidently(seed: int, ties: bool) -> None:
    a, b = samples_with_ties(seed, 150, 100, ties)
    t, p = hypothesis_tests.cramer_von_mises_sorted(a, b)
    want = sps.cramervonmises_2samp(a, b, method="asymptotic")
    assert t == pytest.approx(want.statistic, rel=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(_cvm_2samp(a, b).pvalue, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shift", [0.0, 0.15, 1.0])
def test_anderson_darling_matches_scipy_and_evidently(seed: int, ties: bool, shift: float) -> None:
    a, b = samples_with_ties(seed, 200, 150, ties)
    stat, p = hypothesis_tests.anderson_darling_sorted(a, b + shift)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when the p-value is capped
        want = sps.anderson_ksamp([a, b + shift], variant="midrank")
        evidently = _anderson_darling(pd.Series(a), pd.Series(b + shift), None, 0.1)[0]
    assert stat == pytest.approx(want.statistic, rel=1e-10)
    assert p == pytest.approx(want.pvalue, rel=1e-9)
    assert p == pytest.approx(evidently, rel=1e-9)
