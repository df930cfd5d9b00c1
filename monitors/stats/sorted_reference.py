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

    ``weighted[k] = sum_{i < k} (i + 1) * (values[i + 1] - values[i])``, summed in
    ``np.longdouble`` and kept as two float64 parts: differences of these sums lose less than
    1e-15 relative to the window's terms.
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
    def weighted(self) -> tuple[FloatArray, FloatArray]:
        """Rank-weighted gap prefix sums (Wasserstein, energy distance), summed in
        ``np.longdouble`` and kept as two float64 parts ``hi + lo`` (exactly the extended sum).
        A difference of two sums is then ``(hi_a - hi_b) + (lo_a - lo_b)``, accurate relative
        to the difference itself, in float64 arithmetic (several times faster per value than
        ``np.longdouble``, which a run would otherwise pay on every window value)."""
        v = self.values
        gaps = np.diff(v).astype(np.longdouble)
        gaps *= np.arange(1, v.size, dtype=np.longdouble)
        out = np.zeros(max(v.size, 1), dtype=np.longdouble)
        np.cumsum(gaps, out=out[1:])
        hi = out.astype(np.float64)
        out -= hi
        return hi, out.astype(np.float64)

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
    def tie_runs(self) -> tuple[IntArray, IntArray]:
        """Start and end positions in ``values`` of each run of tied values, ascending (empty
        without ties), from :attr:`distinct` (Anderson-Darling)."""
        u, k = self.distinct
        if u is self.values:
            none = np.zeros(0, dtype=np.int64)
            return none, none
        tied = np.flatnonzero(k > 1)
        ends = np.cumsum(k)[tied]
        return ends - k[tied], ends

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

    @lazy
    def runs(self) -> tuple[IntArray, IntArray]:
        """Where each run of tied window values starts and how long it is."""
        cur = self.cur
        first = np.flatnonzero(np.concatenate([[True], cur[1:] != cur[:-1]]))
        return first, np.diff(np.append(first, cur.size))

    @lazy
    def window_ranks(self) -> tuple[IntArray, IntArray]:
        """``cur.searchsorted(cur, "left")`` and ``"right"``, from the runs (no search)."""
        first, length = self.runs
        if first.size == self.cur.size:  # no ties: each value's own position
            return first, first + 1
        left = np.repeat(first, length)
        return left, left + np.repeat(length, length)

    @lazy
    def intervals(self) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
        """:func:`_interval_ranks` of this window, shared by the ECDF integrals."""
        return _interval_ranks(self.ref, self.cur, self)

    @lazy
    def gaps(self) -> _Gaps:
        """What both ECDF integrals read of the intervals holding reference values."""
        return _Gaps.of(self)


@dataclass(frozen=True)
class _Gaps:
    """The intervals of a placed window with reference values strictly inside (``inside``;
    ``every``: all of them): rank ``t`` of the window CDF, ends ``a``, ``b``, first and last
    reference value inside (positions ``p``, ``q``, values ``rp``, ``rq``) and the weighted
    prefix sums' parts at both (``hp``, ``lp``, ``hq``, ``lq``)."""

    inside: npt.NDArray[np.bool_]
    every: bool
    t: FloatArray
    a: FloatArray
    b: FloatArray
    p: IntArray
    q: IntArray
    rp: FloatArray
    rq: FloatArray
    hp: FloatArray
    lp: FloatArray
    hq: FloatArray
    lq: FloatArray

    @classmethod
    def of(cls, placed: Placed) -> _Gaps:
        ref, m = placed.ref, placed.cur.size
        a, b, p, q = placed.intervals
        t = _window_ranks(ref.n, m)
        inside = q > p
        every = bool(inside.all())  # the usual case for a window much smaller than the ref
        pi, qi = (p, q - 1) if every else (p[inside], q[inside] - 1)
        ti, ai, bi = (t, a, b) if every else (t[inside], a[inside], b[inside])
        r, (hi, lo) = ref.values, ref.weighted
        return cls(inside, every, ti, ai, bi, pi, qi, r[pi], r[qi], hi[pi], lo[pi], hi[qi], lo[qi])

    def total(self, ends: FloatArray, empty: FloatArray) -> float:
        """Sum of ``ends`` over these intervals and ``empty`` over the others."""
        if self.every:
            return float(np.sum(ends))
        empty[self.inside] = ends
        return float(np.sum(empty))


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


def _window_ranks(n: int, m: int) -> FloatArray:
    """The window CDF ``j / m`` on its m + 1 intervals, in reference rank units."""
    return np.arange(m + 1, dtype=np.float64) * (n / m)


def _abs_gap_integral(ref: SortedReference, cur: FloatArray, placed: Placed | None) -> float:
    """``integral |F_ref - F_cur| dx`` for a sorted, NaN-free, non-empty window."""
    r, n = ref.values, ref.n
    hi, lo = ref.weighted
    at = _placed(ref, cur, placed)
    g = at.gaps
    t, rp, rq = g.t, g.rp, g.rq
    ends = np.abs(g.p - t) * (rp - g.a) + np.abs(g.q + 1 - t) * (g.b - rq)
    # Gaps i in [p, q-1) have F = (i + 1) / n; i + 1 < t below s, >= t from s on:
    # t (r[s] - r[p]) - (w[s] - w[p]) below plus (w[q] - w[s]) - t (r[q] - r[s]) above, each
    # difference of the prefix sums w taken part by part (see SortedReference.weighted).
    s = np.clip(np.ceil(t).astype(np.int64) - 1, g.p, g.q)
    rs, hs, ls = r[s], hi[s], lo[s]
    ends += (g.hq - hs) - (hs - g.hp)
    ends += (g.lq - ls) - (ls - g.lp)
    ends += t * ((rs - rp) - (rq - rs))
    if g.every:
        return float(np.sum(ends)) / n
    # Without reference values strictly inside, F = p / n on all of [a, b).
    a, b, p, _ = at.intervals
    return g.total(ends, np.abs(p - _window_ranks(n, cur.size)) * (b - a)) / n


def _sq_gap_integral(ref: SortedReference, cur: FloatArray, placed: Placed | None) -> float:
    """``integral (F_ref - F_cur)^2 dx`` for a sorted, NaN-free, non-empty window.

    As :func:`_abs_gap_integral`: on gaps ``i`` in ``[p, q-1)`` of an interval with window
    rank ``t``, ``sum (i + 1 - t)^2 gap_i = W2 - 2 t W1 + t^2 W0`` from the prefix sums.
    """
    w2, n = ref.weighted_sq, ref.n
    at = _placed(ref, cur, placed)
    g = at.gaps
    t = g.t
    ends = (g.p - t) ** 2 * (g.rp - g.a) + (g.q + 1 - t) ** 2 * (g.b - g.rq)
    # W2 - t (2 W1 - t W0): the bracket has no cancellation (it is about t W0), so float64.
    w1 = (g.hq - g.hp) + (g.lq - g.lp)
    bracket = 2.0 * w1 - t * (g.rq - g.rp)
    middle = w2[g.q] - w2[g.p]
    middle -= t.astype(np.longdouble) * bracket.astype(np.longdouble)
    ends += middle.astype(np.float64)
    a, b, p, _ = at.intervals
    empty = (p - _window_ranks(n, cur.size)) ** 2 * (b - a) if not g.every else ends
    return g.total(ends, empty) / (float(n) * float(n))


def energy_distance(ref: SortedReference, cur: FloatArray, placed: Placed | None = None) -> float:
    """Energy distance ``sqrt(2 integral (F - G)^2)`` of the reference and a sorted window.

    Equal to :func:`dqm.monitors.stats.distances.energy_distance_sorted` (to rounding).

    >>> round(energy_distance(SortedReference.of(np.array([0.0])), np.array([1.0])), 6)
    1.414214
    """
    if cur.size == 0 or ref.n == 0:
        return float("nan")
    return math.sqrt(2.0 * max(_sq_gap_integral(ref, cur, placed), 0.0))


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
    left, right = pos.window_ranks
    at = pos.at_or_below / n - right / m
    before = pos.below / n - left / m
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
    first, run = pos.runs
    e = run.astype(np.float64)
    k = (at_or_below[first] - below[first]).astype(np.float64)
    c = first.astype(np.float64)
    ref_sum += float(np.sum(k * (e * c + e**2 / 4.0)))
    # Window value j (0-based): pooled midrank below + (ties + 1) / 2, against rank j + 1.
    left, right = pos.window_ranks
    cur_below = left.astype(np.float64)
    cur_ties = (right - left) + (at_or_below - below)
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
    first, run = pos.runs
    e = run.astype(np.float64)
    k = (at_or_below[first] - below[first]).astype(np.float64)
    u1 = (
        float(np.einsum("i,i->", per_count, np.arange(m + 1, dtype=np.float64)))
        + float(np.einsum("i,i->", k, e)) / 2
    )
    pooled = k + e
    ties = 12.0 * ref.tie_term - float(np.sum(k**3 - k)) + float(np.sum(pooled**3 - pooled))
    return u1, ties
