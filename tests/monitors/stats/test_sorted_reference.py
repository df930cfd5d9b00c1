"""The window-time ECDF distances against scipy and against the merge path they replace."""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
import pytest
from scipy import stats as sps

import dqm.monitors.stats.distances as distances
import dqm.monitors.stats.hypothesis_tests as hypothesis_tests
from dqm.monitors.stats.anderson_reference import anderson_darling_a2
from dqm.monitors.stats.sorted_reference import (
    SortedReference,
    _abs_gap_integral,
    _abs_quantile_integral,
    cramer_von_mises_u,
    energy_distance,
    ks_statistic,
    mann_whitney_u,
    wasserstein,
)

REL = 1e-12


def _pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Random sorted pairs: continuous, heavily tied, shifted out of each other's range,
    single values on either side, and a reference much larger than the window."""
    rng = np.random.default_rng(7)
    out = []
    r: np.ndarray
    c: np.ndarray
    for _ in range(200):
        n, m = int(rng.integers(1, 80)), int(rng.integers(1, 80))
        kind = rng.integers(0, 4)
        if kind == 0:
            r, c = rng.normal(0, 1, n), rng.normal(rng.normal(), 2, m)
        elif kind == 1:  # ties within and across samples
            r, c = rng.integers(0, 6, n) * 1.0, rng.integers(-2, 9, m) * 1.0
        elif kind == 2:  # window entirely below, above or around the reference
            r, c = rng.uniform(0, 1, n), rng.uniform(0, 1, m) + rng.choice([-5.0, 5.0, 0.0])
        else:  # one repeated value on one side
            r, c = np.full(n, 3.0), rng.integers(1, 6, m) * 1.0
            if rng.random() < 0.5:
                r, c = c, r
        out.append((np.sort(r), np.sort(c)))
    out.append((np.array([2.0]), np.array([1.0, 5.0])))
    out.append((np.array([1.0, 5.0]), np.array([3.0])))
    out.append((np.sort(rng.normal(100.0, 1.0, 200_000)), np.sort(rng.normal(100.01, 1.0, 3_000))))
    return [(r, c) for r, c in out if r.size != c.size]


PAIRS = _pairs()


@pytest.mark.parametrize("i", range(len(PAIRS)))
def test_wasserstein_equals_scipy_and_the_merge_path(i: int) -> None:
    r, c = PAIRS[i]
    got = wasserstein(SortedReference.of(r), c)
    assert got == pytest.approx(distances.wasserstein_sorted(r, c), rel=REL, abs=1e-300)
    assert got == pytest.approx(sps.wasserstein_distance(r, c), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("i", range(len(PAIRS)))
def test_ks_statistic_equals_scipy_and_the_merge_path(i: int) -> None:
    r, c = PAIRS[i]
    got = ks_statistic(SortedReference.of(r), c)
    assert got == hypothesis_tests.ks_statistic_sorted(r, c)
    assert got == pytest.approx(sps.ks_2samp(r, c).statistic, rel=1e-12)


@pytest.mark.parametrize("i", range(len(PAIRS)))
def test_cramer_von_mises_u_equals_the_pooled_midrank_sum(i: int) -> None:
    r, c = PAIRS[i]
    # Independent oracle: scipy's midranks of the pooled sample.
    ranks = sps.rankdata(np.concatenate([r, c]))
    want = r.size * np.sum((ranks[: r.size] - np.arange(1, r.size + 1)) ** 2) + c.size * np.sum(
        (ranks[r.size :] - np.arange(1, c.size + 1)) ** 2
    )
    assert cramer_von_mises_u(SortedReference.of(r), c) == pytest.approx(want, rel=1e-15)
    if min(r.size, c.size) >= 2 and max(r.size, c.size) > 20:
        t = hypothesis_tests.cramer_von_mises_of_u(float(want), r.size, c.size)[0]
        assert t == pytest.approx(sps.cramervonmises_2samp(r, c).statistic, rel=1e-9)


@pytest.mark.parametrize("i", range(len(PAIRS)))
def test_mann_whitney_equals_scipy(i: int) -> None:
    r, c = PAIRS[i]
    u1, ties = mann_whitney_u(SortedReference.of(r), c)
    _, t = np.unique(np.concatenate([r, c]), return_counts=True)
    assert ties == float(np.sum(t.astype(np.float64) ** 3 - t))
    assert u1 == sps.mannwhitneyu(r, c).statistic
    p = hypothesis_tests.mann_whitney_p(u1, ties, r.size, c.size)
    assert p == hypothesis_tests.mann_whitney_u(r, c)[1]


@pytest.mark.parametrize("i", range(len(PAIRS)))
def test_energy_distance_equals_scipy(i: int) -> None:
    r, c = PAIRS[i]
    got = energy_distance(SortedReference.of(r), c)
    assert got == pytest.approx(sps.energy_distance(r, c), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("i", range(len(PAIRS)))
def test_anderson_darling_equals_scipy(i: int) -> None:
    r, c = PAIRS[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        a2 = anderson_darling_a2(SortedReference.of(r), c)
        stat, p = hypothesis_tests.anderson_darling_of_a2(a2, r.size, c.size)
        merged = hypothesis_tests.anderson_darling_sorted(r, c)
    assert (stat, p) == pytest.approx(merged, rel=1e-12, nan_ok=True)
    if np.unique(np.concatenate([r, c])).size < 2 or r.size + c.size < 4:
        assert math.isnan(p)  # scipy refuses: one pooled value, or too few values
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when it caps the p-value
        want = sps.anderson_ksamp([r, c], midrank=True)
    assert stat == pytest.approx(want.statistic, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9)


def test_identical_samples_have_no_distance() -> None:
    r = np.sort(np.random.default_rng(1).integers(0, 5, 50) * 1.0)
    c = r[::2]
    ref = SortedReference.of(r)
    assert wasserstein(ref, c) == pytest.approx(sps.wasserstein_distance(r, c), abs=1e-15)
    assert ks_statistic(SortedReference.of(np.array([1.0, 1.0])), np.array([1.0])) == 0.0


def test_an_empty_window_has_no_distance() -> None:
    assert math.isnan(wasserstein(SortedReference.of(np.array([1.0, 2.0])), np.array([])))


def test_a_window_beyond_the_reference_costs_the_gap() -> None:
    # F_ref jumps to 1 at 0, F_cur at 10: the CDFs differ by 1 over [0, 10).
    assert wasserstein(SortedReference.of(np.zeros(4)), np.array([10.0])) == 10.0
    assert ks_statistic(SortedReference.of(np.zeros(4)), np.array([10.0])) == 1.0


@pytest.mark.parametrize("seed", range(20))
def test_two_level_search_equals_numpy_searchsorted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(257, 20_000))
    tied = rng.integers(0, int(rng.integers(1, 300)), n) * 1.0
    values = np.sort(tied if seed % 2 else rng.normal(size=n))
    keys = np.concatenate(
        [
            rng.choice(values, 300),
            rng.normal(size=300) * 3,
            values[:3],
            values[-3:],
            [-1e300, 1e300],
        ]
    )
    ref = SortedReference.of(values)
    sides: tuple[Literal["left", "right"], ...] = ("left", "right")
    for side in sides:
        assert ref.search(keys, side).tolist() == values.searchsorted(keys, side).tolist()


def _large_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """References and windows large enough for the block search and the packed rows:
    continuous with crossing CDFs, rounded (ties shared with the window), a few integers,
    windows beyond either end of the reference or straddling it, one repeated value, and
    windows denser than the reference (intervals without reference values inside)."""
    rng = np.random.default_rng(11)
    out = []
    r: np.ndarray
    c: np.ndarray
    for i in range(24):
        n, m = int(rng.integers(3000, 30_000)), int(rng.integers(600, 2500))
        kind = i % 6
        if kind == 0:
            r, c = rng.normal(size=n), rng.normal(rng.choice([0.0, 0.02, 0.5]), 1.0, m)
        elif kind == 1:
            r, c = np.round(rng.normal(size=n), 2), np.round(rng.normal(0.1, 1.0, m), 2)
        elif kind == 2:
            r, c = rng.integers(0, 20, n) * 1.0, rng.integers(-3, 25, m) * 1.0
        elif kind == 3:
            r, c = rng.uniform(0, 1, n), rng.uniform(0, 1, m) + rng.choice([-3.0, 3.0, 0.5])
        elif kind == 4:
            r, c = rng.normal(size=n), np.full(m, float(rng.normal()))
        else:
            r, c = rng.normal(0.0, 10.0, n), rng.normal(0.0, 0.1, m)
        out.append((np.sort(r), np.sort(c)))
    r = np.sort(rng.normal(size=20_000))
    out.append((r, np.array([0.3])))  # a window of one value
    out.append((r, np.sort(np.concatenate([r[::7], rng.normal(size=500)]))))  # shared values
    return out


LARGE = _large_pairs()


@pytest.mark.parametrize("i", range(len(LARGE)))
def test_large_windows_equal_scipy_and_the_merge_path(i: int) -> None:
    r, c = LARGE[i]
    ref = SortedReference.of(r)
    w = wasserstein(ref, c)
    assert w == pytest.approx(distances.wasserstein_sorted(r, c), rel=REL, abs=1e-300)
    assert w == pytest.approx(sps.wasserstein_distance(r, c), rel=1e-9, abs=1e-12)
    assert ks_statistic(ref, c) == hypothesis_tests.ks_statistic_sorted(r, c)
    u1, ties = mann_whitney_u(ref, c)
    _, t = np.unique(np.concatenate([r, c]), return_counts=True)
    assert ties == float(np.sum(t.astype(np.float64) ** 3 - t))
    assert u1 == sps.mannwhitneyu(r, c).statistic
    ranks = sps.rankdata(np.concatenate([r, c]))
    want = r.size * np.sum((ranks[: r.size] - np.arange(1, r.size + 1)) ** 2) + c.size * np.sum(
        (ranks[r.size :] - np.arange(1, c.size + 1)) ** 2
    )
    assert cramer_von_mises_u(ref, c) == pytest.approx(want, rel=1e-15)
    ed = energy_distance(ref, c)
    assert ed == pytest.approx(sps.energy_distance(r, c), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("i", range(len(LARGE)))
def test_large_windows_are_placed_as_numpy_places_them(i: int) -> None:
    r, c = LARGE[i]
    ref = SortedReference.of(r)
    assert ref.search(c, "left").tolist() == r.searchsorted(c, "left").tolist()
    assert ref.search(c, "right").tolist() == r.searchsorted(c, "right").tolist()


def test_the_packed_rows_hold_the_extended_prefix_sums() -> None:
    r = np.sort(np.round(np.random.default_rng(3).normal(size=5000), 1))  # tied
    ref = SortedReference.of(r)
    hi, lo = ref.weighted
    gaps = np.diff(r).astype(np.longdouble) * np.arange(1, r.size, dtype=np.longdouble)
    want = np.concatenate([[np.longdouble(0)], np.cumsum(gaps)])
    assert np.array_equal(hi.astype(np.longdouble) + lo, want)
    assert np.array_equal(ref.packed[: r.size, 0], r)
    # Rows n and -1 stand past either end: the last row, and the first value with no sum.
    assert ref.packed[r.size].tolist() == ref.packed[r.size - 1].tolist()
    assert ref.packed[-1].tolist() == [r[0], 0.0, 0.0]


def _merged_energy(r: np.ndarray, c: np.ndarray) -> float:
    """``sqrt(2 sum (F - G)^2 dx)`` over the pooled distinct values: the CDF difference as an
    exact integer numerator, positive terms summed by ``math.fsum`` (an oracle to ~1e-16)."""
    n, m = r.size, c.size
    x = np.unique(np.concatenate([r, c]))
    num = r.searchsorted(x[:-1], "right") * m - c.searchsorted(x[:-1], "right") * n
    terms = num.astype(np.float64) ** 2 / (float(n) * float(m)) ** 2 * np.diff(x)
    return math.sqrt(2.0 * math.fsum(terms.tolist()))


def _energy_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    n = 120_000
    base = np.sort(rng.normal(size=n))
    return [
        ("drifted", base, rng.normal(0.05, 1.05, 6000)),
        ("same", base, rng.normal(0.0, 1.0, 6000)),
        ("tied", np.round(rng.normal(size=n), 2), np.round(rng.normal(0.01, 1.0, 4000), 2)),
        ("integers", rng.integers(0, 20, n) * 1.0, rng.integers(-2, 22, 3000) * 1.0),
        ("shifted", base, rng.normal(3.0, 1.0, 3000)),
        # F near 1 over a long upper tail: the anchor at n keeps its digits
        ("lognormal", rng.lognormal(0.0, 2.0, n), rng.lognormal(0.05, 2.0, 5000)),
        ("reversed lognormal", -rng.lognormal(0.0, 2.0, n), -rng.lognormal(0.05, 2.0, 5000)),
        ("above", base, rng.uniform(10.0, 11.0, 2000)),
        ("below", base, rng.uniform(-20.0, -19.0, 2000)),
        ("straddling", base, rng.uniform(-8.0, 8.0, 2000)),
        ("offset", rng.normal(1e6, 1.0, n), rng.normal(1e6, 1.0, 4000)),
        ("narrow", base, rng.normal(0.0, 0.01, 4000)),
        ("one value", base, np.array([0.3])),
        ("at the median", base, np.full(700, base[n // 2])),
    ]


ENERGY = _energy_cases()


@pytest.mark.parametrize("i", range(len(ENERGY)))
def test_energy_distance_equals_the_merged_sum(i: int) -> None:
    _, r, c = ENERGY[i]
    r, c = np.sort(r), np.sort(c)
    got = energy_distance(SortedReference.of(r), c)
    assert got == pytest.approx(_merged_energy(r, c), rel=1e-12)
    assert got == pytest.approx(sps.energy_distance(r, c), rel=1e-12)


def test_the_squared_sums_are_anchored_at_either_end() -> None:
    r = np.sort(np.round(np.random.default_rng(4).lognormal(size=3001), 1))  # tied, odd n
    n, h = r.size, r.size // 2
    ref = SortedReference.of(r)
    sq = ref.weighted_sq
    assert ref.half == h
    gaps = np.diff(r).astype(np.longdouble)
    i = np.arange(n - 1, dtype=np.longdouble)
    for k in (0, 1, 7, h - 1, h, h + 1, h + 2, n - 2, n - 1):
        sel = slice(0, k) if k <= h else slice(k, n - 1)
        d = (i + 1) if k <= h else -(n - 1 - i)  # (i + 1 - anchor), anchor 0 or n
        want1 = np.sum(d[sel] * gaps[sel]) * (1 if k <= h else -1)
        want2 = np.sum(d[sel] ** 2 * gaps[sel]) * (1 if k <= h else -1)
        assert float(sq[k, 0]) + float(sq[k, 1]) == pytest.approx(float(want1), rel=1e-15, abs=0)
        assert float(sq[k, 2]) + float(sq[k, 3]) == pytest.approx(float(want2), rel=1e-15, abs=0)
        assert abs(float(sq[k, 1])) <= abs(float(sq[k, 0])) * 2.0**-52
    assert sq[n].tolist() == sq[n - 1].tolist()
    assert sq[-1].tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("q_off", [1, 2, 40])
def test_an_interval_across_the_anchors_change_is_summed_in_parts(q_off: int) -> None:
    rng = np.random.default_rng(9)
    r = np.sort(rng.normal(size=4001))
    h = r.size // 2
    # Two window values with reference values h - 3 .. h + q_off between them and no other
    # window value there: that interval's sums change anchor inside it.
    lo, hi = (r[h - 4] + r[h - 3]) / 2, (r[h + q_off] + r[h + q_off + 1]) / 2
    c = rng.normal(size=600)
    c = np.sort(np.concatenate([c[(c < lo) | (c > hi)], [lo, hi]]))
    got = energy_distance(SortedReference.of(r), c)
    assert got == pytest.approx(_merged_energy(r, c), rel=1e-12)


def _quantile_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """A window no larger than the reference: sizes that divide it and sizes that do not,
    windows whose quantiles cross the reference's many times (blocks across a window value),
    ties, a window beyond either end, a window as large as the reference."""
    rng = np.random.default_rng(11)
    out = []
    r: np.ndarray
    c: np.ndarray
    for k in range(60):
        n = int(rng.integers(1, 4000))
        m = [n, max(1, n // 10), int(rng.integers(1, n + 1))][k % 3]
        kind = k % 5
        if kind == 0:
            r, c = rng.normal(0, 1, n), rng.normal(0, 1, m)  # same distribution: crossings
        elif kind == 1:
            r, c = rng.integers(0, 5, n) * 1.0, rng.integers(0, 6, m) * 1.0
        elif kind == 2:
            r, c = rng.lognormal(0, 2, n), rng.lognormal(0, 2, m) + rng.choice([-50.0, 50.0])
        elif kind == 3:
            r = rng.normal(0, 1, n)
            c = rng.choice(r, m) + rng.normal(0, 1e-9, m)  # near the reference's own values
        else:
            r, c = rng.standard_cauchy(n), rng.standard_cauchy(m)
        out.append((np.sort(r), np.sort(c)))
    r = np.sort(rng.normal(size=1_000_000))
    out.append((r, np.sort(rng.normal(0.05, 1.05, 10_000))))  # the bench's column
    out.append((r, np.sort(rng.normal(0.0, 1.0, 9_999))))
    return out


QUANTILE = _quantile_cases()


@pytest.mark.parametrize("i", range(len(QUANTILE)))
def test_quantile_integral_equals_the_gap_integral_and_scipy(i: int) -> None:
    r, c = QUANTILE[i]
    ref = SortedReference.of(r)
    got = _abs_quantile_integral(ref, c)
    assert got == pytest.approx(_abs_gap_integral(ref, c, None), rel=1e-11, abs=1e-300)
    assert got == pytest.approx(sps.wasserstein_distance(r, c), rel=1e-9, abs=1e-12)
    assert wasserstein(ref, c) == got  # the window-time path for m <= n


def test_quantile_integral_splits_the_blocks_a_window_value_falls_inside() -> None:
    # a 4-value window inside a 400-value reference: every block holds its window value
    r = np.arange(400.0)
    c = np.array([50.5, 150.5, 250.5, 350.5])
    want = float(np.mean(np.abs(r - np.repeat(c, 100))))  # each value against its block of 100
    assert _abs_quantile_integral(SortedReference.of(r), c) == pytest.approx(want, rel=1e-15)
    assert sps.wasserstein_distance(r, c) == pytest.approx(want, rel=1e-12)
