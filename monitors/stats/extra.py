"""More two-sample statistics (issue #3): distances and tests beyond Evidently's defaults.

Numerical functions take sorted samples without NaN; categorical ones take aligned counts.
Where Evidently 0.7 has the same method, the definition (and its quirks) is Evidently's.

>>> round(total_variation(np.array([5, 5]), np.array([2, 8])), 6)
0.3
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy import stats as sps

from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.stats.basic import merged_cdf_gap, sorted_histogram, sturges_edges_of_range


def hellinger_counts(ref_counts: IntArray, cur_counts: IntArray) -> float:
    """Hellinger distance ``sqrt(1 - sum sqrt(p q))`` of two count vectors over the same keys.

    Reference: Hellinger (1909); Evidently's ``hellinger`` for categorical columns.

    >>> hellinger_counts(np.array([1, 0]), np.array([0, 1]))
    1.0
    """
    bc = float(np.sum(np.sqrt(ref_counts / ref_counts.sum() * (cur_counts / cur_counts.sum()))))
    return math.sqrt(1.0 - min(max(bc, 0.0), 1.0))


def hellinger_sorted(ref: FloatArray, cur: FloatArray, keys: FloatArray) -> float:
    """Hellinger distance of two numerical samples on density histograms, as Evidently.

    Evidently bins with Sturges edges built from the distinct values ``keys`` of both samples
    (not from the samples themselves) and integrates ``sqrt(f g)`` with the mean bin width.

    >>> x = np.array([0.0, 1.0, 2.0, 3.0])
    >>> hellinger_sorted(x, x, x)
    0.0
    """
    edges = sturges_edges_of_range(float(keys[0]), float(keys[-1]), keys.size)
    widths = np.diff(edges)
    f = sorted_histogram(ref, edges) / (ref.size * widths)
    g = sorted_histogram(cur, edges) / (cur.size * widths)
    mean_width = (edges[-1] - edges[0]) / (edges.size - 1)
    bc = float(np.sum(np.sqrt(f * g) * mean_width))
    return math.sqrt(1.0 - min(max(bc, 0.0), 1.0))


def kl_divergence(ref_percents: FloatArray, cur_percents: FloatArray) -> float:
    """Kullback-Leibler divergence ``sum p ln(p / q)`` (natural log) after normalizing both.

    Pass frequencies without zeros in ``q`` (see :func:`monitors.stats.fill_empty_bins`).

    Reference: Kullback, Leibler (1951); ``scipy.stats.entropy(p, q)``.

    >>> round(kl_divergence(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 6)
    0.143841
    """
    p = ref_percents / ref_percents.sum()
    q = cur_percents / cur_percents.sum()
    return float(np.sum(special.rel_entr(p, q)))


def total_variation(ref_counts: IntArray, cur_counts: IntArray) -> float:
    """Total variation distance ``0.5 * sum |p - q|`` of two count vectors over the same keys.

    Reference: Levin, Peres, Wilmer (2009), Markov Chains and Mixing Times, 4.1.

    >>> total_variation(np.array([1, 0]), np.array([0, 3]))
    1.0
    """
    return float(
        0.5 * np.sum(np.abs(ref_counts / ref_counts.sum() - cur_counts / cur_counts.sum()))
    )


def energy_distance_sorted(ref: FloatArray, cur: FloatArray) -> float:
    """Energy distance ``sqrt(2 * integral (F - G)^2)`` of two sorted samples.

    Reference: Szekely, Rizzo (2013), "Energy statistics"; ``scipy.stats.energy_distance``.

    >>> round(energy_distance_sorted(np.array([0.0]), np.array([1.0])), 6)  # sqrt(2)
    1.414214
    """
    merged, gap = merged_cdf_gap(ref, cur)
    return math.sqrt(2.0 * float(np.dot(gap[:-1] ** 2, np.diff(merged))))


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

    Normal approximation with tie and continuity corrections (scipy's method for samples larger
    than 8 or with ties). The one-sided ``less`` alternative is what Evidently's ``mannw`` uses.

    Reference: Mann, Whitney (1947); ``scipy.stats.mannwhitneyu``.

    >>> u, p = mann_whitney_u(np.arange(10.0), np.arange(5.0, 15.0))
    >>> float(u), round(p, 4)
    (12.5, 0.0025)
    """
    n1, n2 = ref.size, cur.size
    ref_ranks, _, ties = _midranks(ref, cur)
    u1 = float(ref_ranks.sum()) - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties))
    s = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
    z = (n1 * n2 - u1 - n1 * n2 / 2.0 - 0.5) / s
    return u1, float(np.clip(special.ndtr(-z), 0.0, 1.0))


def cramer_von_mises_sorted(ref: FloatArray, cur: FloatArray) -> tuple[float, float]:
    """Two-sample Cramer-von Mises statistic T and its asymptotic p-value.

    Reference: Anderson (1962), "On the distribution of the two-sample Cramer-von Mises
    criterion"; Csorgo, Faraway (1996) for the limiting distribution;
    ``scipy.stats.cramervonmises_2samp(method="asymptotic")``.

    >>> t, p = cramer_von_mises_sorted(np.arange(30.0), np.arange(30.0) + 10.0)
    >>> round(t, 4), round(p, 4)
    (1.2972, 0.0005)
    """
    nx, ny = ref.size, cur.size
    rx, ry, _ = _midranks(ref, cur)
    u = nx * np.sum((rx - np.arange(1, nx + 1)) ** 2) + ny * np.sum(
        (ry - np.arange(1, ny + 1)) ** 2
    )
    k, n = nx * ny, nx + ny
    t = float(u / (k * n) - (4 * k - 1) / (6 * n))
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


def fisher_exact_2x2(table: IntArray) -> float:
    """Two-sided p-value of Fisher's exact test on a 2x2 table of counts.

    Sums the hypergeometric probabilities of all tables with the observed margins that are no
    more likely than the observed one (relative tolerance 1e-7, as scipy).

    Reference: Fisher (1922); ``scipy.stats.fisher_exact``.

    >>> round(fisher_exact_2x2(np.array([[8, 2], [1, 5]])), 6)
    0.034965
    """
    (a, b), (c, d) = table.tolist()
    row1, col1, total = a + b, a + c, a + b + c + d
    dist = sps.hypergeom(total, col1, row1)
    support = np.arange(max(0, row1 + col1 - total), min(row1, col1) + 1)
    pmf = dist.pmf(support)
    observed = dist.pmf(a)
    return float(min(1.0, pmf[pmf <= observed * (1 + 1e-7)].sum()))


# Scholz & Stephens (1987), Table 2: critical values of the standardized statistic for k - 1 = 1.
_AD_LEVELS = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])
_AD_CRITICAL = (
    np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
    + np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
    + np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
)


def anderson_darling_sorted(ref: FloatArray, cur: FloatArray) -> tuple[float, float]:
    """Two-sample Anderson-Darling test (midrank version): standardized statistic and p-value.

    The p-value interpolates the tabulated critical values quadratically in log level and is
    capped to [0.001, 0.25], as ``scipy.stats.anderson_ksamp`` (Evidently's ``anderson``).

    Reference: Scholz, Stephens (1987), "K-sample Anderson-Darling tests", eq. 7 and Table 2.

    >>> a2, p = anderson_darling_sorted(np.arange(40.0), np.arange(40.0) + 5.0)
    >>> round(a2, 4), round(p, 4)
    (1.4976, 0.0783)
    """
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


def _ad_standardize(a2: float, n1: int, n2: int) -> tuple[float, float]:
    """Standardize the k = 2 statistic by its variance (Scholz, Stephens eq. 4) and find p."""
    k, n = 2, n1 + n2
    big_h = 1.0 / n1 + 1.0 / n2
    hs_cs = np.cumsum(1.0 / np.arange(n - 1, 1, -1))
    h = float(hs_cs[-1]) + 1
    g = float(np.sum(hs_cs / np.arange(2, n)))
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * big_h
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * big_h - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * big_h + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    sigmasq = (a * n**3 + b * n**2 + c * n + d) / ((n - 1.0) * (n - 2.0) * (n - 3.0))
    stat = (a2 - (k - 1)) / math.sqrt(sigmasq)
    if stat < _AD_CRITICAL.min():
        return stat, float(_AD_LEVELS.max())
    if stat > _AD_CRITICAL.max():
        return stat, float(_AD_LEVELS.min())
    fit = np.polyfit(_AD_CRITICAL, np.log(_AD_LEVELS), 2)
    return stat, math.exp(float(np.polyval(fit, stat)))
