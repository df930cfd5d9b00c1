"""The vectorized Smirnov sum against scipy's ``kstwo.sf`` and ``special.smirnov``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from dqm.monitors.stats import smirnov
from dqm.monitors.stats.hypothesis_tests import ks_asymptotic_p

REL = 1e-10
# Below this scipy's p-values are subnormal: compared in absolute terms only.
TINY = 1e-300
# n d^2 from p ~ 1 down to past scipy's 0 at 370 (both branches and the ones around them).
NXSQUARED = np.concatenate([np.geomspace(0.02, 300.0, 37), np.linspace(330.0, 400.0, 8)])


def _close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=REL, abs_tol=TINY)


@pytest.mark.parametrize("n", [1000, 1001, 1013, 2500, 9901, 33333, 100_000])
def test_kstwo_sf_matches_scipy(n: int) -> None:
    for c in NXSQUARED if n < 20_000 else NXSQUARED[::3]:  # scipy is slow at large n
        d = math.sqrt(c / n)
        got, want = smirnov.kstwo_sf(d, n), float(sps.kstwo.sf(d, n))
        assert _close(got, want), (n, c, got, want)


def test_p_values_cover_the_range() -> None:
    """The grid reaches p-values from about 1 down to below 1e-300, and scipy's 0."""
    for n in (1001, 9901):
        p = [float(sps.kstwo.sf(math.sqrt(c / n), n)) for c in NXSQUARED]
        assert max(p) > 0.5 and 0.0 < min(q for q in p if q > 0.0) < 1e-300 and min(p) == 0.0


@pytest.mark.parametrize(("n", "c"), [(300_000, 2.2), (300_000, 230.0), (1_000_000, 2.2)])
def test_smirnov_sum_matches_scipy_at_large_n(n: int, c: float) -> None:
    """scipy's own loop takes seconds here, so a few points only (p about 1e-2, 1e-200)."""
    d = math.sqrt(c / n)
    got, want = smirnov.smirnov_sum(n, d), float(special.smirnov(n, d))
    assert math.isclose(got, want, rel_tol=REL), (n, c, got, want)


def test_smirnov_sum_max_error_over_a_grid() -> None:
    """Where scipy's kstwo takes 2 * smirnov: the sum agrees to far better than REL."""
    worst = 0.0
    for n in (1001, 4000, 9901, 50_000):
        for c in np.linspace(2.2, 369.0, 12):
            d = math.sqrt(c / n)
            want = float(special.smirnov(n, d))
            if want > TINY:
                worst = max(worst, abs(smirnov.smirnov_sum(n, d) - want) / want)
    assert worst < 1e-12


@pytest.mark.parametrize(
    ("d", "n"),
    [
        (0.02, 1000),  # n at the threshold: scipy's own loop
        (0.001, 9901),  # n d^2 < 2.2: scipy's CDF branch
        (0.2, 9901),  # n d^2 >= 370: scipy's 0
        (0.6, 9901),  # d >= 0.5
        (0.5 / 9901, 9901),  # n d <= 1
        (0.002, 2_000_000),  # above scipy's exact range: its approximation
        (0.0, 5000),
        (1.0, 5000),
    ],
)
def test_other_branches_are_scipy_itself(d: float, n: int) -> None:
    assert smirnov.kstwo_sf(d, n) == float(sps.kstwo.sf(d, n))


@pytest.mark.parametrize(("n1", "n2"), [(1_000_000, 10_000), (20_000, 12_000), (50_000, 50_000)])
def test_ks_asymptotic_p_matches_scipy(n1: int, n2: int) -> None:
    n = round(n1 * n2 / (n1 + n2))
    for c in (0.5, 2.2, 8.0, 60.0):
        d = math.sqrt(c / n)
        want = float(np.clip(sps.kstwo.sf(d, np.round(n1 * n2 / (n1 + n2))), 0.0, 1.0))
        assert _close(ks_asymptotic_p(d, n1, n2), want)


def _every_term(n: int, d: float) -> float:
    """``smirnov(n, d)`` summing every log term (math.fsum): the oracle of the stepped sum."""
    last = math.ceil(n - n * d) - 1
    log_first = n * math.log1p(-d) - math.log(d)
    logs = smirnov._log_terms(n, d, np.arange(1, last + 1, dtype=np.float64))
    top = max(float(logs.max()), log_first)
    total = math.fsum(np.exp(logs - top)) + math.exp(log_first - top)
    return math.exp(top + math.log(d * total))


@pytest.mark.parametrize("n", [4100, 9901, 33333, 250_000])
def test_the_stepped_sum_equals_every_term(n: int) -> None:
    stepped = 0
    for c in np.geomspace(2.2, 369.0, 15):
        d = math.sqrt(c / n)
        last = math.ceil(n - n * d) - 1
        grid = np.unique(np.linspace(1, last, smirnov.GRID).round())
        g = smirnov._log_terms(n, d, grid)
        keep = np.flatnonzero(g > float(g.max()) - smirnov.SKIP)
        if keep[0] > 0 and keep[-1] < grid.size - 1:
            lo, hi = int(grid[keep[0] - 1]), int(grid[keep[-1] + 1])
            log_first = n * math.log1p(-d) - math.log(d)
            stepped += smirnov._stepped_sum(n, d, lo, hi, log_first) is not None
        assert math.isclose(smirnov.smirnov_sum(n, d), _every_term(n, d), rel_tol=1e-12)
    assert stepped >= 5  # the stepped path is the one tested


def test_a_step_too_coarse_for_the_bell_falls_back_to_every_term(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At n = 1001, n d^2 = 300 the terms are a narrow bell (width ~10 terms): a step of 64
    would miss it by far, the halving check refuses it."""
    n, d = 1001, math.sqrt(300.0 / 1001)
    last = math.ceil(n - n * d) - 1
    log_first = n * math.log1p(-d) - math.log(d)
    monkeypatch.setattr(smirnov, "STEP_POINTS", 2)  # a step of (last - 1) / 4
    assert smirnov._stepped_sum(n, d, 1, last, log_first) is None
