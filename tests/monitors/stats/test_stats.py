"""dqm.monitors.stats.basic against independent oracles: scipy, numpy, Evidently's own stattests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.psi import _psi
from evidently.legacy.calculations.stattests.utils import get_binned_data
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test
from evidently.legacy.core import ColumnType
from scipy import stats as sps
from scipy.spatial import distance

import dqm.monitors.stats.basic as stats

SEEDS = [0, 1, 2]


def _samples(seed: int, n1: int, n2: int, discrete: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if discrete:
        return np.sort(rng.integers(0, 30, n1) * 1.0), np.sort(rng.integers(2, 33, n2) * 1.0)
    return np.sort(rng.normal(0, 1, n1)), np.sort(rng.normal(0.1, 1.3, n2))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n1", "n2"), [(50, 70), (300, 300), (900, 15000), (12000, 20000)])
def test_ks_matches_scipy(seed: int, n1: int, n2: int) -> None:
    a, b = _samples(seed, n1, n2, discrete=seed == 2)
    d, p = stats.ks_2samp_sorted(a, b)
    want = sps.ks_2samp(a, b)
    assert d == pytest.approx(want.statistic, rel=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", SEEDS)
def test_ks_statistic_matches_scipy_with_ties(seed: int) -> None:
    a, b = _samples(seed, 400, 333, discrete=True)
    assert stats.ks_statistic_sorted(a, b) == pytest.approx(sps.ks_2samp(a, b).statistic)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("n2", [777, 1000])
def test_wasserstein_matches_scipy(seed: int, discrete: bool, n2: int) -> None:
    a, b = _samples(seed, 1000, n2, discrete)
    assert stats.wasserstein_sorted(a, b) == pytest.approx(
        sps.wasserstein_distance(a, b), rel=1e-12
    )
    assert stats.wasserstein_norm(a, b, float(np.std(a))) == pytest.approx(
        sps.wasserstein_distance(a, b) / np.std(a), rel=1e-12
    )


def test_wasserstein_norm_floors_the_scale() -> None:
    # A constant reference has std 0; Evidently divides by 0.001 instead.
    assert stats.wasserstein_norm(np.array([1.0, 1.0]), np.array([1.5, 1.5]), 0.0) == 500.0


@pytest.mark.parametrize("seed", SEEDS)
def test_sturges_histogram_matches_numpy(seed: int) -> None:
    a, b = _samples(seed, 1234, 567)
    edges = stats.sturges_edges(a, b)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(np.concatenate([a, b]), "sturges"))
    np.testing.assert_array_equal(stats.sorted_histogram(a, edges), np.histogram(a, edges)[0])
    np.testing.assert_array_equal(stats.sorted_histogram(b, edges), np.histogram(b, edges)[0])


def test_sturges_histogram_on_bin_edges_and_constant() -> None:
    a = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    edges = stats.sturges_edges(a, a)
    np.testing.assert_array_equal(stats.sorted_histogram(a, edges), np.histogram(a, edges)[0])
    c = np.array([7.0, 7.0])
    np.testing.assert_array_equal(
        stats.sturges_edges(c, c), np.histogram_bin_edges(np.concatenate([c, c]), "sturges")
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_binned_jensenshannon_and_psi_match_evidently(seed: int) -> None:
    a, b = _samples(seed, 800, 500)
    edges = stats.sturges_edges(a, b)
    ref = stats.sorted_histogram(a, edges) / a.size
    cur = stats.sorted_histogram(b, edges) / b.size
    ev_ref, ev_cur = get_binned_data(pd.Series(a), pd.Series(b), ColumnType.Numerical, 30, False)
    np.testing.assert_allclose(ref, ev_ref, rtol=1e-15)
    assert stats.jensenshannon(ref, cur) == pytest.approx(
        distance.jensenshannon(ev_ref, ev_cur), rel=1e-12
    )
    want_psi = _psi(pd.Series(a), pd.Series(b), ColumnType.Numerical, 0.1)[0]
    got_psi = stats.psi(stats.fill_empty_bins(ref), stats.fill_empty_bins(cur))
    assert got_psi == pytest.approx(want_psi, rel=1e-12)


def test_fill_empty_bins_small_minimum_matches_evidently() -> None:
    ref = pd.Series(["a"] * 20000 + ["b"])
    cur = pd.Series(["a", "c"])
    ev_ref, ev_cur = get_binned_data(ref, cur, ColumnType.Categorical, 30, True)
    keys, rc, cc = stats.align_counts(
        np.array(["a", "b"], dtype=object), np.array([20000, 1]),
        np.array(["a", "c"], dtype=object), np.array([1, 1]),
    )  # fmt: skip
    assert keys.tolist() == ["a", "b", "c"]
    got_ref = stats.fill_empty_bins(rc / rc.sum())
    got_cur = stats.fill_empty_bins(cc / cc.sum())
    # Evidently orders the keys as a Python set does; the multiset of frequencies is what counts.
    np.testing.assert_allclose(np.sort(got_ref), np.sort(ev_ref), rtol=1e-15)
    np.testing.assert_allclose(np.sort(got_cur), np.sort(ev_cur), rtol=1e-15)
    assert got_ref[2] == pytest.approx(1 / 20001 / 1e6)


def test_psi_published_example() -> None:
    # Yurdakul (2018), Table 1 style: two bins 50/50 -> 25/75 gives 0.25 ln 3.
    assert stats.psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(
        0.25 * math.log(3)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_chisquare_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.integers(20, 200, 6)
    cur = rng.integers(20, 200, 6)
    stat, p = stats.chisquare_counts(ref, cur)
    want = sps.chisquare(cur, ref * cur.sum() / ref.sum())
    assert stat == pytest.approx(want.statistic, rel=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9)


def test_chisquare_unseen_category_is_certain_drift() -> None:
    stat, p = stats.chisquare_counts(np.array([10, 10, 0]), np.array([5, 5, 1]))
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
    got = stats.z_test_proportions(np.array(ref), np.array(cur))
    assert got == pytest.approx(want, rel=1e-9)


def test_z_test_hand_computed() -> None:
    # p1 = .4, p2 = .6, pooled .5, se = sqrt(.25 * (1/100 + 1/100)) = .0707..., z = -2.828...
    z = -0.2 / math.sqrt(0.25 * 0.02)
    want = math.erfc(abs(z) / math.sqrt(2))
    assert stats.z_test_proportions(np.array([60, 40]), np.array([40, 60])) == pytest.approx(
        want, rel=1e-9
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_adjusted_p_values_match_scipy(seed: int) -> None:
    p = np.random.default_rng(seed).random(17) ** 3
    np.testing.assert_allclose(
        stats.adjust_p_values(p.tolist(), "bh"), sps.false_discovery_control(p), rtol=1e-12
    )
    np.testing.assert_allclose(
        stats.adjust_p_values(p.tolist(), "bonferroni"), np.minimum(p * 17, 1.0)
    )


def test_sorted_value_counts_matches_numpy() -> None:
    v = np.sort(np.random.default_rng(0).integers(0, 7, 500) * 1.5)
    keys, counts = stats.sorted_value_counts(v)
    want_keys, want_counts = np.unique(v, return_counts=True)
    np.testing.assert_array_equal(keys, want_keys)
    np.testing.assert_array_equal(counts, want_counts)
