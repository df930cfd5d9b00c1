"""Statistical primitives of the drift monitor: small pure numpy functions.

Numerical two-sample statistics take *sorted* samples without NaN (the reference side comes
sorted from :class:`monitors.profile.NumericProfile`, so a run only sorts the current window).
Categorical statistics take aligned count vectors (see :func:`align_counts`). Every function
reproduces the definition Evidently 0.7 uses, so scores compare one to one.

>>> a = np.array([1.0, 2.0, 3.0]); b = np.array([2.0, 3.0, 4.0])
>>> round(wasserstein_sorted(a, b), 6)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special
from scipy import stats as sps

from dqm.monitors.columns import FloatArray, IntArray

# scipy's ks_2samp computes the exact p-value up to this sample size ('auto' mode).
KS_EXACT_MAX_N = 10000


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
    m, n = sorted((float(n1), float(n2)), reverse=True)
    p = sps.kstwo.sf(d, np.round(m * n / (m + n)))
    return d, float(np.clip(p, 0.0, 1.0))


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


def merged_cdf_gap(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Merged sorted sample and ``F_ref - F_cur`` after each of its positions.

    A stable argsort of two concatenated sorted runs is a linear merge (timsort), so this
    replaces two binary searches of every value. Ties keep reference values first.

    >>> merged, gap = merged_cdf_gap(np.array([1.0, 3.0]), np.array([2.0]))
    >>> merged.tolist(), gap.tolist()
    ([1.0, 2.0, 3.0], [0.5, -0.5, 0.0])
    """
    both = np.concatenate([ref, cur])
    order = np.argsort(both, kind="stable")
    # In place: these arrays are as long as both windows together.
    ref_seen = np.cumsum(order < ref.size, dtype=np.float64)
    cur_seen = np.arange(1.0, both.size + 1.0)
    cur_seen -= ref_seen
    ref_seen /= ref.size
    cur_seen /= cur.size
    ref_seen -= cur_seen
    return both[order], ref_seen


def wasserstein_sorted(ref: FloatArray, cur: FloatArray) -> float:
    """First Wasserstein (earth mover's) distance of two sorted samples.

    Integrates ``|F_ref - F_cur|`` over the merged support, as
    ``scipy.stats.wasserstein_distance``.

    Reference: Ramdas, Garcia, Cuturi (2017), "On Wasserstein two sample testing".

    >>> wasserstein_sorted(np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0, 8.0]))
    5.0
    """
    if ref.size == cur.size:
        # Equal sizes: the quantile functions step together, W1 = mean |ref_(i) - cur_(i)|.
        return float(np.mean(np.abs(ref - cur)))
    merged, gap = merged_cdf_gap(ref, cur)
    # Between tied values the step width is 0, so partial tie counts do not matter.
    np.abs(gap, out=gap)
    return float(np.dot(gap[:-1], np.diff(merged)))


def wasserstein_norm(ref: FloatArray, cur: FloatArray, ref_std: float) -> float:
    """Wasserstein distance divided by the reference standard deviation (floored at 0.001).

    ``ref_std`` is the population standard deviation (ddof=0) of ``ref``; this is Evidently's
    "Wasserstein distance (normed)".

    >>> round(wasserstein_norm(np.array([0.0, 2.0]), np.array([1.0, 3.0]), 1.0), 6)
    1.0
    """
    return wasserstein_sorted(ref, cur) / max(ref_std, 0.001)


def sorted_value_counts(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct values of a sorted array and how often each occurs.

    >>> v, c = sorted_value_counts(np.array([1.0, 1.0, 2.0, 5.0, 5.0, 5.0]))
    >>> v.tolist(), c.tolist()
    ([1.0, 2.0, 5.0], [2, 1, 3])
    """
    if values.size == 0:
        return values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    counts = np.diff(np.append(starts, values.size)).astype(np.int64)
    return values[starts], counts


def align_counts(
    keys_a: np.ndarray, counts_a: IntArray, keys_b: np.ndarray, counts_b: IntArray
) -> tuple[np.ndarray, IntArray, IntArray]:
    """Counts of two samples over the sorted union of their (sorted, distinct) keys.

    >>> k, a, b = align_counts(np.array(["a", "b"]), np.array([3, 1]), np.array(["c"]), [2])
    >>> k.tolist(), a.tolist(), b.tolist()
    (['a', 'b', 'c'], [3, 1, 0], [0, 0, 2])
    """
    keys = np.union1d(keys_a, keys_b)
    out_a = np.zeros(keys.size, dtype=np.int64)
    out_b = np.zeros(keys.size, dtype=np.int64)
    out_a[np.searchsorted(keys, keys_a)] = counts_a
    out_b[np.searchsorted(keys, keys_b)] = counts_b
    return keys, out_a, out_b


def sturges_edges(ref: FloatArray, cur: FloatArray) -> FloatArray:
    """Edges of ``numpy.histogram_bin_edges(concat(ref, cur), "sturges")`` for sorted inputs.

    Reference: Sturges (1926), "The choice of a class interval".

    >>> sturges_edges(np.array([0.0, 1.0, 2.0]), np.array([3.0, 4.0])).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    first = min(ref[0], cur[0]) if cur.size else ref[0]
    last = max(ref[-1], cur[-1]) if cur.size else ref[-1]
    return sturges_edges_of_range(float(first), float(last), ref.size + cur.size)


def sturges_edges_of_range(first: float, last: float, n: int) -> FloatArray:
    """Sturges edges for ``n`` values spanning ``[first, last]``, exactly as numpy builds them.

    >>> sturges_edges_of_range(2.0, 2.0, 10).tolist()
    [1.5, 2.5]
    """
    width = (last - first) / (np.log2(n) + 1.0)
    if first == last:
        first, last = first - 0.5, last + 0.5
    n_bins = int(np.ceil((last - first) / width)) if width else 1
    return np.linspace(first, last, n_bins + 1, endpoint=True)


def sorted_histogram(values: FloatArray, edges: FloatArray) -> IntArray:
    """``numpy.histogram(values, edges)[0]`` for a sorted array (last bin closed).

    >>> sorted_histogram(np.array([0.0, 0.5, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])).tolist()
    [2, 2]
    """
    idx = np.concatenate(
        [values.searchsorted(edges[:-1], "left"), values.searchsorted(edges[-1:], "right")]
    )
    return np.diff(idx).astype(np.int64)


def fill_empty_bins(percents: FloatArray) -> FloatArray:
    """Evidently's empty-bin rule: zeros become min(nonzero)/1e6 if that min <= 1e-4, else 1e-4.

    Reference: Evidently 0.7, ``get_binned_data(..., feel_zeroes=True)`` (used by PSI, KL).

    >>> fill_empty_bins(np.array([0.5, 0.5, 0.0])).tolist()
    [0.5, 0.5, 0.0001]
    """
    out = percents.copy()
    smallest = float(out[out != 0].min())
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def jensenshannon(p: FloatArray, q: FloatArray) -> float:
    """Jensen-Shannon distance (natural log) of two frequency vectors, normalized to sum 1.

    The square root of the JS divergence, as ``scipy.spatial.distance.jensenshannon``.

    Reference: Lin (1991), "Divergence measures based on the Shannon entropy".

    >>> round(jensenshannon(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 6)  # sqrt(ln 2)
    0.832555
    """
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    js = float(np.sum(special.rel_entr(p, m))) + float(np.sum(special.rel_entr(q, m)))
    return math.sqrt(max(js, 0.0) / 2.0)


def psi(ref_percents: FloatArray, cur_percents: FloatArray) -> float:
    """Population stability index ``sum((r - c) * ln(r / c))`` of binned frequencies.

    Pass frequencies without zeros (see :func:`fill_empty_bins`).

    Reference: Yurdakul (2018), "Statistical properties of population stability index".

    >>> round(psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 6)
    0.274653
    """
    return float(np.sum((ref_percents - cur_percents) * np.log(ref_percents / cur_percents)))


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


def adjust_p_values(p_values: Sequence[float], method: str) -> FloatArray:
    """Family-wise (``"bonferroni"``) or false-discovery-rate (``"bh"``) adjusted p-values.

    ``"bh"`` is the Benjamini-Hochberg step-up procedure: ``min_{j >= i} m p_(j) / j``, capped
    at 1, in the original order.

    Reference: Benjamini, Hochberg (1995), "Controlling the false discovery rate".

    >>> adjust_p_values([0.01, 0.04, 0.03], "bh").round(4).tolist()
    [0.03, 0.04, 0.04]
    >>> adjust_p_values([0.01, 0.04, 0.03], "bonferroni").round(4).tolist()
    [0.03, 0.12, 0.09]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method != "bh":
        raise ValueError(f"unknown multiple-testing method {method!r}")
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out
