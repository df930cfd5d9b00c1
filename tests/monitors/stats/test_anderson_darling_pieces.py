"""Anderson-Darling against a pre-indexed reference, by pieces of the reference cut by the
window: against scipy's ``anderson_ksamp`` (midrank) and a direct extended-precision sum."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

import dqm.monitors.stats.hypothesis_tests as hypothesis_tests
from dqm.monitors.stats.anderson_reference import (
    _artanh_excess,
    _convexity_gap,
    anderson_darling_a2,
)
from dqm.monitors.stats.sorted_reference import SortedReference

Draw = Callable[[np.random.Generator, int, float], np.ndarray]
DRAWS: dict[str, Draw] = {
    "normal": lambda g, k, s: g.normal(s, 1.0 + s, k),
    "lognormal": lambda g, k, s: g.lognormal(s, 1.0, k),
    # ties: a few hundred distinct values, or float32 collisions among 1e5 normals
    "rounded": lambda g, k, s: np.round(g.normal(s, 1.0, k), 2),
    "float32": lambda g, k, s: g.normal(s, 1.0, k).astype(np.float32).astype(np.float64),
    "mixed": lambda g, k, s: np.where(
        g.random(k) < 0.3, np.round(g.normal(s, 1.0, k), 1), g.normal(s, 1.0, k)
    ),
}


def _a2_direct(r: np.ndarray, c: np.ndarray) -> float:
    """Scholz, Stephens eq. 7 (midrank, k = 2) over the pooled distinct values, summed in
    extended precision: the oracle for rounding."""
    both = np.sort(np.concatenate([r, c]))
    n_all = both.size
    z = both[np.concatenate([[True], both[1:] != both[:-1]])]
    left = both.searchsorted(z, "left")
    ties = (both.searchsorted(z, "right") - left).astype(np.longdouble)
    b = left.astype(np.longdouble) + ties / 2
    total = np.longdouble(0)
    for s in (r, c):
        mid = (s.searchsorted(z, "right").astype(np.longdouble) + s.searchsorted(z, "left")) / 2
        den = b * (n_all - b) - n_all * ties / 4
        total += np.sum(ties / n_all * (n_all * mid - b * s.size) ** 2 / den) / s.size
    return float(total * (n_all - 1) / n_all)


def _check(r: np.ndarray, c: np.ndarray) -> None:
    r, c = np.sort(r), np.sort(c)
    a2 = anderson_darling_a2(SortedReference.of(r), c)
    assert a2 == pytest.approx(_a2_direct(r, c), rel=1e-14)
    stat, p = hypothesis_tests.anderson_darling_of_a2(a2, r.size, c.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when it caps the p-value
        want = sps.anderson_ksamp([r, c], midrank=True)
    assert stat == pytest.approx(want.statistic, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9)


GRID = [
    (draw, n, m, shift)
    for draw in DRAWS
    for n, m in [(2_000, 100), (50_000, 1_000), (200_000, 20_000), (20_000, 20_000 - 1)]
    for shift in (0.0, 0.01, 0.3)
]


@pytest.mark.parametrize(("draw", "n", "m", "shift"), GRID)
def test_equals_scipy_and_the_direct_sum(draw: str, n: int, m: int, shift: float) -> None:
    g = np.random.default_rng([n, m, int(shift * 100), len(draw)])
    _check(DRAWS[draw](g, n, 0.0), DRAWS[draw](g, m, shift))


@pytest.mark.parametrize("n", [1_000, 100_000])
def test_window_drawn_from_the_reference(n: int) -> None:
    # every window value is a reference value: no piece is cut around a value the window lacks
    g = np.random.default_rng(n)
    r = g.normal(0.0, 1.0, n)
    _check(r, g.choice(r, n // 10, replace=False))
    _check(r, g.choice(r, n // 10, replace=True))


@pytest.mark.parametrize("offset", [-100.0, 100.0, 0.5])
def test_window_outside_or_inside_a_gap_of_the_reference(offset: float) -> None:
    # one piece holds the whole reference (its first point at r2 ~ 1/4, L = n)
    g = np.random.default_rng(3)
    r = np.concatenate([g.uniform(0.0, 0.4, 30_000), g.uniform(0.6, 1.0, 30_000)])
    _check(r, g.uniform(0.45, 0.55, 7) + (offset if offset != 0.5 else 0.0))
    _check(r, np.array([offset]))


def test_tied_runs_next_to_window_values_and_at_the_ends() -> None:
    g = np.random.default_rng(5)
    r = np.concatenate([np.full(50, -3.0), g.normal(0, 1, 5_000), np.full(70, 3.0)])
    r = np.concatenate([r, np.repeat(np.round(g.normal(0, 1, 300), 3), 2)])
    c = np.concatenate([[-3.0, 3.0], np.round(g.normal(0, 1, 200), 3), g.normal(0, 1, 50)])
    _check(r, c)
    _check(r, np.array([-3.0, 0.0, 3.0]))


def test_integer_reference_with_more_values_than_the_window() -> None:
    # every reference value tied: the pieces are tied runs only
    g = np.random.default_rng(6)
    _check(g.integers(0, 5_000, 100_000) * 1.0, g.integers(0, 5_000, 300) * 1.0)
    _check(g.integers(0, 5_000, 100_000) * 1.0, g.normal(2_500, 900, 300))


def _gap_oracle(x: float, length: int) -> float:
    """``sum_{i < L} 1 / (x + i) - L / c`` as the sum over pairs about the centre ``c`` of
    ``1 / (c + j) + 1 / (c - j) - 2 / c = 2 j^2 / (c (c - j) (c + j))``: positive terms only,
    summed exactly by ``math.fsum``."""
    c = x + (length - 1) / 2
    j = (length - 1) / 2 - np.arange(length // 2, dtype=np.float64)
    return math.fsum(2.0 * j * j / (c * (c - j) * (c + j)))


@pytest.mark.parametrize(
    ("x", "length"),
    [
        (0.25, 2),
        (0.25, 200_001),
        (31.75, 2),
        (32.25, 3),
        (33.5, 64),
        (20.25, 65),
        (20.25, 5_000),
        (1_000.5, 9),
        (1_000.5, 400),
        (1e5 + 0.25, 999),
        (1e5 + 0.25, 1_001),
        (1e5 + 0.25, 80_000),
        (7e5 + 0.75, 150),
        (7e5 + 0.75, 1),
    ],
)
def test_convexity_gap_against_pairs_summed_exactly(x: float, length: int) -> None:
    got = _convexity_gap(np.array([x]), np.array([float(length)]))[0]
    if length == 1:
        assert got == 0.0
        return
    assert got == pytest.approx(_gap_oracle(x, length), rel=1e-14)


def test_convexity_gap_on_random_points() -> None:
    g = np.random.default_rng(8)
    x = np.round(np.exp(g.uniform(np.log(0.3), np.log(1e6), 400)) * 4) / 4  # c exact
    length = np.floor(np.exp(g.uniform(0.0, np.log(3e5), 400)))
    got = _convexity_gap(x, length)
    want = [_gap_oracle(float(a), int(b)) for a, b in zip(x, length, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0.0)


def test_window_ties_beside_an_untied_reference() -> None:
    # tied window values the reference lacks (and some it holds), reference without ties
    g = np.random.default_rng(9)
    r = g.normal(0.0, 1.0, 40_000)
    c = np.concatenate([np.repeat(g.normal(0.0, 1.0, 300), 3), g.choice(r, 200), [r[0]] * 4])
    _check(r, c)


def test_artanh_excess_against_its_series_summed_exactly() -> None:
    t = np.array([0.0, 1e-9, 0.003, 0.05, 0.2, 0.3333, 0.4999])
    got = _artanh_excess(t)
    for value, have in zip(t.tolist(), got.tolist(), strict=True):
        x = Fraction(value)
        want = sum((x ** (2 * k + 1) / (2 * k + 1) for k in range(1, 80)), Fraction(0))
        assert have == pytest.approx(float(want), rel=4e-16, abs=0.0)


def _scipy_harmonic_sums(n: int) -> tuple[float, float]:
    """``h`` and ``g`` as ``scipy.stats.anderson_ksamp`` sums them."""
    hs_cs = np.cumsum(1.0 / np.arange(n - 1, 1, -1))
    return float(hs_cs[-1]) + 1, float(np.sum(hs_cs / np.arange(2, n)))


@pytest.mark.parametrize("n", [4, 5, 6, 9, 30, 101, 1_000, 10_007, 1_010_000, 3_000_001])
def test_harmonic_sums_in_closed_form(n: int) -> None:
    h, g = hypothesis_tests._ad_harmonic_sums(n)
    want_h, want_g = _scipy_harmonic_sums(n)
    assert h == pytest.approx(want_h, rel=1e-13)
    assert g == pytest.approx(want_g, rel=3e-14)
    if n <= 101:  # exactly: g over the pairs i, j < n with i + j > n
        pairs = [Fraction(1, i * j) for i in range(1, n) for j in range(n - i + 1, n)]
        assert h == pytest.approx(float(sum(Fraction(1, i) for i in range(1, n))), rel=4e-16)
        assert g == pytest.approx(float(sum(pairs, Fraction(0))), rel=4e-16)


@pytest.mark.parametrize("m", [37, 500, 4_321])
def test_p_value_inside_the_interpolated_range(m: int) -> None:
    # the quadratic fitted once must give scipy's p where scipy fits it on the call
    g = np.random.default_rng(m)
    r = np.sort(g.normal(0.0, 1.0, 20_000))
    seen = 0
    for shift in np.linspace(0.0, 0.25, 26):
        c = np.sort(g.normal(shift * 30 / math.sqrt(m), 1.0, m))
        stat, p = hypothesis_tests.anderson_darling_of_a2(
            anderson_darling_a2(SortedReference.of(r), c), r.size, c.size
        )
        if not 0.001 < p < 0.25:
            continue
        seen += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's deprecation of midrank=
            want = sps.anderson_ksamp([r, c], midrank=True)
        assert stat == pytest.approx(want.statistic, rel=1e-9)
        assert p == pytest.approx(want.pvalue, rel=1e-12)
    assert seen >= 3


def test_tied_reference_with_window_values_beyond_both_ends() -> None:
    # adjacent tied runs (a few single values among them), untied values at the ends, and
    # window values below, above, on and between the runs: every way the window's cuts meet
    # the runs' (fewer window values than distinct reference values: the pieces are cut)
    g = np.random.default_rng(10)
    r = np.concatenate([g.integers(0, 4_000, 20_000) * 1.0, [-7.5, 4_512.25]])
    c = np.concatenate([[-9.0, -7.5, 4_512.25, 6_000.0, 6_000.0], g.integers(-3, 4_005, 900)])
    w = np.concatenate([c, g.uniform(-1.0, 4_001.0, 700)])
    assert np.unique(r).size > w.size
    _check(r, w)
    _check(r, w[:450])
    _check(r, np.array([-9.0, 6_000.0]))
