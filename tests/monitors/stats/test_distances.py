"""dqm.monitors.stats.distances against scipy, Evidently's own stattests and published examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.hellinger_distance import _hellinger_distance
from evidently.legacy.calculations.stattests.kl_div import _kl_div
from evidently.legacy.calculations.stattests.psi import _psi
from evidently.legacy.calculations.stattests.tvd_stattest import _total_variation_distance
from evidently.legacy.calculations.stattests.utils import get_binned_data
from evidently.legacy.core import ColumnType
from scipy import stats as sps
from scipy.spatial import distance

import dqm.monitors.stats.binning as binning
import dqm.monitors.stats.distances as distances
from tests.monitors.stats.samples import samples, samples_with_ties

SEEDS = [0, 1, 2]


def _cat_counts(seed: int) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = pd.Series(rng.choice(list("abcd"), 300, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(list("abcde"), 200))
    keys = sorted(set(ref) | set(cur))
    rc = np.array([(ref == k).sum() for k in keys])
    cc = np.array([(cur == k).sum() for k in keys])
    return ref, cur, rc, cc


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("n2", [777, 1000])
def test_wasserstein_matches_scipy(seed: int, discrete: bool, n2: int) -> None:
    a, b = samples(seed, 1000, n2, discrete)
    assert distances.wasserstein_sorted(a, b) == pytest.approx(
        sps.wasserstein_distance(a, b), rel=1e-12
    )
    assert distances.wasserstein_norm(a, b, float(np.std(a))) == pytest.approx(
        sps.wasserstein_distance(a, b) / np.std(a), rel=1e-12
    )


@pytest.mark.parametrize("block", [1, 3, 64])
@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize(("n1", "n2"), [(1, 2), (2, 1), (1, 97), (97, 1), (50, 137), (137, 50)])
def test_wasserstein_in_blocks_matches_scipy(
    monkeypatch: pytest.MonkeyPatch, block: int, discrete: bool, n1: int, n2: int
) -> None:
    # Unequal sizes merge the quantile steps one block at a time: block edges anywhere
    # (ties on them included) must not change the distance.
    monkeypatch.setattr(distances, "QUANTILE_BLOCK", block)
    a, b = samples(7, n1, n2, discrete)
    assert distances.wasserstein_sorted(a, b) == pytest.approx(
        sps.wasserstein_distance(a, b), rel=1e-12
    )


def test_wasserstein_norm_floors_the_scale() -> None:
    # A constant reference has std 0; Evidently divides by 0.001 instead.
    assert distances.wasserstein_norm(np.array([1.0, 1.0]), np.array([1.5, 1.5]), 0.0) == 500.0


@pytest.mark.parametrize("seed", SEEDS)
def test_binned_jensenshannon_and_psi_match_evidently(seed: int) -> None:
    a, b = samples(seed, 800, 500)
    edges = binning.sturges_edges(a, b)
    ref = binning.sorted_histogram(a, edges) / a.size
    cur = binning.sorted_histogram(b, edges) / b.size
    ev_ref, ev_cur = get_binned_data(pd.Series(a), pd.Series(b), ColumnType.Numerical, 30, False)
    np.testing.assert_allclose(ref, ev_ref, rtol=1e-15)
    assert distances.jensenshannon(ref, cur) == pytest.approx(
        distance.jensenshannon(ev_ref, ev_cur), rel=1e-12
    )
    want_psi = _psi(pd.Series(a), pd.Series(b), ColumnType.Numerical, 0.1)[0]
    got_psi = distances.psi(binning.fill_empty_bins(ref), binning.fill_empty_bins(cur))
    assert got_psi == pytest.approx(want_psi, rel=1e-12)


def test_psi_published_example() -> None:
    # Yurdakul (2018), Table 1 style: two bins 50/50 -> 25/75 gives 0.25 ln 3.
    assert distances.psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(
        0.25 * math.log(3)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_hellinger_categorical_matches_evidently(seed: int) -> None:
    ref, cur, rc, cc = _cat_counts(seed)
    want = _hellinger_distance(ref, cur, ColumnType.Categorical, 0.1)[0]
    assert distances.hellinger_counts(rc, cc) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_hellinger_numerical_matches_evidently(seed: int, ties: bool) -> None:
    a, b = samples_with_ties(seed, 500, 300, ties)
    keys = np.union1d(a, b)
    want = _hellinger_distance(pd.Series(a), pd.Series(b), ColumnType.Numerical, 0.1)[0]
    assert distances.hellinger_sorted(a, b, keys) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_kl_divergence_matches_scipy_and_evidently(seed: int) -> None:
    a, b = samples_with_ties(seed, 800, 600, ties=False)
    edges = binning.sturges_edges(a, b)
    p = binning.fill_empty_bins(binning.sorted_histogram(a, edges) / a.size)
    q = binning.fill_empty_bins(binning.sorted_histogram(b, edges) / b.size)
    assert distances.kl_divergence(p, q) == pytest.approx(sps.entropy(p, q), rel=1e-12)
    want = _kl_div(pd.Series(a), pd.Series(b), ColumnType.Numerical, 0.1)[0]
    assert distances.kl_divergence(p, q) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_total_variation_matches_evidently(seed: int) -> None:
    ref, cur, rc, cc = _cat_counts(seed)
    want = _total_variation_distance(ref, cur)
    assert distances.total_variation(rc, cc) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_energy_distance_matches_scipy(seed: int, ties: bool) -> None:
    a, b = samples_with_ties(seed, 700, 450, ties)
    want = sps.energy_distance(a, b)
    assert distances.energy_distance_sorted(a, b) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("seed", range(30))
def test_jensenshannon_over_the_window_keys_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 3000))
    ref = rng.integers(0, 5, k) * rng.integers(0, 2, k)  # many empty keys
    ref[rng.integers(0, k)] += 1  # at least one reference value
    cur = np.zeros(k, dtype=np.int64)
    if seed % 3 == 0:
        cur = ref * 2  # the same distribution: distance 0
    else:
        cur[rng.integers(0, k, int(rng.integers(1, 50)))] += 1  # incl. keys unseen in ref
    want = float(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))
    got = distances.jensenshannon_counts(ref, cur)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
