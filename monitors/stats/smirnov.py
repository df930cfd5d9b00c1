"""The two-sided Kolmogorov-Smirnov p-value ``scipy.stats.kstwo.sf`` without scipy's O(n) loop.

For ``n x^2 >= 2.2`` scipy's ``kstwo.sf(x, n)`` is ``2 * scipy.special.smirnov(n, x)``, whose
Birnbaum-Tingey sum runs term by term in double-double arithmetic: about 1 ms per thousand
terms, so 10 ms at ``n = 10,000`` and seconds at ``n = 1,000,000``. :func:`kstwo_sf` computes
that branch with the same sum vectorized in log space (all its terms are positive), skipping
the terms too small to change it; every other case is scipy's own call.

    ``smirnov(n, x) = x sum_{j=0}^{floor(n(1-x))} C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1)``

The large parts of each log term cancel (``log C(n, j)`` against the powers), so they are
combined before rounding: with Stirling's ``log k! = k log k - k + log(2 pi k) / 2 + s(k)``,

    ``log A_j = log(n / (2 pi j (n - j))) / 2 + s(n) - s(j) - s(n - j)
    + (n - j) log1p(-n x / (n - j)) + j log1p(n x / j) - log(x + j / n)``

for ``1 <= j < n``, which keeps the relative error of each term near 1e-13 at ``n = 10^6``.

References: Birnbaum, Tingey (1951), "One-sided confidence contours for probability
distribution functions"; Simard, L'Ecuyer (2011), "Computing the two-sided
Kolmogorov-Smirnov distribution" (scipy's branches); Loader (2000), "Fast and accurate
computation of binomial probabilities" (the Stirling remainder ``s``).

>>> from scipy import stats
>>> math.isclose(kstwo_sf(0.02, 9901), float(stats.kstwo.sf(0.02, 9901)), rel_tol=1e-10)
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy import stats as sps

from dqm.monitors.columns import FloatArray

# Below this n scipy's own loop is fast enough (about 1 ms at 1,000 terms); from here on the
# vectorized sum is used where scipy takes the 2 * smirnov branch.
FAST_MIN_N = 1000
# scipy's smirnov switches to an approximation above this n (SMIRNOV_MAX_COMPUTE_N in xsf);
# there scipy's own call is already fast and is kept.
SCIPY_EXACT_MAX_N = 1_000_000
# scipy's kolmogn branch bounds on n x^2 for the survival function.
ZERO_FROM = 370.0
SMIRNOV_FROM = 2.2
# Terms below exp(-SKIP) times the largest cannot change the sum at double precision even
# when a million of them are dropped (1e6 * exp(-50) ~ 2e-16).
SKIP = 50.0
# Points of the coarse grid that brackets the terms that matter.
GRID = 256
# Below this many candidate terms every term is evaluated (no bracketing).
DIRECT_MAX_TERMS = 4096
# A bracket of more terms than this is summed by the trapezoid rule at a step giving about
# this many points (see smirnov_sum), when halving the step changes the sum by at most
# STEP_TOL relative; else term by term.
STEP_POINTS = 128
STEP_TOL = 1e-12

_STIRLING_SMALL = 16


def kstwo_sf(x: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(x, n)`` (two-sided one-sample KS statistic of ``n`` values).

    >>> round(kstwo_sf(0.015, 6667), 6) == round(float(sps.kstwo.sf(0.015, 6667)), 6)
    True
    """
    if _smirnov_branch(x, n):
        return min(max(2.0 * smirnov_sum(n, x), 0.0), 1.0)
    return float(sps.kstwo.sf(x, n))


def _smirnov_branch(x: float, n: int) -> bool:
    """Whether scipy's ``kolmogn(n, x, cdf=False)`` returns ``2 * smirnov(n, x)`` here (its
    branch conditions in order) and n is in the range this module computes instead."""
    if not FAST_MIN_N < n <= SCIPY_EXACT_MAX_N or not 0.0 < x < 0.5:
        return False
    t = n * x
    if t <= 1.0 or t >= n - 1:
        return False
    return SMIRNOV_FROM <= t * x < ZERO_FROM


def _stirling_remainder(k: FloatArray) -> FloatArray:
    """``s(k) = log k! - (k log k - k + log(2 pi k) / 2)`` for ``k >= 1``: the asymptotic
    series (error below 1e-16 from ``k = 16``), ``gammaln`` below 16."""
    inv2 = 1.0 / k
    inv2 *= inv2
    out = inv2 * (-1.0 / 1188)
    for c in (1.0 / 1680, -1.0 / 1260, 1.0 / 360):
        out += c
        out *= inv2
    out = (1.0 / 12 - out) / k
    small = np.flatnonzero(k < _STIRLING_SMALL)
    if small.size:
        ks = k[small]
        out[small] = special.gammaln(ks + 1.0) - (
            ks * np.log(ks) - ks + 0.5 * np.log(2 * np.pi * ks)
        )
    return out


def _log_terms(n: int, x: float, j: FloatArray) -> FloatArray:
    """``log A_j`` for ascending integer-valued ``j >= 1`` with ``n - j > n x`` (see the
    module)."""
    nf, nx = float(n), n * x
    rest = nf - j
    out = np.log(j * rest)
    out *= -0.5
    out += 0.5 * math.log(nf / (2 * np.pi)) + float(_stirling_remainder(np.array([nf]))[0])
    # s(j) + s(n - j) in one call (elementwise: the same values as two calls)
    both = _stirling_remainder(np.concatenate([j, rest]))
    out -= both[: j.size]
    out -= both[j.size :]
    part = np.log1p(-nx / rest)
    part *= rest
    out += part
    part = np.log1p(nx / j)
    part *= j
    out += part
    out -= np.log(j / nf + x)
    return out


def smirnov_sum(n: int, x: float) -> float:
    """``scipy.special.smirnov(n, x)`` by the Birnbaum-Tingey sum in log space, for
    ``1 < n x < n - 1`` and ``0 < x < 1``.

    The log terms rise and fall once in ``j``: a coarse grid brackets the ones within
    ``exp(-SKIP)`` of the largest, and only those are summed. Where the bracket is wide and
    inside ``[1, last]`` (the terms fall below ``exp(-SKIP)`` of the largest at both ends),
    the terms are a smooth bell of thousands of integers ``j``: by Poisson summation their
    sum equals the bell's integral, and so does the trapezoid rule at a step ``h`` of many
    ``j``, both up to the bell's Fourier transform at frequencies ``1`` and ``1 / h``, which
    fall exponentially with the bell's width over the step. The step's sum is kept when the
    one at ``2 h`` (every other point) agrees to ``STEP_TOL`` (its error is then about the
    square of that); else every term is summed.
    """
    nx = n * x
    last = math.ceil(n - nx) - 1  # largest j with n - j > n x (its term is not 0)
    log_first = n * math.log1p(-x) - math.log(x)  # j = 0
    if last < 1:
        return x * math.exp(log_first)
    lo, hi = 1, last
    if last > DIRECT_MAX_TERMS:
        grid = np.unique(np.linspace(1, last, GRID).round())
        g = _log_terms(n, x, grid)
        keep = np.flatnonzero(g > max(float(g.max()), log_first) - SKIP)
        if keep.size == 0:  # only the j = 0 term counts
            return x * math.exp(log_first)
        lo = int(grid[max(keep[0] - 1, 0)])
        hi = int(grid[min(keep[-1] + 1, grid.size - 1)])
        if keep[0] > 0 and keep[-1] < grid.size - 1:
            stepped = _stepped_sum(n, x, lo, hi, log_first)
            if stepped is not None:
                return stepped
    logs = _log_terms(n, x, np.arange(lo, hi + 1, dtype=np.float64))
    top = max(float(logs.max()), log_first)
    total = float(np.sum(np.exp(logs - top))) + math.exp(log_first - top)
    return math.exp(top + math.log(x * total))


def _stepped_sum(n: int, x: float, lo: int, hi: int, log_first: float) -> float | None:
    """:func:`smirnov_sum` from the terms at every ``h``-th ``j`` of ``[lo, hi]`` (their
    ends below ``exp(-SKIP)`` of the largest term), or None when the bracket is too narrow
    for a step or the steps ``h`` and ``2 h`` disagree."""
    h = (hi - lo) // (2 * STEP_POINTS)
    if h < 2:
        return None
    logs = _log_terms(n, x, np.arange(lo, hi + 1, h, dtype=np.float64))
    top = max(float(logs.max()), log_first)
    terms = np.exp(logs - top)
    fine = h * float(np.sum(terms))
    coarse = 2 * h * float(np.sum(terms[::2]))
    if abs(fine - coarse) > STEP_TOL * fine:
        return None
    return math.exp(top + math.log(x * (fine + math.exp(log_first - top))))
