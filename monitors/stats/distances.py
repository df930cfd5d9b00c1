"""Distances between two samples: Wasserstein, energy, Jensen-Shannon, PSI, KL, Hellinger, TVD.

Numerical distances take *sorted* samples without NaN; the others take binned frequencies or
counts aligned over the same keys (see :mod:`dqm.monitors.stats.binning`). Where Evidently 0.7
has the same method, the definition (and its quirks) is Evidently's.

>>> a = np.array([1.0, 2.0, 3.0]); b = np.array([2.0, 3.0, 4.0])
>>> round(wasserstein_sorted(a, b), 6)
1.0
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.stats.binning import sorted_histogram, sturges_edges_of_range
from dqm.monitors.stats.ecdf import merged_cdf_gap


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
        gap = np.subtract(ref, cur)
        return float(np.mean(np.abs(gap, out=gap)))  # one temporary, not two
    return _quantile_wasserstein(ref, cur)


# Steps of the larger sample merged per block: the temporaries hold a few blocks of values
# instead of seven arrays of n + m (94 MiB for two samples of 950,000, per column thread).
QUANTILE_BLOCK = 1 << 16


def _quantile_wasserstein(x: FloatArray, y: FloatArray) -> float:
    """``integral_0^1 |Q_x(u) - Q_y(u)| du`` of two sorted, non-empty samples (equal to the
    CDF integral), without merging them.

    The quantile functions step at ``i / n`` and ``j / m``; in units of ``1 / (n m)`` these
    are the integers ``i m`` and ``j n``, whose merged order is known in closed form: ``i m``
    has ``ceil(i m / n)`` of the ``j n`` below it, ``j n`` has ``floor(j n / m) + 1`` of the
    ``i m`` at or below it. So the merge is a scatter, not a sort, done one block of the
    larger sample's steps at a time (the distance is symmetric; ``x`` is the larger sample).

    >>> round(_quantile_wasserstein(np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0])), 6)
    4.166667
    """
    if x.size < y.size:
        x, y = y, x  # a block of x steps then holds at most as many y steps
    n, m = x.size, y.size
    total = 0.0
    for start in range(0, n, QUANTILE_BLOCK):
        total += _quantile_block(x, y, start, min(start + QUANTILE_BLOCK, n))
    return total / (float(n) * float(m))


def _quantile_block(x: FloatArray, y: FloatArray, a0: int, a1: int) -> float:
    """``sum |Q_x - Q_y| * width`` (widths in units of ``1 / (n m)``) over the merged intervals
    from the step at ``a0 / n`` to the one at ``a1 / n`` (see :func:`_quantile_wasserstein`)."""
    n, m = x.size, y.size
    i = np.arange(a0, a1 + 1, dtype=np.int64)
    im = i * m
    pos_x = im + (n - 1)
    pos_x //= n
    c0, c1 = int(pos_x[0]), int(pos_x[-1])  # the y steps below i m: ceil(i m / n)
    pos_x += i  # merged position of the step at i / n
    first = int(pos_x[0])
    pos_x -= first
    j = np.arange(c0, c1, dtype=np.int64)
    jn = j * n
    pos_y = jn // m
    pos_y += j + (1 - first)  # merged position of the step at j / m, in the block
    steps = np.empty(int(pos_x[-1]) + 1, dtype=np.int64)
    steps[pos_x] = im
    steps[pos_y] = jn
    # Interval k of the block lies between its steps k and k + 1.
    widths = np.diff(steps).astype(np.float64)
    gap = np.repeat(x[a0:a1], np.diff(pos_x))  # Q_x on the block's intervals
    lead = int(pos_y[0]) if c1 > c0 else gap.size
    gap[:lead] -= y[max(c0 - 1, 0)]  # Q_y before the block's first y step
    if c1 > c0:
        gap[lead:] -= np.repeat(y[c0:c1], np.diff(pos_y, append=gap.size))
    np.abs(gap, out=gap)
    if a0 == 0:  # the first interval (from x_0 to y_0, both at 0) has no y value yet
        gap, widths = gap[1:], widths[1:]
    return float(np.einsum("i,i->", gap, widths))


def wasserstein_norm(ref: FloatArray, cur: FloatArray, ref_std: float) -> float:
    """Wasserstein distance divided by the reference standard deviation (floored at 0.001).

    ``ref_std`` is the population standard deviation (ddof=0) of ``ref``; this is Evidently's
    "Wasserstein distance (normed)".

    >>> round(wasserstein_norm(np.array([0.0, 2.0]), np.array([1.0, 3.0]), 1.0), 6)
    1.0
    """
    return wasserstein_sorted(ref, cur) / max(ref_std, 0.001)


def energy_distance_sorted(ref: FloatArray, cur: FloatArray) -> float:
    """Energy distance ``sqrt(2 * integral (F - G)^2)`` of two sorted samples.

    Reference: Szekely, Rizzo (2013), "Energy statistics"; ``scipy.stats.energy_distance``.

    >>> round(energy_distance_sorted(np.array([0.0]), np.array([1.0])), 6)  # sqrt(2)
    1.414214
    """
    merged, gap = merged_cdf_gap(ref, cur)
    return math.sqrt(2.0 * float(np.einsum("i,i->", gap[:-1] ** 2, np.diff(merged))))


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


def jensenshannon_counts(ref_counts: IntArray, cur_counts: IntArray) -> float:
    """:func:`jensenshannon` of two count vectors, with logarithms only where the current
    count is not 0: there ``m = p / 2``, so each such key adds exactly ``p ln 2``, and they
    add ``ln 2`` times the reference share of the keys the window lacks.

    >>> a, b = np.array([5, 0, 3, 2]), np.array([1, 4, 0, 0])
    >>> math.isclose(jensenshannon_counts(a, b), jensenshannon(a / 10.0, b / 5.0), rel_tol=1e-12)
    True
    """
    seen = np.flatnonzero(cur_counts)
    p = ref_counts[seen] / float(ref_counts.sum())
    q = cur_counts[seen] / float(cur_counts.sum())
    m = (p + q) / 2.0
    js = float(np.sum(special.rel_entr(p, m))) + float(np.sum(special.rel_entr(q, m)))
    js += math.log(2.0) * max(1.0 - float(np.sum(p)), 0.0)
    return math.sqrt(max(js, 0.0) / 2.0)


def psi(ref_percents: FloatArray, cur_percents: FloatArray) -> float:
    """Population stability index ``sum((r - c) * ln(r / c))`` of binned frequencies.

    Pass frequencies without zeros (see :func:`dqm.monitors.stats.binning.fill_empty_bins`).

    Reference: Yurdakul (2018), "Statistical properties of population stability index".

    >>> round(psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 6)
    0.274653
    """
    return float(np.sum((ref_percents - cur_percents) * np.log(ref_percents / cur_percents)))


def kl_divergence(ref_percents: FloatArray, cur_percents: FloatArray) -> float:
    """Kullback-Leibler divergence ``sum p ln(p / q)`` (natural log) after normalizing both.

    Pass frequencies without zeros in ``q`` (see
    :func:`dqm.monitors.stats.binning.fill_empty_bins`).

    Reference: Kullback, Leibler (1951); ``scipy.stats.entropy(p, q)``.

    >>> round(kl_divergence(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 6)
    0.143841
    """
    p = ref_percents / ref_percents.sum()
    q = cur_percents / cur_percents.sum()
    return float(np.sum(special.rel_entr(p, q)))


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
    return hellinger_sorted_range(ref, cur, float(keys[0]), float(keys[-1]), keys.size)


def hellinger_sorted_range(
    ref: FloatArray, cur: FloatArray, first: float, last: float, n_keys: int
) -> float:
    """:func:`hellinger_sorted` given the smallest and largest of the distinct values of both
    samples and how many there are (the reference's may come from its profile).

    >>> x, keys = np.array([0.0, 1.0, 2.0, 3.0]), np.arange(5.0)
    >>> hellinger_sorted_range(x, x + 1.0, 0.0, 4.0, 5) == hellinger_sorted(x, x + 1.0, keys)
    True
    """
    edges = sturges_edges_of_range(first, last, n_keys)
    widths = np.diff(edges)
    f = sorted_histogram(ref, edges) / (ref.size * widths)
    g = sorted_histogram(cur, edges) / (cur.size * widths)
    mean_width = (edges[-1] - edges[0]) / (edges.size - 1)
    bc = float(np.sum(np.sqrt(f * g) * mean_width))
    return math.sqrt(1.0 - min(max(bc, 0.0), 1.0))


def total_variation(ref_counts: IntArray, cur_counts: IntArray) -> float:
    """Total variation distance ``0.5 * sum |p - q|`` of two count vectors over the same keys.

    Reference: Levin, Peres, Wilmer (2009), Markov Chains and Mixing Times, 4.1.

    >>> total_variation(np.array([1, 0]), np.array([0, 3]))
    1.0
    """
    return float(
        0.5 * np.sum(np.abs(ref_counts / ref_counts.sum() - cur_counts / cur_counts.sum()))
    )
