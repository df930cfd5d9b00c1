"""dqm.monitors.stats.kernels against sklearn's kernels and a naive permutation test."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import euclidean_distances, rbf_kernel

import dqm.monitors.stats.kernels as kernels

SEEDS = [0, 1, 2]


def _sklearn_mmd2(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    gamma = 1 / (2 * sigma**2)
    kxx, kyy, kxy = (rbf_kernel(a, b, gamma=gamma) for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.mean()
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_mmd_matches_sklearn_kernel_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # more rows than one block, so the blocked pass is exercised across block borders
    x, y = rng.normal(0, 1, (300, 3)), rng.normal(0.5, 1, (140, 3))
    want = _sklearn_mmd2(x, y, 1.3)
    assert kernels.mmd_rbf(x, y, 1.3) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_median_sigma_is_the_median_over_distinct_pairs(seed: int) -> None:
    pooled = np.random.default_rng(seed).normal(0, 2, (101, 2))
    dist = euclidean_distances(pooled, squared=True)
    want = np.sqrt(np.median(dist[np.triu_indices(101, k=1)]) / 2)
    assert kernels.median_sigma(pooled) == pytest.approx(want, rel=1e-9)
    x, y = pooled[:60], pooled[60:]
    assert kernels.mmd_rbf(x, y) == pytest.approx(_sklearn_mmd2(x, y, want), rel=1e-9)


def test_median_sigma_of_a_constant_sample_is_one() -> None:
    assert kernels.median_sigma(np.zeros((5, 1))) == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_permutation_p_value_matches_a_naive_permutation_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0, 1, 40), rng.normal(0.4, 1, 30)
    sigma, permutations = 0.9, 50
    stat, p = kernels.mmd_permutation_test(x, y, permutations, seed=7, sigma=sigma)
    pooled = np.concatenate([x, y]).reshape(-1, 1)
    perm_rng = np.random.default_rng(7)  # the documented relabelling: first 40 of a permutation
    exceed = 0
    observed = _sklearn_mmd2(pooled[:40], pooled[40:], sigma)
    for _ in range(permutations):
        order = perm_rng.permutation(70)
        is_x = np.zeros(70, dtype=bool)
        is_x[order[:40]] = True
        exceed += _sklearn_mmd2(pooled[is_x], pooled[~is_x], sigma) >= observed
    assert stat == pytest.approx(observed, rel=1e-9)
    assert p == pytest.approx((1 + exceed) / (1 + permutations), abs=1e-12)


def test_permutation_test_separates_shift_from_no_shift_and_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    x, same, shifted = rng.normal(0, 1, 300), rng.normal(0, 1, 300), rng.normal(0.6, 1, 300)
    assert kernels.mmd_permutation_test(x, shifted)[1] == pytest.approx(1 / 101)
    assert kernels.mmd_permutation_test(x, same)[1] > 0.05
    first = kernels.mmd_permutation_test(x, same, seed=5)
    assert kernels.mmd_permutation_test(x, same, seed=5) == first


def test_labellings_are_drawn_once_read_only_and_equal_to_the_seeded_permutations() -> None:
    first = kernels._labellings(7, 5, 20, 3)
    assert kernels._labellings(7, 5, 20, 3) is first  # kept, not drawn again
    assert not first.flags.writeable
    rng = np.random.default_rng(3)
    want = np.zeros((21, 12))
    want[0, :7] = 1.0
    for k in range(1, 21):
        want[k, rng.permutation(12)[:7]] = 1.0
    np.testing.assert_array_equal(first, want)
    with pytest.raises(ValueError):
        first[0, 0] = 0.0
