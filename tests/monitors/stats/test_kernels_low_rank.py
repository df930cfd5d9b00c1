"""The one-feature MMD path (low-rank kernel sums, exact median selection) against direct
O(n^2) computations over every pair, and against the dense blocked pass it replaces."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import dqm.monitors.stats.kernels as kernels

Sampler = Callable[[np.random.Generator, int], np.ndarray]
SAMPLES: dict[str, Sampler] = {
    "normal": lambda r, n: r.normal(0.0, 1.0, n),
    "lognormal": lambda r, n: r.lognormal(0.0, 1.0, n),
    "cauchy": lambda r, n: r.standard_cauchy(n),
    "rounded": lambda r, n: np.round(r.normal(0.0, 1.0, n), 1),
    "three_values": lambda r, n: r.integers(0, 3, n).astype(np.float64),
    "constant": lambda r, n: np.full(n, 2.5),
    "offset": lambda r, n: r.normal(1e3, 1.0, n),
}


def _direct_median_sq(z: np.ndarray) -> float:
    """np.median over every pair i < j of (z_i - z_j)^2."""
    i, j = np.triu_indices(len(z), k=1)
    return float(np.median((z[i] - z[j]) ** 2))


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("n", [2, 3, 4, 57, 1000])
def test_median_of_squared_differences_is_exact(name: str, n: int) -> None:
    z = SAMPLES[name](np.random.default_rng(n), n)
    assert kernels._median_sq_diff_1d(z) == _direct_median_sq(z)


def test_median_sigma_subsamples_then_takes_the_exact_median() -> None:
    pooled = np.random.default_rng(4).normal(0.0, 3.0, 2500)
    sub = pooled[np.random.default_rng(9).choice(2500, 1000, replace=False)]
    want = np.sqrt(_direct_median_sq(sub) / 2.0)
    assert kernels.median_sigma(pooled.reshape(-1, 1), seed=9) == want
    assert kernels.median_sigma(np.array([[1.0]])) == 1.0  # no pair


def test_median_selection_survives_a_bracket_that_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    # two random pairs cannot bracket the median: every pair is listed instead
    monkeypatch.setattr(kernels, "_MEDIAN_BRACKET_PAIRS", 2)
    z = np.random.default_rng(2).normal(0.0, 1.0, 300)
    assert kernels._median_sq_diff_1d(z) == _direct_median_sq(z)


@pytest.mark.parametrize("t", [0.0, 0.1, 0.3, 1e-17, 2.0])
def test_first_at_least_counts_the_rounded_differences(t: float) -> None:
    s = np.sort(np.round(np.random.default_rng(1).normal(0.0, 1.0, 200), 1))
    got = kernels._first_at_least(s, t)
    for i in range(len(s)):
        later = np.nonzero(s[i + 1 :] - s[i] >= t)[0]
        assert got[i] == (i + 1 + later[0] if later.size else len(s))


def _direct_test(
    x: np.ndarray, y: np.ndarray, sigma: float, permutations: int, seed: int
) -> tuple[float, np.ndarray]:
    """Unbiased MMD^2 of the observed split and of each documented relabelling (the first m
    of rng.permutation): every kernel value from (a - b)^2, summed over the pairs of each
    index set (0/1 vectors l: l' K l over the explicit matrix, diagonal zeroed)."""
    z = np.concatenate([x, y])
    m, size = len(x), len(z)
    kern = np.exp(-((z[:, None] - z[None, :]) ** 2) / (2.0 * sigma**2))
    np.fill_diagonal(kern, 0.0)
    rng = np.random.default_rng(seed)
    firsts = [np.arange(m)] + [rng.permutation(size)[:m] for _ in range(permutations)]
    is_first = np.zeros((len(firsts), size))
    for row, first in zip(is_first, firsts, strict=True):
        row[first] = 1.0
    is_second = 1.0 - is_first
    n = size - m

    def pair_sums(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.einsum("ki,ki->k", a, b @ kern)
        return out

    stats = (
        pair_sums(is_first, is_first) / (m * (m - 1))
        + pair_sums(is_second, is_second) / (n * (n - 1))
        - 2.0 * pair_sums(is_first, is_second) / (m * n)
    )
    return float(stats[0]), stats[1:]


def _no_dense(*args: object) -> None:
    raise AssertionError("the dense pass ran")


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("shift", [0.0, 0.4])
def test_low_rank_test_matches_direct_sums_over_every_pair(
    name: str, shift: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(len(name))
    x, y = SAMPLES[name](rng, 700), SAMPLES[name](rng, 500) + shift
    sigma = kernels.median_sigma(np.concatenate([x, y]).reshape(-1, 1), 3)
    monkeypatch.setattr(kernels, "_labelled_sums", _no_dense)
    stat, p = kernels.mmd_permutation_test(x, y, permutations=60, seed=3)
    observed, permuted = _direct_test(x, y, sigma, 60, 3)
    # the factorisation's proven bound plus the direct sums' own rounding
    tol = kernels.LOW_RANK_STAT_TOL + 1e-14
    assert stat == pytest.approx(observed, rel=1e-10, abs=tol)
    # p-values agree unless a relabelling ties the observed statistic within that bound
    low = (1 + np.sum(permuted > observed + tol)) / 61
    high = (1 + np.sum(permuted >= observed - tol)) / 61
    assert low <= p <= high
    if low == high:
        assert p == (1 + np.sum(permuted >= observed)) / 61


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_low_rank_and_dense_passes_agree(name: str) -> None:
    rng = np.random.default_rng(7)
    x, y = SAMPLES[name](rng, 1500), SAMPLES[name](rng, 1200) + 0.05
    z = np.concatenate([x, y])
    sigma = kernels.median_sigma(z.reshape(-1, 1))
    labels = kernels._labellings(1500, 1200, 30, 0)
    fast = kernels._low_rank_sums(z, labels, sigma, 1500)
    assert fast is not None
    dense = kernels._labelled_sums((z - z.mean()).reshape(-1, 1), labels.T, sigma)
    got, want = (kernels._unbiased_mmd2(*s, 1500, 1200) for s in (fast, dense))
    # the dense pass forms distances as |a|^2 + |b|^2 - 2ab (centred): its own rounding is
    # the larger part of the difference (the direct-sum test holds the low-rank path tighter)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_a_rank_above_the_cap_falls_back_to_the_dense_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    x, y = rng.standard_cauchy(400), rng.standard_cauchy(300) + 0.5
    sigma = kernels.median_sigma(np.concatenate([x, y]).reshape(-1, 1))
    want = _direct_test(x, y, sigma, 40, 1)
    monkeypatch.setattr(kernels, "LOW_RANK_MAX", 5)
    assert kernels._pivoted_cholesky_1d(np.concatenate([x, y]), sigma, 1e-12, 5) is None
    calls: list[int] = []
    dense = kernels._labelled_sums

    def counted(*args: object) -> object:
        calls.append(1)
        return dense(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(kernels, "_labelled_sums", counted)
    stat, p = kernels.mmd_permutation_test(x, y, permutations=40, seed=1)
    assert calls == [1]
    assert stat == pytest.approx(want[0], rel=1e-10, abs=1e-14)
    assert p == (1 + np.sum(want[1] >= want[0])) / 41


def test_factor_residual_is_within_the_trace_it_reports() -> None:
    v = np.random.default_rng(5).lognormal(0.0, 1.0, 600)
    sigma = 0.7
    gt = kernels._pivoted_cholesky_1d(v, sigma, 1e-10, 200)
    assert gt is not None and gt.shape[0] < 200
    kern = np.exp(-((v[:, None] - v[None, :]) ** 2) / (2.0 * sigma**2))
    residual = kern - gt.T @ gt
    # PSD up to rounding, trace within the stopping rule
    assert np.trace(residual) <= 1e-10 + 1e-12
    assert np.linalg.eigvalsh(residual).min() > -1e-12


def test_projection_in_blocks_equals_one_product() -> None:
    rng = np.random.default_rng(0)
    gt, labels = rng.normal(size=(37, 1003)), (rng.random((101, 1003)) < 0.5).astype(np.float64)
    np.testing.assert_allclose(kernels._project(gt, labels), labels @ gt.T, rtol=0, atol=1e-11)


def test_subsample_test_on_a_million_row_reference_matches_the_direct_sums() -> None:
    rng = np.random.default_rng(0)
    ref, cur = np.sort(rng.normal(0.0, 1.0, 1_000_000)), np.sort(rng.normal(0.05, 1.05, 10_000))
    stat, p = kernels.mmd_subsample_test(ref, cur)
    pick = np.random.default_rng(0)
    x, y = ref[pick.choice(len(ref), 2000, replace=False)], cur[pick.choice(len(cur), 2000, False)]
    sigma = np.sqrt(
        _direct_median_sq(
            np.concatenate([x, y])[np.random.default_rng(0).choice(4000, 1000, replace=False)]
        )
        / 2
    )
    observed, permuted = _direct_test(x, y, sigma, 100, 0)
    assert stat == pytest.approx(observed, rel=1e-10, abs=1e-13)
    assert p == (1 + np.sum(permuted >= observed)) / 101


def test_cached_row_draws_equal_the_seeded_draws_and_are_read_only() -> None:
    rows = kernels._seeded_rows(4000, 1000, 5)
    assert rows is kernels._seeded_rows(4000, 1000, 5) and not rows.flags.writeable
    np.testing.assert_array_equal(rows, np.random.default_rng(5).choice(4000, 1000, replace=False))
    first, second = kernels._subsample_rows((50_000, 3000), 2000, 7)
    rng = np.random.default_rng(7)  # one generator: first side first
    assert first is not None and second is not None and not first.flags.writeable
    np.testing.assert_array_equal(first, rng.choice(50_000, 2000, replace=False))
    np.testing.assert_array_equal(second, rng.choice(3000, 2000, replace=False))
    # a side within the limit is kept whole and draws nothing
    only, whole = kernels._subsample_rows((3000, 1500), 2000, 7)
    assert whole is None and only is not None
    np.testing.assert_array_equal(only, np.random.default_rng(7).choice(3000, 2000, replace=False))
    a, b = kernels._bracket_pairs(300, 64)
    want = np.random.default_rng(0).integers(0, 300, (2, 64))
    keep = want[0] != want[1]
    np.testing.assert_array_equal(a, want[0][keep])
    np.testing.assert_array_equal(b, want[1][keep])


@pytest.mark.parametrize("n", [500, 1000])
def test_median_selection_is_exact_when_the_bracket_ends_are_tied(n: int) -> None:
    # few distinct differences: both bracket ends land on a tied value, the listed pairs
    # include every pair at the ends
    for levels in (2, 3, 7):
        z = np.random.default_rng(levels).integers(0, levels, n).astype(np.float64)
        assert kernels._median_sq_diff_1d(z) == _direct_median_sq(z)


def test_subsample_test_on_small_samples_uses_every_row() -> None:
    rng = np.random.default_rng(8)
    x, y = rng.normal(0.0, 1.0, 300), rng.normal(0.3, 1.0, 2500)
    stat, p = kernels.mmd_subsample_test(x, y, max_rows=2000, seed=4)
    sub = y[np.random.default_rng(4).choice(2500, 2000, replace=False)]  # x is kept whole
    assert (stat, p) == kernels.mmd_permutation_test(x, sub, 100, 4)
    sigma = kernels.median_sigma(np.concatenate([x, sub]).reshape(-1, 1), 4)
    observed = _direct_test(x, sub, sigma, 100, 4)[0]
    assert stat == pytest.approx(observed, rel=1e-10, abs=1e-13)


def _landmark_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(21)
    return [
        ("normal", rng.normal(0.0, 1.0, 900)),
        ("lognormal", rng.lognormal(0.0, 1.0, 900)),
        ("rounded", np.round(rng.normal(0.0, 1.0, 900), 1)),
        ("three_values", rng.integers(0, 3, 900).astype(np.float64)),
        ("narrow", rng.normal(5.0, 1e-3, 900)),
    ]


@pytest.mark.parametrize(("name", "v"), _landmark_cases())
def test_landmark_factor_is_a_psd_approximation_within_its_trace(name: str, v: np.ndarray) -> None:
    sigma = kernels.median_sigma(v.reshape(-1, 1))
    factor = kernels._KernelFactor(v, sigma, 200)
    assert factor._grid is not None  # the factor starts from the grid's landmarks
    for max_trace in (1e-2, 1e-6, 1e-12):
        assert factor.extend(max_trace)
        kern = np.exp(-((v[:, None] - v[None, :]) ** 2) / (2.0 * sigma**2))
        residual = kern - factor.rows.T @ factor.rows
        # the diagonal it keeps is the residual's (to rounding), the residual is PSD
        np.testing.assert_allclose(factor.residual, np.diag(residual), rtol=0, atol=1e-13)
        assert np.trace(residual) <= max_trace + 1e-12
        assert np.linalg.eigvalsh(residual).min() > -1e-12


def test_greedy_pivots_continue_where_the_landmarks_end(monkeypatch: pytest.MonkeyPatch) -> None:
    v = np.random.default_rng(3).normal(0.0, 1.0, 800)
    sigma = kernels.median_sigma(v.reshape(-1, 1))
    kernels._grid_landmarks.cache_clear()
    monkeypatch.setattr(kernels, "_GRID_MAX_RANK", 6)
    try:
        factor = kernels._KernelFactor(v, sigma, 200)
        assert factor._grid is not None and factor._grid.at.size == 6
        assert factor.extend(1e-11)
        assert factor.rank > 6 and len(factor.pivots) == factor.rank - 6
        kern = np.exp(-((v[:, None] - v[None, :]) ** 2) / (2.0 * sigma**2))
        residual = kern - factor.rows.T @ factor.rows
        assert np.trace(residual) <= 1e-11 + 1e-12
        assert np.linalg.eigvalsh(residual).min() > -1e-12
    finally:
        kernels._grid_landmarks.cache_clear()


@pytest.mark.parametrize("points", [1, 2, 9, 130, 700])
def test_grid_landmarks_factor_their_own_kernel(points: int) -> None:
    grid = kernels._grid_landmarks(points)
    kern = np.exp(-((grid.at[:, None] - grid.at[None, :]) ** 2) / 2.0)
    np.testing.assert_allclose(grid.chol @ grid.chol.T, kern, rtol=0, atol=1e-14)
    assert np.all(np.diff(grid.trace) <= 1e-15)  # each landmark lowers the grid's residual
    # all of them, or enough for the grid's largest residual, or the cap (700 points)
    done = grid.at.size == points or grid.trace[-1] <= kernels._GRID_RESIDUAL
    assert done or grid.at.size == kernels._GRID_MAX_RANK


def _p_value_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    cases = []
    for i, name in enumerate(sorted(SAMPLES)):
        for shift in (0.0, 0.05, 0.5):
            rng = np.random.default_rng(100 + i)
            m, n = int(rng.integers(50, 1500)), int(rng.integers(50, 1500))
            cases.append((f"{name}+{shift}", SAMPLES[name](rng, m), SAMPLES[name](rng, n) + shift))
    return cases


@pytest.mark.parametrize(("label", "x", "y"), _p_value_cases())
def test_p_value_path_equals_the_full_depth_test(label: str, x: np.ndarray, y: np.ndarray) -> None:
    for seed in (0, 1):
        full = kernels.mmd_permutation_test(x, y, permutations=100, seed=seed)[1]
        assert kernels.mmd_p_value(x, y, permutations=100, seed=seed) == full


def test_p_value_path_stops_early_and_deepens_only_the_close_relabellings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    projected: list[tuple[int, int]] = []
    project = kernels._project

    def counted(gt: np.ndarray, labels: np.ndarray) -> np.ndarray:
        projected.append((gt.shape[0], labels.shape[0]))
        return project(gt, labels)

    monkeypatch.setattr(kernels, "_project", counted)
    rng = np.random.default_rng(8)
    x, y = rng.normal(0.0, 1.0, 2000), rng.normal(0.0, 1.0, 2000)
    kernels.mmd_permutation_test(x, y)
    full_rank = projected.pop()[0]
    p_null = kernels.mmd_p_value(x, y)
    assert p_null == kernels.mmd_permutation_test(x, y)[1]
    null_stages = projected[: len(projected) - 1]
    assert null_stages[0][1] == 101  # the first stop projects every relabelling
    assert all(rows < 101 for _, rows in null_stages[1:])  # later ones the undecided only
    assert sum(rank for rank, _ in null_stages) < full_rank
    projected.clear()
    assert kernels.mmd_p_value(x, y + 0.5) == 1 / 101
    assert len(projected) == 1 and projected[0][0] < full_rank  # all decided at the first


def test_subsample_p_value_equals_the_subsample_test() -> None:
    rng = np.random.default_rng(4)
    ref = np.sort(rng.normal(0.0, 1.0, 200_000))
    for cur in (np.sort(rng.normal(0.05, 1.05, 10_000)), np.sort(rng.normal(0.0, 1.0, 3_000))):
        assert kernels.mmd_subsample_p_value(ref, cur) == kernels.mmd_subsample_test(ref, cur)[1]
    assert math.isnan(kernels.mmd_subsample_p_value(ref, np.array([1.0])))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relabellings_that_tie_the_observed_split_count_as_reaching_it(seed: int) -> None:
    # Two values: a relabelling's MMD² depends only on how many ones its first group holds,
    # so whole classes of relabellings tie the observed statistic exactly.
    rng = np.random.default_rng(seed)
    x, y = (rng.random(40) < 0.5).astype(np.float64), (rng.random(50) < 0.5).astype(np.float64)
    z = np.concatenate([x, y])
    sigma = kernels.median_sigma(z.reshape(-1, 1), seed)
    e = math.exp(-1.0 / (2.0 * sigma**2))
    ones = int(z.sum())

    def mmd2(k: int) -> float:  # first group of 40 holding k ones, by counts (one float path)
        a, b = (40 - k, k), (50 - (ones - k), ones - k)

        def within(c: tuple[int, int]) -> float:
            return c[0] * (c[0] - 1) + c[1] * (c[1] - 1) + 2 * c[0] * c[1] * e

        cross = a[0] * b[0] + a[1] * b[1] + (a[0] * b[1] + a[1] * b[0]) * e
        return within(a) / (40 * 39) + within(b) / (50 * 49) - 2.0 * cross / (40 * 50)

    labels = kernels._labellings(40, 50, 100, seed)
    k = (labels @ z).round().astype(int)
    stats = np.array([mmd2(int(c)) for c in k])
    want = (1 + int(np.sum(stats[1:] >= stats[0]))) / 101
    assert np.sum(k[1:] == k[0]) > 0  # the case has ties
    assert kernels.mmd_permutation_test(x, y, seed=seed)[1] == want
    assert kernels.mmd_p_value(x, y, seed=seed) == want
