"""ECDF distances against a fixed, pre-indexed sorted reference in time linear in the window.

A :class:`SortedReference` holds the sorted reference values and the prefix sums of
``(i + 1) * (r[i+1] - r[i])`` (in extended precision), computed once per reference version. A
distance to a sorted window then needs one ``searchsorted`` of the window into the reference
and O(window) arithmetic, instead of merging both samples.

Between two consecutive window values ``a < b`` the window's CDF is a constant ``g`` and the
reference CDF steps through the reference values in ``(a, b)``. In rank units (``t = g n``)

    ``n * integral_a^b |F - g| = sum_i |i + 1 - t| * gap_i`` (plus the two partial gaps at a, b),

and the sum splits where ``i + 1`` crosses ``t`` into two prefix-sum differences.

>>> ref = SortedReference.of(np.array([0.0, 1.0, 3.0]))
>>> round(wasserstein(ref, np.array([5.0, 6.0, 8.0, 9.0])), 6)  # scipy: 5.666667
5.666667
>>> ks_statistic(ref, np.array([0.5, 10.0]))  # scipy's ks_2samp statistic
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.stats.binning import sorted_value_counts
from dqm.monitors.stats.lazy import lazy

LongArray = npt.NDArray[np.longdouble]
# Block size of the two-level search of a window in the reference (SortedReference.search).
COARSE_STEP = 64


@dataclass(frozen=True)
class SortedReference:
    """Sorted non-missing reference values and what the window-time distances read from
    them, each built on first use and kept.

    ``weighted[k] = sum_{i < k} (i + 1) * (values[i + 1] - values[i])`` in ``np.longdouble``:
    differences of these sums lose less than 1e-15 relative to the window's terms.
    """

    values: FloatArray

    @classmethod
    def of(cls, sorted_values: FloatArray) -> SortedReference:
        return cls(sorted_values)

    @property
    def n(self) -> int:
        return int(self.values.size)

    @lazy
    def coarse(self) -> FloatArray:
        """Every ``COARSE_STEP``-th value: small enough to stay in cache while searched."""
        return self.values[::COARSE_STEP].copy()

    def search(self, keys: FloatArray, side: Literal["left", "right"]) -> IntArray:
        """``values.searchsorted(keys, side)`` in two levels: the block of ``COARSE_STEP``
        values from the cached coarse array, then a branchless binary search inside it (one
        gather per halving), so the searches stay in cache instead of walking the whole
        reference (a third of the time for 10k keys into 1M values).

        >>> ref = SortedReference.of(np.repeat(np.arange(100.0), 3))
        >>> ref.search(np.array([-1.0, 5.0, 99.0, 200.0]), "right").tolist()
        [0, 18, 300, 300]
        """
        v, n = self.values, self.values.size
        if n <= 4 * COARSE_STEP or keys.size == 0:
            return v.searchsorted(keys, side)
        j = self.coarse.searchsorted(keys, side)
        # coarse[j - 1] is below the answer's boundary, coarse[j] at or above it.
        pos = np.maximum(j - 1, 0) * COARSE_STEP + (j > 0)
        upper = np.minimum(j * COARSE_STEP, n)
        step = COARSE_STEP // 2
        while step:
            cand = pos + step
            probe = v[np.minimum(cand, n) - 1]
            ok = (probe < keys) if side == "left" else (probe <= keys)
            ok &= cand <= upper
            pos += step * ok
            step //= 2
        return pos

    def warm(self) -> SortedReference:
        """Build what the default and rank-based methods read (not ``weighted_sq``, which
        only the energy distance reads); returns self."""
        _ = self.weighted, self.tie_term, self.coarse
        return self

    @lazy
    def weighted(self) -> LongArray:
        """Rank-weighted gap prefix sums (Wasserstein, energy distance)."""
        v = self.values
        gaps = np.diff(v).astype(np.longdouble)
        gaps *= np.arange(1, v.size, dtype=np.longdouble)
        out = np.zeros(max(v.size, 1), dtype=np.longdouble)
        np.cumsum(gaps, out=out[1:])
        return out

    @lazy
    def tie_term(self) -> float:
        """``sum (k^3 - k) / 12`` over the runs of ``k`` tied values (rank tests)."""
        k = self.distinct[1].astype(np.float64)
        return float(np.sum(k**3 - k)) / 12.0

    @lazy
    def distinct(self) -> tuple[FloatArray, IntArray]:
        """The distinct values and how often each occurs. Without ties: the values themselves
        and a broadcast 1 (kept with the reference, so no copy of either)."""
        v = self.values
        if v.size and not bool(np.any(v[1:] == v[:-1])):
            ones: IntArray = np.broadcast_to(np.ones(1, dtype=np.int64), v.shape)
            return v, ones
        return sorted_value_counts(v)

    @lazy
    def distinct_midranks(self) -> tuple[FloatArray, FloatArray]:
        """How often each distinct value occurs and its midrank count (values below + half
        its ties), as floats (Anderson-Darling)."""
        k = self.distinct[1]
        return k.astype(np.float64), (np.cumsum(k) - k) + k / 2.0

    @lazy
    def weighted_sq(self) -> LongArray:
        """``sum_{i < k} (i + 1)^2 (values[i + 1] - values[i])``, built on first use (energy
        distance)."""
        v = self.values
        gaps = np.diff(v).astype(np.longdouble)
        gaps *= np.arange(1, v.size, dtype=np.longdouble) ** 2
        out = np.zeros(max(v.size, 1), dtype=np.longdouble)
        np.cumsum(gaps, out=out[1:])
        return out


@dataclass(frozen=True)
class Placed:
    """A sorted window placed in the reference: how many reference values lie below each
    window value and at or below it. Computed once per window and shared by the methods
    and the effect size of one column (one binary search per window value, a second only
    for the values the reference also holds).
    """

    ref: SortedReference
    cur: FloatArray

    @lazy
    def below(self) -> IntArray:
        return self.ref.search(self.cur, "left")

    @lazy
    def at_or_below(self) -> IntArray:
        r, left = self.ref.values, self.below
        tied = np.flatnonzero(r[np.minimum(left, r.size - 1)] == self.cur)
        out = left.copy()
        out[tied] = self.ref.search(self.cur[tied], "right")
        return out


def _placed(ref: SortedReference, cur: FloatArray, placed: Placed | None) -> Placed:
    return placed if placed is not None else Placed(ref, cur)


def _interval_bounds(ref: SortedReference, cur: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Ends ``a[j] <= b[j]`` of the m + 1 intervals where the window CDF equals ``j / m``.

    The unbounded first and last intervals are cut where both CDFs agree (0 below the smaller
    minimum, 1 above the larger maximum), so every interval has a finite width.
    """
    r = ref.values
    lo, hi = min(r[0], cur[0]), max(r[-1], cur[-1])
    a = np.concatenate([[lo], cur])
    b = np.concatenate([cur, [hi]])
    return a, b


def _interval_ranks(
    ref: SortedReference, cur: FloatArray, placed: Placed | None
) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
    """Interval ends ``a``, ``b`` with ``p`` reference values <= a (F on ``[a, r[p])``) and
    ``q`` reference values < b (F on ``[r[q-1], b)``)."""
    at = _placed(ref, cur, placed)
    a, b = _interval_bounds(ref, cur)
    r = ref.values
    p = np.concatenate([[r.searchsorted(a[0], "right")], at.at_or_below])
    q = np.concatenate([at.below, [r.searchsorted(b[-1], "left")]])
    return a, b, p, q


def _abs_gap_integral(ref: SortedReference, cur: FloatArray, placed: Placed | None) -> float:
    """``integral |F_ref - F_cur| dx`` for a sorted, NaN-free, non-empty window."""
    r, w, n, m = ref.values, ref.weighted, ref.n, cur.size
    a, b, p, q = _interval_ranks(ref, cur, placed)
    t = np.arange(m + 1, dtype=np.float64) * (n / m)  # window CDF in reference rank units
    inside = q > p
    # Without reference values strictly inside, F = p / n on all of [a, b).
    total = np.abs(p - t) * (b - a)
    pi, qi = p[inside], np.maximum(q[inside] - 1, 0)
    ti, ai, bi = t[inside], a[inside], b[inside]
    ends = np.abs(pi - ti) * (r[pi] - ai) + np.abs(qi + 1 - ti) * (bi - r[qi])
    # Gaps i in [p, q-1) have F = (i + 1) / n; i + 1 < t below s, >= t from s on.
    s = np.clip(np.ceil(ti).astype(np.int64) - 1, pi, qi)
    below = ti * (r[s] - r[pi]).astype(np.longdouble) - (w[s] - w[pi])
    above = (w[qi] - w[s]) - ti * (r[qi] - r[s]).astype(np.longdouble)
    total[inside] = ends + (below + above).astype(np.float64)
    return float(np.sum(total)) / n


def _sq_gap_integral(ref: SortedReference, cur: FloatArray, placed: Placed | None) -> float:
    """``integral (F_ref - F_cur)^2 dx`` for a sorted, NaN-free, non-empty window.

    As :func:`_abs_gap_integral`: on gaps ``i`` in ``[p, q-1)`` of an interval with window
    rank ``t``, ``sum (i + 1 - t)^2 gap_i = W2 - 2 t W1 + t^2 W0`` from the prefix sums.
    """
    r, w1, w2, n, m = ref.values, ref.weighted, ref.weighted_sq, ref.n, cur.size
    a, b, p, q = _interval_ranks(ref, cur, placed)
    t = np.arange(m + 1, dtype=np.float64) * (n / m)
    inside = q > p
    total = (p - t) ** 2 * (b - a)
    pi, qi = p[inside], np.maximum(q[inside] - 1, 0)
    ti, ai, bi = t[inside], a[inside], b[inside]
    ends = (pi - ti) ** 2 * (r[pi] - ai) + (qi + 1 - ti) ** 2 * (bi - r[qi])
    tl = ti.astype(np.longdouble)
    middle = (w2[qi] - w2[pi]) - 2.0 * tl * (w1[qi] - w1[pi])
    middle += tl * tl * (r[qi] - r[pi]).astype(np.longdouble)
    total[inside] = ends + middle.astype(np.float64)
    return float(np.sum(total)) / (float(n) * float(n))


def energy_distance(ref: SortedReference, cur: FloatArray, placed: Placed | None = None) -> float:
    """Energy distance ``sqrt(2 integral (F - G)^2)`` of the reference and a sorted window.

    Equal to :func:`dqm.monitors.stats.distances.energy_distance_sorted` (to rounding).

    >>> round(energy_distance(SortedReference.of(np.array([0.0])), np.array([1.0])), 6)
    1.414214
    """
    if cur.size == 0 or ref.n == 0:
        return float("nan")
    return math.sqrt(2.0 * max(_sq_gap_integral(ref, cur, placed), 0.0))


def anderson_darling_a2(ref: SortedReference, cur: FloatArray) -> float:
    """Midrank two-sample Anderson-Darling ``A2akN`` (Scholz, Stephens eq. 7) of the reference
    and a sorted, non-empty window, without sorting the pooled sample.

    Each distinct pooled value ``z`` with ``l`` tied values, pooled midrank position ``B`` and
    sample midrank counts ``M`` adds ``l / N * (N M - B n_s)^2 / (B (N - B) - N l / 4) / n_s``
    per sample. A reference value absent from the window has ``M_ref = R`` (its reference
    midrank count) and ``M_cur = c`` (window values below it), so both samples' terms share
    ``(m R - n c)^2``; ``c`` comes from one ``bincount`` of the window's positions. The cost
    is linear in the reference's distinct values (no sort, no binary search per value).

    >>> round(anderson_darling_a2(SortedReference.of(np.arange(40.0)), np.arange(40.0) + 5), 6)
    2.11402
    """
    u, k = ref.distinct
    kf, midrank = ref.distinct_midranks
    n, m = ref.n, cur.size
    big_n = float(n + m)
    below = np.cumsum(k) - k  # reference values under each distinct reference value
    # Window values under u[j]: those whose right position in u is <= j.
    right = u.searchsorted(cur, "right")
    c = np.cumsum(np.bincount(right, minlength=u.size + 1)[: u.size]).astype(np.float64)
    first = np.flatnonzero(np.concatenate([[True], cur[1:] != cur[:-1]]))
    v = cur[first]
    e = np.diff(np.append(first, m)).astype(np.float64)
    pos = u.searchsorted(v, "left")
    at = np.minimum(pos, u.size - 1)
    shared = u[at] == v
    # Every reference value as if absent from the window (in place: these are as long as
    # the reference's distinct values), then the ones the window holds set to 0.
    den = midrank + c  # B
    num = midrank * float(m)
    c *= float(n)
    num -= c  # m R - n c
    num *= num
    num *= kf
    c = np.subtract(big_n, den, out=c)
    den *= c
    den -= kf * (big_n / 4.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        num /= den
    num[at[shared]] = 0.0
    total = float(np.sum(num)) * (1.0 / n + 1.0 / m) / big_n
    # Window values (with the reference values equal to them).
    kv = np.where(shared, k[at], 0).astype(np.float64)
    ref_below = np.append(below, n)[pos].astype(np.float64)
    cv = first.astype(np.float64)
    lv = kv + e
    bv = ref_below + cv + lv / 2.0
    m_ref, m_cur = ref_below + kv / 2.0, cv + e / 2.0
    num_v = (big_n * m_ref - bv * n) ** 2 / n + (big_n * m_cur - bv * m) ** 2 / m
    total += float(np.sum(lv / big_n * num_v / (bv * (big_n - bv) - big_n * lv / 4.0)))
    return total * (big_n - 1.0) / big_n


def wasserstein(ref: SortedReference, cur: FloatArray, placed: Placed | None = None) -> float:
    """First Wasserstein distance of the reference and a sorted window.

    Equal to :func:`dqm.monitors.stats.distances.wasserstein_sorted` (to rounding); an empty
    window gives NaN.

    >>> wasserstein(SortedReference.of(np.array([0.0, 1.0, 3.0])), np.array([5.0, 6.0, 8.0]))
    5.0
    """
    if cur.size == 0 or ref.n == 0:
        return float("nan")
    return _abs_gap_integral(ref, cur, placed)


def ks_statistic(ref: SortedReference, cur: FloatArray, placed: Placed | None = None) -> float:
    """Largest absolute difference of the two empirical CDFs (sorted, non-empty window).

    On each interval where the window CDF is ``j / m`` the reference CDF is monotone, so the
    extremes are at the interval's two ends: ``F(a)`` and ``F(b-)``.

    >>> ks_statistic(SortedReference.of(np.array([1.0, 2.0])), np.array([3.0, 4.0]))
    1.0
    """
    n, m, pos = ref.n, cur.size, _placed(ref, cur, placed)
    # At each window value x, and just below it (the last reference value under x, if any).
    at = pos.at_or_below / n - cur.searchsorted(cur, "right") / m
    before = pos.below / n - cur.searchsorted(cur, "left") / m
    return float(max(np.max(np.abs(at)), np.max(np.abs(before))))


def cramer_von_mises_u(
    ref: SortedReference, cur: FloatArray, placed: Placed | None = None
) -> float:
    """``U = n sum_i (R_i - i)^2 + m sum_j (S_j - j)^2`` of the two-sample Cramer-von Mises
    test (midranks ``R`` of the reference, ``S`` of the window in the pooled sample).

    For a run of ``k`` tied reference values with ``C`` window values below and ``E`` equal,
    ``sum (R_i - i)^2 = k C^2 + (k^3 - k) / 12 + k (E C + E^2 / 4)``: the first term only needs
    how many reference values fall between consecutive window values, the second is the
    reference's own, the third is non-zero only at the window's values.

    >>> cramer_von_mises_u(SortedReference.of(np.arange(3.0)), np.array([0.5, 5.0]))
    26.0
    """
    n, m, pos = ref.n, cur.size, _placed(ref, cur, placed)
    at_or_below, below = pos.at_or_below, pos.below
    per_count = np.diff(np.concatenate([[0], at_or_below, [n]])).astype(np.float64)
    c_below = np.arange(m + 1, dtype=np.float64)  # window values under each reference run
    ref_sum = float(np.einsum("i,i->", per_count, c_below**2)) + ref.tie_term
    first = np.flatnonzero(np.concatenate([[True], cur[1:] != cur[:-1]]))
    e = np.diff(np.append(first, m)).astype(np.float64)
    k = (at_or_below[first] - below[first]).astype(np.float64)
    c = first.astype(np.float64)
    ref_sum += float(np.sum(k * (e * c + e**2 / 4.0)))
    # Window value j (0-based): pooled midrank below + (ties + 1) / 2, against rank j + 1.
    cur_below = cur.searchsorted(cur, "left").astype(np.float64)
    cur_ties = (cur.searchsorted(cur, "right") - cur_below) + (at_or_below - below)
    midrank = below + cur_below + (cur_ties + 1) / 2.0
    cur_sum = float(np.sum((midrank - np.arange(1.0, m + 1.0)) ** 2))
    return n * ref_sum + m * cur_sum


def mann_whitney_u(
    ref: SortedReference, cur: FloatArray, placed: Placed | None = None
) -> tuple[float, float]:
    """Mann-Whitney U of the reference and the tie term ``sum (t^3 - t)`` over the pooled runs
    of ``t`` tied values, without pooling: a reference run of ``k`` values with ``C`` window
    values below and ``E`` equal adds ``k (C + E / 2)`` to U; pooled runs differ from the
    reference's own only at the window's values.

    >>> mann_whitney_u(SortedReference.of(np.arange(10.0)), np.arange(5.0, 15.0))
    (12.5, 30.0)
    """
    n, m, pos = ref.n, cur.size, _placed(ref, cur, placed)
    at_or_below, below = pos.at_or_below, pos.below
    per_count = np.diff(np.concatenate([[0], at_or_below, [n]])).astype(np.float64)
    first = np.flatnonzero(np.concatenate([[True], cur[1:] != cur[:-1]]))
    e = np.diff(np.append(first, m)).astype(np.float64)
    k = (at_or_below[first] - below[first]).astype(np.float64)
    u1 = (
        float(np.einsum("i,i->", per_count, np.arange(m + 1, dtype=np.float64)))
        + float(np.einsum("i,i->", k, e)) / 2
    )
    pooled = k + e
    ties = 12.0 * ref.tie_term - float(np.sum(k**3 - k)) + float(np.sum(pooled**3 - pooled))
    return u1, ties
