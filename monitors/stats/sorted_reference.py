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

from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.stats.binning import sorted_value_counts
from dqm.monitors.stats.block_search import BlockIndex
from dqm.monitors.stats.lazy import lazy


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
    def blocks(self) -> BlockIndex:
        """The levels of :meth:`search` (about 1/6 of the values' size)."""
        return BlockIndex.of(self.values)

    def search(self, keys: FloatArray, side: Literal["left", "right"]) -> IntArray:
        """``values.searchsorted(keys, side)`` for keys without NaN, by the cached
        :class:`~dqm.monitors.stats.block_search.BlockIndex` (about half of numpy's time for
        a window of sorted keys).

        >>> ref = SortedReference.of(np.repeat(np.arange(100.0), 3))
        >>> ref.search(np.array([-1.0, 5.0, 99.0, 200.0]), "right").tolist()
        [0, 18, 300, 300]
        """
        if self.values.size == 0:
            return np.zeros(keys.shape, dtype=np.int64)
        return self.blocks.count(keys, side)

    def warm(self) -> SortedReference:
        """Build what the default and rank-based methods read (not ``weighted_sq``, which
        only the energy distance reads); returns self."""
        _ = self.packed, self.tie_term, self.blocks
        return self

    @lazy
    def packed(self) -> FloatArray:
        """``(n + 2, 3)``: each value beside the two float64 parts of its rank-weighted prefix
        sum (see :attr:`weighted`), so an integral fetches all three at a position with one
        gather (one cache line, mostly) instead of three. Two more rows repeat the last and
        the first (the sums there: ``w[n - 1]``, 0), read at positions ``n`` and ``-1`` by the
        window's intervals past either end of the reference (weighted by 0)."""
        v = self.values
        out = np.empty((v.size + 2, 3))
        if v.size == 0:
            return out
        out[: v.size, 0] = v
        gaps = np.diff(v).astype(np.longdouble)
        gaps *= np.arange(1, v.size, dtype=np.longdouble)
        sums = np.zeros(v.size, dtype=np.longdouble)
        np.cumsum(gaps, out=sums[1:])
        out[: v.size, 1] = sums
        sums -= out[: v.size, 1]
        out[: v.size, 2] = sums
        out[v.size] = out[v.size - 1]
        out[v.size + 1] = (v[0], 0.0, 0.0)
        return out

    @property
    def weighted(self) -> tuple[FloatArray, FloatArray]:
        """Rank-weighted gap prefix sums ``w[k] = sum_{i < k} (i + 1) (values[i + 1] -
        values[i])`` (Wasserstein, energy distance), summed in ``np.longdouble`` and kept as
        two float64 parts ``hi + lo`` (exactly the extended sum; views of :attr:`packed`).
        A difference of two sums is then ``(hi_a - hi_b) + (lo_a - lo_b)``, accurate relative
        to the difference itself, in float64 arithmetic (several times faster per value than
        ``np.longdouble``, which a run would otherwise pay on every window value)."""
        p = self.packed[: self.n]
        return p[:, 1], p[:, 2]

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
    def weighted_sq(self) -> FloatArray:
        """``(n + 2, 4)``: the first and second rank-weighted gap sums about an anchor, each as
        two float64 parts (hi, lo: exactly the ``np.longdouble`` sum), for the energy
        distance; built on first use.

        Up to ``h = n // 2`` (:attr:`half`) the anchor is 0: row ``k`` holds ``sum_{i < k}
        (i + 1)^j gap_i``. From ``h + 1`` on it is ``n``: row ``k`` holds ``-/+ sum_{i >= k}
        (n - 1 - i)^j gap_i`` (signs such that row ``q`` minus row ``p`` is ``sum_{p <= i < q}
        (i + 1 - n)^j gap_i``). Either way a difference of rows is about the nearer end of the
        reference, so an interval's ``sum (i + 1 - t)^2 gap_i`` cancels no more than ``min(F,
        1 - F)^2 / (F - G)^2`` (a reference's upper tail, where F is near 1, would otherwise
        lose most digits). Two more rows as :attr:`packed`'s (``[n]``: the last, ``[-1]``: the
        first)."""
        v = self.values
        n = v.size
        out = np.zeros((n + 2, 4))
        if n < 2:
            return out
        h = n // 2
        gaps = np.diff(v).astype(np.longdouble)
        sums = np.zeros((n, 2), dtype=np.longdouble)
        rank = np.arange(1, h + 1, dtype=np.longdouble)  # i + 1 for the gaps below h
        term = gaps[:h] * rank
        np.cumsum(term, out=sums[1 : h + 1, 0])
        term *= rank
        np.cumsum(term, out=sums[1 : h + 1, 1])
        rank = np.arange(1, n - 1 - h, dtype=np.longdouble)  # n - 1 - i, from i = n - 2 down
        term = gaps[h + 1 :][::-1] * rank
        np.cumsum(term, out=sums[h + 1 : n - 1, 0][::-1])
        term *= rank
        np.cumsum(term, out=sums[h + 1 : n - 1, 1][::-1])
        sums[h + 1 :, 1] *= -1
        out[:n, 0::2] = sums
        sums -= out[:n, 0::2]
        out[:n, 1::2] = sums
        out[n] = out[n - 1]
        return out

    @property
    def half(self) -> int:
        """Where :attr:`weighted_sq` changes anchor (rows up to ``half`` are about 0)."""
        return self.n // 2


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
    def shared(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The runs of tied window values that the reference also holds: the run's start
        ``c`` (window values below it), its length ``e`` and how many reference values equal
        it ``k``, as floats (empty when the window shares no value with the reference, the
        usual case for continuous values; the rank statistics' tie terms all carry ``k``)."""
        first, length = self.runs
        if first.size == self.cur.size:  # no ties in the window: run j is value j
            k = self.at_or_below - self.below
            hit = np.flatnonzero(k)
            c, e = hit, np.ones(hit.size)
        else:
            k = self.at_or_below[first] - self.below[first]
            hit = np.flatnonzero(k)
            c, e = first[hit], length[hit].astype(np.float64)
        return c.astype(np.float64), e, k[hit].astype(np.float64)

    @lazy
    def tie_term(self) -> float:
        """``sum (e^3 - e)`` over the runs of ``e`` tied window values (0 without ties)."""
        first, length = self.runs
        if first.size == self.cur.size:
            return 0.0
        e = length.astype(np.float64)
        return float(np.sum(e * e * e - e))

    @lazy
    def ranks(self) -> FloatArray:
        """:func:`_window_ranks`: the window CDF on its m + 1 intervals, in reference ranks."""
        return _window_ranks(self.ref.n, self.cur.size)

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
    """What the ECDF integrals read of a placed window's m + 1 intervals: rank ``t`` of the
    window CDF, ends ``a``, ``b``, positions ``p``, ``q`` of the first and last reference
    value inside and the packed rows there (``at_p``, ``at_q``: value and the weighted
    prefix sum's two parts, see :attr:`SortedReference.packed`). ``empty``: the intervals
    without reference values inside (``q = p - 1``; two window values with none between,
    about 1% of a 10k window in 1M values), where F = p / n on all of [a, b)."""

    t: FloatArray
    a: FloatArray
    b: FloatArray
    p: IntArray
    q: IntArray
    at_p: FloatArray
    at_q: FloatArray
    empty: IntArray

    @classmethod
    def of(cls, placed: Placed) -> _Gaps:
        a, b, p, q = placed.intervals
        q = q - 1
        packed = placed.ref.packed
        at_p, at_q = packed.take(p, axis=0), packed.take(q, axis=0)
        return cls(placed.ranks, a, b, p, q, at_p, at_q, np.flatnonzero(q < p))

    @lazy
    def low(self) -> FloatArray:
        """``p - t``: the reference CDF minus the window's on ``[a, r[p])``, in ranks."""
        return self.p - self.t

    @lazy
    def high(self) -> FloatArray:
        """``q + 1 - t``: the same on ``[r[q], b)``."""
        return (self.q + 1) - self.t

    @lazy
    def rise(self) -> FloatArray:
        """``at_q - at_p``: the packed rows' differences (both integrals read them)."""
        return self.at_q - self.at_p


def _dot(x: FloatArray | IntArray, y: FloatArray | IntArray) -> float:
    """``sum x y`` by einsum: ``np.dot`` calls BLAS, whose threads (woken from 10,000
    values on) cost milliseconds on a busy machine and compete with the column threads."""
    return float(np.einsum("i,i->", x, y))


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
    at = _placed(ref, cur, placed)
    g = at.gaps
    t, at_p, at_q, empty = g.t, g.at_p, g.at_q, g.empty
    # The partial gaps at both ends: F = p / n on [a, r[p]), (q + 1) / n on [r[q], b).
    low, high = g.low, g.high
    low_abs, high_abs = np.abs(low), np.abs(high)
    # Gaps i in [p, q) have F = (i + 1) / n. phi(k) = w[k] - t r[k] (w: the weighted prefix
    # sums) falls while i + 1 < t and rises after, so sum |i + 1 - t| gap_i is
    # phi(p) + phi(q) - 2 phi(s) at s = clip(ceil(t) - 1, p, q). At s = p or q that is
    # |phi(q) - phi(p)|, from the packed rows' differences (value, hi, lo);
    rise = g.rise
    step = rise[:, 1] + rise[:, 2]
    step -= t * rise[:, 0]
    np.abs(step, out=step)
    if empty.size:  # these take |p - t| (b - a) below, exactly
        low_abs[empty], high_abs[empty], step[empty] = 0.0, 0.0, 0.0
    inner = _dot(low_abs, at_p[:, 0] - g.a) + _dot(high_abs, g.b - at_q[:, 0])
    inner += float(np.sum(step))
    # s is strictly inside only where the CDFs cross within the interval (p + 1 < t <= q:
    # |F_ref - F_cur| < 1 / m there, so a few intervals): add 2 (min(phi(p), phi(q)) - phi(s)).
    cross = np.flatnonzero((low < -1.0) & (high >= 1.0))
    if cross.size:
        tc = t[cross]
        s = np.clip(np.ceil(tc).astype(np.int64) - 1, g.p[cross], g.q[cross])
        at_s = ref.packed.take(s, axis=0)
        from_p, from_q = at_p[cross] - at_s, at_q[cross] - at_s
        fall = (from_p[:, 1] + from_p[:, 2]) - tc * from_p[:, 0]
        climb = (from_q[:, 1] + from_q[:, 2]) - tc * from_q[:, 0]
        inner += 2.0 * float(np.sum(np.minimum(fall, climb)))
    if empty.size:
        inner += _dot(np.abs(low[empty]), g.b[empty] - g.a[empty])
    return inner / ref.n


def _abs_quantile_integral(ref: SortedReference, cur: FloatArray) -> float:
    """``integral_0^1 |Q_ref - Q_cur| du`` (equal to the CDF integral) for a sorted, NaN-free
    window of ``m <= n`` values, without searching the window in the reference.

    In reference rank units ``x = u n`` the window's quantile is ``c_j`` on the block
    ``(a_j, b_j] = (j n / m, (j + 1) n / m]``, which holds reference values ``q_j =
    floor(a_j)`` to ``ceil(b_j) - 1``: positions known without a search. With ``R(x) =
    integral_0^x Q_ref = S[k] + (x - k) r[k]`` (``k = floor(x)``, ``S`` the value prefix
    sums, ``S[k] = k r[k] - w[k]`` by parts: :attr:`SortedReference.weighted`), a block adds
    ``D_j = R(b_j) - R(a_j) - (b_j - a_j) c_j = (b - a)(r[q_a] - c) + b (r[q_b] - r[q_a]) -
    (w[q_b] - w[q_a])``. Where the block's first value is at or above ``c_j``, or its last at
    or below, ``|D_j|`` is its share. Only a block across ``c_j`` (the quantile functions
    cross there: a few per window) is split at its values below ``c_j`` (one search each):
    ``D_j - 2 D(a_j, s)``. The window's values are read once, the reference's at ``m + 1``
    ascending, evenly spaced positions (no search: the memory reads stream).

    >>> ref = SortedReference.of(np.array([0.0, 1.0, 3.0]))
    >>> round(_abs_quantile_integral(ref, np.array([5.0, 6.0])), 6)  # scipy: 4.166667
    4.166667
    """
    n, m = ref.n, cur.size
    # a_j = j n / m in float64 is floor-exact: j n is exact, the division correctly rounded,
    # and a fraction is 0 or at least 1 / m, far above the rounding (m n < 2^52)
    a = np.arange(m + 1, dtype=np.float64)
    a *= n / 1.0
    a /= m
    q = a.astype(np.int64)
    rows = ref.packed.take(q, axis=0)  # q = n reads the repeated last row
    r, hi, lo = rows[:, 0], rows[:, 1], rows[:, 2]
    width = a[1:] - a[:-1]
    d = r[:-1] - cur
    d *= width
    climb = r[1:] - r[:-1]
    climb *= a[1:]
    d += climb
    d -= hi[1:] - hi[:-1]
    d -= lo[1:] - lo[:-1]
    # each block's first value r[q_j] and last, r[ceil(b_j) - 1]
    last_at = q[1:] - (a[1:] == q[1:])
    last = ref.values.take(last_at)
    across = np.flatnonzero((r[:-1] < cur) & (last > cur))
    total = float(np.sum(np.abs(d)))
    if across.size:
        c = cur[across]
        s = ref.values.searchsorted(c, "left")  # values below c_j: split the block there
        at_s = ref.packed.take(s, axis=0)
        ra = r[across]
        below = (s - a[across]) * (ra - c) + s * (at_s[:, 0] - ra)
        below -= at_s[:, 1] - hi[across]
        below -= at_s[:, 2] - lo[across]
        # |D_j| was counted; the block's share is D_j - 2 D(a_j, s), D(a_j, s) <= 0
        total += float(np.sum(d[across] - np.abs(d[across]) - 2.0 * below))
    return total / n


def _sq_gap_integral(ref: SortedReference, cur: FloatArray, placed: Placed | None) -> float:
    """``integral (F_ref - F_cur)^2 dx`` for a sorted, NaN-free, non-empty window.

    As :func:`_abs_gap_integral`: on gaps ``i`` in ``[p, q)`` of an interval with window
    rank ``t``, ``sum (i + 1 - t)^2 gap_i = W2 - tau (2 W1 - tau W0)`` with ``tau = t - a``
    and ``Wj`` the sums of ``(i + 1 - a)^j gap_i`` about the anchor ``a`` of
    :attr:`SortedReference.weighted_sq` (0 or n). In float64: the sums' differences are
    exact to the extended precision they were summed in, and the rounding of the products
    is relative to ``tau^2 W0``, which the anchor keeps near the result.
    """
    n = ref.n
    at = _placed(ref, cur, placed)
    g = at.gaps
    t, p, q, at_p, at_q = g.t, g.p, g.q, g.at_p, g.at_q
    ends = g.low * g.low
    ends *= at_p[:, 0] - g.a
    high = g.high * g.high
    high *= g.b - at_q[:, 0]
    ends += high
    sq = ref.weighted_sq
    rise = sq.take(q, axis=0)
    rise -= sq.take(p, axis=0)
    w1 = rise[:, 0] + rise[:, 1]
    w2 = rise[:, 2] + rise[:, 3]
    h = ref.half
    upper = int(p.searchsorted(h, "right"))  # p ascends: from here on p > h, anchor n
    tau = t.copy()
    tau[upper:] -= n
    w1 *= 2.0
    w1 -= tau * g.rise[:, 0]
    w1 *= tau
    w2 -= w1
    ends += w2
    if upper and q[upper - 1] > h:  # p <= h < q: the one interval across the anchors' change
        j = upper - 1
        ends[j] += _across_half(ref, float(t[j]), int(p[j]), int(q[j])) - w2[j]
    e = g.empty
    if e.size:  # F = p / n on all of [a, b)
        ends[e] = (p[e] - t[e]) ** 2 * (g.b[e] - g.a[e])
    return float(np.sum(ends)) / (float(n) * float(n))


def _across_half(ref: SortedReference, t: float, p: int, q: int) -> float:
    """``sum_{p <= i < q} (i + 1 - t)^2 gap_i`` for ``p <= h < q`` (``h`` =
    :attr:`SortedReference.half`): the gaps below ``h`` about anchor 0, gap ``h`` itself, the
    gaps from ``h + 1`` about anchor ``n``."""
    sq, v, h = ref.weighted_sq, ref.values, ref.half

    def part(lo: int, hi: int, tau: float) -> float:
        d = sq[hi] - sq[lo]
        w1, w2 = float(d[0] + d[1]), float(d[2] + d[3])
        return w2 - tau * (2.0 * w1 - tau * float(v[hi] - v[lo]))

    own = (h + 1 - t) ** 2 * float(v[h + 1] - v[h])
    return part(p, h, t) + own + part(h + 1, q, t - ref.n)


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
    if cur.size <= ref.n:
        return _abs_quantile_integral(ref, cur)
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
    reference's own, the third is non-zero only at the window's values. With ``A_j`` the
    reference values at or below window value ``j``, the first sums (by parts) to
    ``m^2 n - sum_j A_j (2 j + 1)``.

    >>> cramer_von_mises_u(SortedReference.of(np.arange(3.0)), np.array([0.5, 5.0]))
    26.0
    """
    n, m, pos = ref.n, cur.size, _placed(ref, cur, placed)
    at_or_below, below = pos.at_or_below, pos.below
    odd = np.arange(1.0, 2.0 * m, 2.0)
    ref_sum = float(m) * float(m) * float(n) - _dot(at_or_below, odd) + ref.tie_term
    c, e, k = pos.shared
    ref_sum += _dot(k, e * c + e * e / 4.0)
    # Window value j (0-based): pooled midrank below + (ties + 1) / 2 against rank j + 1,
    # twice the difference: below + at_or_below + (left + right - 2 j - 1) (window ties).
    twice = below + at_or_below
    if pos.runs[0].size != m:
        left, right = pos.window_ranks
        twice += left + right
        twice -= np.arange(1, 2 * m, 2)
    diff = twice.astype(np.float64)
    return n * ref_sum + m * _dot(diff, diff) / 4.0


def mann_whitney_u(
    ref: SortedReference, cur: FloatArray, placed: Placed | None = None
) -> tuple[float, float]:
    """Mann-Whitney U of the reference and the tie term ``sum (t^3 - t)`` over the pooled runs
    of ``t`` tied values, without pooling: a reference run of ``k`` values with ``C`` window
    values below and ``E`` equal adds ``k (C + E / 2)`` to U (the ``k C`` sum to
    ``m n - sum_j A_j``, with ``A_j`` the reference values at or below window value ``j``);
    pooled runs differ from the reference's and the window's own only at shared values, by
    ``(k + E)^3 - k^3 - E^3 = 3 k E (k + E)``.

    >>> mann_whitney_u(SortedReference.of(np.arange(10.0)), np.arange(5.0, 15.0))
    (12.5, 30.0)
    """
    n, m, pos = ref.n, cur.size, _placed(ref, cur, placed)
    _, e, k = pos.shared
    u1 = float(m * n - int(np.sum(pos.at_or_below))) + _dot(k, e) / 2
    ties = 12.0 * ref.tie_term + pos.tie_term + 3.0 * _dot(k * e, k + e)
    return u1, ties
