"""Two-sample hypothesis tests: Kolmogorov-Smirnov, chi-square, z, Mann-Whitney, Cramer-von
Mises and Anderson-Darling, each reproducing the p-value Evidently 0.7 reports.

Numerical tests take *sorted* samples without NaN (the reference side comes sorted from
:class:`dqm.monitors.profile.NumericProfile`, so a run only sorts the current window);
categorical tests take count vectors over the same keys (see
:func:`dqm.monitors.stats.binning.align_counts`). Fisher's exact test is
``scipy.stats.fisher_exact`` itself (see :mod:`dqm.monitors.drift.methods`).

>>> stat, p = chisquare_counts(np.array([50, 50]), np.array([30, 70]))
>>> float(stat)
16.0
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy import stats as sps

from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.stats import exact_null, smirnov
from dqm.monitors.stats.ecdf import merged_cdf_gap

# scipy's ks_2samp computes the exact p-value up to this sample size ('auto' mode).
KS_EXACT_MAX_N = 10000
# scipy's mannwhitneyu ('auto'): exact when the smaller sample has at most this many values.
EXACT_MANN_WHITNEY_MAX_N = 8
# Evidently's Cramer-von Mises ('auto'): exact when the larger sample has at most this many.
EXACT_CVM_MAX_N = 20


def ks_2samp_sorted(ref: FloatArray, cur: FloatArray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and two-sided p-value from sorted samples.

    Follows scipy's ``method='auto'``: with at most 10000 values per sample, statistic and
    exact p-value (path counting) come from ``scipy.stats.ks_2samp``; above, the statistic is
    computed here from the merged sample and the p-value is the Smirnov distribution ``kstwo``
    at the effective size ``round(n1 n2 / (n1 + n2))``, so no sort of the reference is repeated.

    References: Hodges (1958); ``scipy.stats.ks_2samp``.

    >>> d, p = ks_2samp_sorted(np.array([0.0, 1.0, 2.0, 3.0]), np.array([2.5, 3.5, 4.5, 5.5]))
    >>> float(d), round(p, 4)
    (0.75, 0.2286)
    """
    n1, n2 = ref.size, cur.size
    if max(n1, n2) <= KS_EXACT_MAX_N:
        res = sps.ks_2samp(ref, cur, method="exact")
        return float(res.statistic), float(res.pvalue)
    d = ks_statistic_sorted(ref, cur)
    return d, ks_asymptotic_p(d, n1, n2)


def ks_asymptotic_p(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value of KS statistic ``d`` above the exact range: the Smirnov distribution
    ``kstwo`` at the effective size ``round(n1 n2 / (n1 + n2))``, as scipy's ``auto`` mode
    (:func:`dqm.monitors.stats.smirnov.kstwo_sf`: scipy's value, without its O(n) loop).

    >>> round(ks_asymptotic_p(0.015, 20000, 10000), 4)
    0.0986
    """
    m, n = sorted((float(n1), float(n2)), reverse=True)
    p = smirnov.kstwo_sf(d, int(np.round(m * n / (m + n))))
    return float(np.clip(p, 0.0, 1.0))


def ks_statistic_sorted(ref: FloatArray, cur: FloatArray) -> float:
    """Largest absolute difference of the two empirical CDFs (sorted inputs).

    Reference: Smirnov (1939); the statistic of ``scipy.stats.ks_2samp``.

    >>> ks_statistic_sorted(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    1.0
    """
    merged, gap = merged_cdf_gap(ref, cur)
    # Within a run of ties only the last position carries both CDFs at that value.
    last_of_tie = np.append(merged[1:] != merged[:-1], True)
    return float(np.max(np.abs(gap[last_of_tie])))


def chisquare_counts(ref_counts: IntArray, cur_counts: IntArray) -> tuple[float, float]:
    """Pearson chi-square goodness of fit of current counts to reference proportions.

    Expected counts are the reference counts scaled to the current size; a category unseen in the
    reference gives an infinite statistic (p = 0), as in Evidently's ``chisquare`` test.

    Reference: Pearson (1900); ``scipy.stats.chisquare``.

    >>> stat, p = chisquare_counts(np.array([50, 50]), np.array([30, 70]))
    >>> float(stat), round(p, 6)
    (16.0, 6.3e-05)
    """
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.sum((cur_counts - expected) ** 2 / expected))
    return stat, float(sps.chi2.sf(stat, ref_counts.size - 1))


def z_test_proportions(ref_counts: IntArray, cur_counts: IntArray) -> float:
    """Two-sided pooled z-test that the share of the first key differs between two samples.

    Counts are over sorted keys; every key but the first counts as "other" (Evidently's ``z``
    test). The p-value is ``2 * (1 - Phi(|z|))`` exactly as Evidently computes it; both samples
    holding the same single value give p = 1.

    Reference: Fleiss, Levin, Paik (2003), Statistical Methods for Rates and Proportions, 2.6.

    >>> round(z_test_proportions(np.array([60, 40]), np.array([40, 60])), 6)
    0.004678
    """
    if np.count_nonzero(ref_counts) == 1 and np.array_equal(ref_counts > 0, cur_counts > 0):
        return 1.0
    n1, n2 = float(ref_counts.sum()), float(cur_counts.sum())
    p1 = float(ref_counts[1:].sum()) / n1
    p2 = float(cur_counts[1:].sum()) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - special.ndtr(np.abs(z))))


def _midranks(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """Average ranks of ref and of cur values in the merged sample (sorted order) and tie sizes."""
    both = np.concatenate([ref, cur])
    order = np.argsort(both, kind="stable")
    merged = both[order]
    starts = np.flatnonzero(np.concatenate([[True], merged[1:] != merged[:-1]]))
    sizes = np.diff(np.append(starts, merged.size))
    group_rank = starts + (sizes + 1) / 2.0
    ranks = np.repeat(group_rank, sizes)
    is_ref = order < ref.size
    return ranks[is_ref], ranks[~is_ref], sizes


def mann_whitney_u(ref: FloatArray, cur: FloatArray) -> tuple[float, float]:
    """Mann-Whitney U of ``ref`` and the p-value of the alternative "ref is stochastically less".

    As scipy's ``mannwhitneyu(method="auto")``, which Evidently's ``mannw`` calls: the exact
    distribution when either sample has at most 8 values and no value is tied, else the normal
    approximation with tie and continuity corrections. Pooled values all tied give p = 1.

    Reference: Mann, Whitney (1947); ``scipy.stats.mannwhitneyu``.

    >>> u, p = mann_whitney_u(np.arange(10.0), np.arange(5.0, 15.0))
    >>> float(u), round(p, 4)
    (12.5, 0.0025)
    >>> u, p = mann_whitney_u(np.array([0.5, 1.5, 5.5]), np.arange(1.0, 13.0))  # exact
    >>> float(u), round(p, 4)
    (6.0, 0.0505)
    """
    n1, n2 = ref.size, cur.size
    ref_ranks, _, ties = _midranks(ref, cur)
    u1 = float(ref_ranks.sum()) - n1 * (n1 + 1) / 2.0
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties))
    return u1, mann_whitney_p(u1, tie_term, n1, n2)


def mann_whitney_p(u1: float, tie_term: float, n1: int, n2: int) -> float:
    """The p-value of :func:`mann_whitney_u` from U of the first sample and the tie term
    ``sum (t^3 - t)`` over the runs of ``t`` tied pooled values (0 when none is tied).

    >>> round(mann_whitney_p(12.5, 30.0, 10, 10), 4)  # five pairs of tied values
    0.0025
    """
    if min(n1, n2) <= EXACT_MANN_WHITNEY_MAX_N and tie_term == 0.0:
        return exact_null.mann_whitney_sf(n1 * n2 - u1, n1, n2)
    n = n1 + n2
    s = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
    if s == 0.0:  # every pooled value tied: scipy's z is -inf, so p = 1
        return 1.0
    z = (n1 * n2 - u1 - n1 * n2 / 2.0 - 0.5) / s
    return float(np.clip(special.ndtr(-z), 0.0, 1.0))


def cramer_von_mises_sorted(ref: FloatArray, cur: FloatArray) -> tuple[float, float]:
    """Two-sample Cramer-von Mises statistic T and its p-value, as Evidently's test computes it.

    Up to 20 values per sample the p-value is Evidently's exact one
    (:func:`dqm.monitors.stats.exact_null.cramer_von_mises_sf_evidently`, which rounds and so
    differs from scipy's exact p-value by up to about 5e-4); above, the asymptotic one. A
    sample with fewer than 2 values gives NaN (scipy's answer; Evidently raises).

    Reference: Anderson (1962), "On the distribution of the two-sample Cramer-von Mises
    criterion"; Csorgo, Faraway (1996) for the limiting distribution;
    ``scipy.stats.cramervonmises_2samp``.

    >>> t, p = cramer_von_mises_sorted(np.arange(30.0), np.arange(30.0) + 10.0)
    >>> round(t, 4), round(p, 4)
    (1.2972, 0.0005)
    """
    nx, ny = ref.size, cur.size
    if min(nx, ny) < 2:
        return math.nan, math.nan
    rx, ry, _ = _midranks(ref, cur)
    u = nx * np.sum((rx - np.arange(1, nx + 1)) ** 2) + ny * np.sum(
        (ry - np.arange(1, ny + 1)) ** 2
    )
    return cramer_von_mises_of_u(float(u), nx, ny)


def cramer_von_mises_of_u(u: float, nx: int, ny: int) -> tuple[float, float]:
    """Statistic T and p-value of :func:`cramer_von_mises_sorted` from its rank sum ``U``
    (samples of ``nx`` and ``ny`` >= 2 values).

    >>> t, p = cramer_von_mises_of_u(26.0, 3, 2)
    >>> round(t, 4), round(p, 4)
    (0.1, 0.9)
    """
    k, n = nx * ny, nx + ny
    t = float(u / (k * n) - (4 * k - 1) / (6 * n))
    if max(nx, ny) <= EXACT_CVM_MAX_N:
        return t, exact_null.cramer_von_mises_sf_evidently(u, nx, ny)
    et = (1 + 1 / n) / 6
    vt = (n + 1.0) * (4 * k * n - 3 * (nx**2 + ny**2) - 2 * k) / (45 * n**2 * 4 * k)
    tn = 1 / 6 + (t - et) / math.sqrt(45 * vt)
    return t, 1.0 if tn < 0.003 else max(0.0, 1.0 - _cdf_cvm_inf(tn))


def _cdf_cvm_inf(x: float) -> float:
    """CDF of the limiting Cramer-von Mises distribution (Csorgo, Faraway 1996, eq. 1.2)."""
    total, k = 0.0, 0
    while True:
        y = 4 * k + 1
        q = y**2 / (16 * x)
        term: float = (
            math.exp(float(special.gammaln(k + 0.5) - special.gammaln(k + 1)))
            / (math.pi**1.5 * math.sqrt(x))
            * math.sqrt(y)
            * math.exp(-q)
            * float(special.kv(0.25, q))
        )
        total += term
        if abs(term) < 1e-7:
            return total
        k += 1


# Scholz & Stephens (1987), Table 2: critical values of the standardized statistic for k - 1 = 1.
_AD_LEVELS = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])


_AD_CRITICAL = (
    np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
    + np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
    + np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
)
_AD_CRITICAL_MIN, _AD_CRITICAL_MAX = float(_AD_CRITICAL.min()), float(_AD_CRITICAL.max())
_AD_LEVEL_MIN, _AD_LEVEL_MAX = float(_AD_LEVELS.min()), float(_AD_LEVELS.max())
# The p-value's quadratic in log level, fitted once (scipy.stats.anderson_ksamp fits it on
# every call: a least-squares solve, ~0.1 ms).
_AD_FIT = np.polyfit(_AD_CRITICAL, np.log(_AD_LEVELS), 2)
_AD_C2, _AD_C1, _AD_C0 = float(_AD_FIT[0]), float(_AD_FIT[1]), float(_AD_FIT[2])
_EULER_GAMMA = 0.57721566490153286061


def anderson_darling_sorted(ref: FloatArray, cur: FloatArray) -> tuple[float, float]:
    """Two-sample Anderson-Darling test (midrank version): standardized statistic and p-value.

    The p-value interpolates the tabulated critical values quadratically in log level and is
    capped to [0.001, 0.25], as ``scipy.stats.anderson_ksamp`` (Evidently's ``anderson``).
    Fewer than 4 pooled values give NaN: the variance is undefined (scipy: NaN or an error).

    Reference: Scholz, Stephens (1987), "K-sample Anderson-Darling tests", eq. 7 and Table 2.

    >>> a2, p = anderson_darling_sorted(np.arange(40.0), np.arange(40.0) + 5.0)
    >>> round(a2, 4), round(p, 4)
    (1.4976, 0.0783)
    """
    if ref.size + cur.size < 4:
        return math.nan, math.nan
    both = np.concatenate([ref, cur])
    both.sort(kind="stable")
    n_all = both.size
    distinct = both[np.concatenate([[True], both[1:] != both[:-1]])]
    left = both.searchsorted(distinct, "left")
    ties = both.searchsorted(distinct, "right") - left
    b = left + ties / 2.0
    a2 = 0.0
    for s in (ref, cur):
        m = (s.searchsorted(distinct, "right") + s.searchsorted(distinct, "left")) / 2.0
        inner = (
            ties / n_all * (n_all * m - b * s.size) ** 2 / (b * (n_all - b) - n_all * ties / 4.0)
        )
        a2 += float(inner.sum()) / s.size
    a2 *= (n_all - 1.0) / n_all
    return _ad_standardize(a2, ref.size, cur.size)


def anderson_darling_of_a2(a2: float, n1: int, n2: int) -> tuple[float, float]:
    """Standardized statistic and p-value of :func:`anderson_darling_sorted` from its
    ``A2akN`` (e.g. :func:`dqm.monitors.stats.anderson_reference.anderson_darling_a2`);
    NaN for fewer than 4 pooled values."""
    if n1 + n2 < 4:
        return math.nan, math.nan
    return _ad_standardize(a2, n1, n2)


def _ad_harmonic_sums(n: int) -> tuple[float, float]:
    """``h = sum_{i < n} 1 / i`` and ``g = sum_{i, j < n, i + j > n} 1 / (i j)`` of Scholz,
    Stephens eq. 4 for ``n`` pooled values, in closed form (scipy sums ``n`` terms: ms at a 1M
    reference, on every window size): with ``H_n`` and ``H2_n = sum_{i <= n} 1 / i^2``,
    the pairs ``i + j <= n`` sum to ``H_n^2 - H2_n`` (``sum_{i + j = s} 1 / (i j) =
    2 H_{s-1} / s``), so ``g = H2_n - (H_n + H_{n-1}) / n``: no cancellation.

    >>> [round(v, 12) for v in _ad_harmonic_sums(4)]  # 1 + 1/2 + 1/3; 1/6 + 1/6 + 1/9
    [1.833333333333, 0.444444444444]
    """
    h = float(special.digamma(float(n))) + _EULER_GAMMA  # H_{n-1}
    h2 = math.pi**2 / 6.0 - float(special.zeta(2.0, n + 1.0))  # H2_n
    return h, h2 - (2.0 * h + 1.0 / n) / n


def _ad_standardize(a2: float, n1: int, n2: int) -> tuple[float, float]:
    """Standardize the k = 2 statistic by its variance (Scholz, Stephens eq. 4) and find p
    (microseconds: the interpolation's coefficients are fitted once, at import)."""
    k, n = 2, n1 + n2
    big_h = 1.0 / n1 + 1.0 / n2
    h, g = _ad_harmonic_sums(n)
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * big_h
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * big_h - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * big_h + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    sigmasq = (a * n**3 + b * n**2 + c * n + d) / ((n - 1.0) * (n - 2.0) * (n - 3.0))
    stat = (a2 - (k - 1)) / math.sqrt(sigmasq)
    if stat < _AD_CRITICAL_MIN:
        return stat, _AD_LEVEL_MAX
    if stat > _AD_CRITICAL_MAX:
        return stat, _AD_LEVEL_MIN
    return stat, math.exp((_AD_C2 * stat + _AD_C1) * stat + _AD_C0)  # np.polyval's Horner
