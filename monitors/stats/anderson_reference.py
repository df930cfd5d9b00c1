"""Two-sample Anderson-Darling against a pre-indexed sorted reference, in window time.

:func:`anderson_darling_a2` sums the midrank statistic over the window's values and, for the
reference values absent from the window, over pieces of the reference on which the window's
count below is constant (closed form per piece, :func:`_convexity_gap`), so a run costs the
window and the reference's tied runs, not the reference.

>>> round(anderson_darling_a2(SortedReference.of(np.arange(40.0)), np.arange(40.0) + 5), 6)
2.11402
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.stats.sorted_reference import Placed, SortedReference

# psi(z + 1/2) = ln z + sum_k _PSI_HALF[k] / z^(2k + 2) + ... (Abramowitz, Stegun 6.3.18 with
# the Bernoulli polynomials at 1/2); five terms reach 1e-17 relative from z = 31.5 on.
_PSI_HALF = (1 / 24, -7 / 960, 31 / 8064, -127 / 30720, 511 / 67584)
# From here on _convexity_gap's far pieces use that expansion; below, pairs or a shift.
_ASYMPTOTIC_FROM = 32


def _convexity_gap(x: FloatArray, length: FloatArray) -> FloatArray:
    """``E = sum_{i < L} 1 / (x + i) - L / c`` for ``x > 0`` and integral ``L >= 1``, with
    ``c = x + (L - 1) / 2`` the points' centre: how much ``L`` consecutive terms of ``1 / y``
    exceed ``L`` times the term at their centre (``E >= 0`` by convexity), to a few ulp
    relative. ``x`` is passed rather than ``c``: near 0 it must keep its own precision.

    Where ``L < c / 100`` (all but the reference's two ends), by the even central moments of
    the points (:func:`_moment_ratio`). Elsewhere see :func:`_far_gap`. (:func:`_untied_sum`
    calls these parts itself, to share the ``L`` polynomials between a piece's two ends.)
    """
    centre = x + (length - 1.0) / 2.0
    m2, poly = _moment_terms(length)
    out = m2 * _moment_ratio(centre, poly)  # finite everywhere; replaced where it is not exact
    far = np.flatnonzero((length >= 0.01 * centre) & (length > 1.0))  # one point: E = 0
    if far.size:
        out[far] = _far_gap(x[far], length[far])
    return out


def _moment_terms(length: FloatArray) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    """What :func:`_moment_ratio` reads of ``L`` (shared by both ends of a piece): ``L^3 - L``
    and the polynomials in ``q = L^2`` of ``M_4 / M_2 = (3 q - 7) / 20``,
    ``M_6 / M_2 = (3 q^2 - 18 q + 31) / 112`` and ``M_8 / M_2 = (5 q^3 - 55 q^2 + 239 q - 381)
    / 960`` (moments of ``L`` unit-spaced points about their centre), each divided by 12 as
    ``M_2 = (L^3 - L) / 12``."""
    q = length * length
    a3 = q * (5.0 / 11520.0)
    a3 -= 55.0 / 11520.0
    a3 *= q
    a3 += 239.0 / 11520.0
    a3 *= q
    a3 -= 381.0 / 11520.0
    a2 = q * (3.0 / 1344.0)
    a2 -= 18.0 / 1344.0
    a2 *= q
    a2 += 31.0 / 1344.0
    a1 = q * (3.0 / 240.0)
    a1 -= 7.0 / 240.0
    q -= 1.0
    q *= length
    return q, (a1, a2, a3)


def _moment_ratio(c: FloatArray, poly: tuple[FloatArray, ...]) -> FloatArray:
    """``E / (L^3 - L)`` of :func:`_convexity_gap` for ``L < c / 100`` (``poly`` from
    :func:`_moment_terms`): ``E = sum_k M_2k / c^(2k + 1) = M_2 / c^3 (1 + (M_4 / M_2) / c^2
    + ...)``, every term positive and each below 1e-4 of the one before (``M_10`` would add
    < 1e-18 relative). Finite for any ``c != 0``."""
    a1, a2, a3 = poly
    w = c * c
    np.divide(1.0, w, out=w)
    h = a3 * w
    h += a2
    h *= w
    h += a1
    h *= w
    h += 1.0 / 12.0
    h *= w
    h /= c
    return h


def _artanh_excess(t: FloatArray) -> FloatArray:
    """``artanh t - t = t^3 / 3 + t^5 / 5 + ...`` for ``0 <= t < 1/2``, to ``t^2k < 1e-17``:
    positive terms."""
    tt = t * t
    t_max = float(np.max(tt, initial=0.0))
    terms = 1 if t_max <= 0.0 else min(28, math.ceil(-17.0 / math.log10(t_max)))
    powers = np.empty((terms, t.size))
    powers[0] = tt
    done = 1
    while done < terms:  # rows t^2 ... t^2k, doubled by one product each time
        step = min(done, terms - done)
        np.multiply(powers[:step], powers[done - 1], out=powers[done : done + step])
        done += step
    weights = 1.0 / np.arange(3.0, 2.0 * terms + 2.0, 2.0)
    out: FloatArray = np.einsum("j,ji->i", weights, powers)
    out *= t
    return out


def _far_gap(x: FloatArray, length: FloatArray) -> FloatArray:
    """:func:`_convexity_gap` from the first point ``x > 0`` where ``L >= c / 100``.

    From ``x = 32`` on, :func:`_asymptotic_gap`. Below 32 with ``L <= 64``: as pairs ``j``
    either side of the centre, ``2 j^2 / (c (c - j) (c + j))``. Below 32 otherwise: ``x`` is
    shifted to 32 by ``psi``'s recurrence (terms of one sign again), and the shifted points
    join the others in one :func:`_asymptotic_gap`.
    """
    out = np.empty_like(x)
    low = x < _ASYMPTOTIC_FROM
    big = np.flatnonzero(~low)
    shift = np.flatnonzero(low & (length > 2 * _ASYMPTOTIC_FROM))
    pairs = np.flatnonzero(low & (length <= 2 * _ASYMPTOTIC_FROM))
    if pairs.size:
        half = (length[pairs] - 1.0) / 2.0
        centre = (x[pairs] + half)[:, None]
        j = np.maximum(half[:, None] - np.arange(_ASYMPTOTIC_FROM, dtype=np.float64), 0.0)
        out[pairs] = np.sum(2.0 * j * j / (centre * (centre - j) * (centre + j)), axis=1)
    xa, la = x[big], length[big]
    if shift.size:
        xs, ls = x[shift], length[shift]
        s = np.ceil(_ASYMPTOTIC_FROM - xs)
        i = np.arange(_ASYMPTOTIC_FROM + 1, dtype=np.float64)
        # psi(x + s) - psi(x) = sum_{i < s} 1 / (x + i), and the same at x + L
        head = ls[:, None] / ((xs[:, None] + i) * (xs[:, None] + ls[:, None] + i))
        centre = xs + (ls - 1.0) / 2.0
        out[shift] = np.sum(np.where(i < s[:, None], head, 0.0), axis=1) - ls * s / (
            centre * (centre + s)
        )
        xa, la = np.concatenate([xa, xs + s]), np.concatenate([la, ls])
    if xa.size:
        gap = _asymptotic_gap(xa, la)
        out[big] = gap[: big.size]
        out[shift] += gap[big.size :]
    return out


def _asymptotic_gap(x: FloatArray, length: FloatArray) -> FloatArray:
    """:func:`_convexity_gap` for ``x >= 32``, by ``psi(x + L) - psi(x)`` expanded about
    ``z0 = x - 1/2`` and ``z1 = z0 + L`` (even powers only):
    ``E = 2 (artanh t - t) - sum_k a_k (z0^-2k - z1^-2k)`` with ``t = L / (z0 + z1)``;
    ``artanh t - t`` as its series for ``t < 1/2``, and ``a^k - b^k`` as ``(a - b)`` times a
    sum of positive terms."""
    z0 = x - 0.5
    z1 = z0 + length
    t = length / (z0 + z1)
    # 2 artanh t = log(z1 / z0); t near 1 only where L >> x
    gap = np.log1p(length / z0) - 2.0 * t
    small = np.flatnonzero(t < 0.5)
    if small.size:
        gap[small] = 2.0 * _artanh_excess(t[small])
    a, b = 1.0 / (z0 * z0), 1.0 / (z1 * z1)
    a_minus_b = length * (z0 + z1) * a * b
    power_sum = np.ones_like(t)  # (a^k - b^k) / (a - b)
    b_power = np.ones_like(t)
    correction = _PSI_HALF[0] * power_sum
    for coef in _PSI_HALF[1:]:
        b_power *= b
        power_sum = a * power_sum + b_power
        correction += coef * power_sum
    gap -= a_minus_b * correction
    return gap


def _ad_pieces(
    ref: SortedReference, lo: IntArray, hi: IntArray, equal: IntArray
) -> tuple[IntArray, IntArray, IntArray, npt.NDArray[np.int8]]:
    """A reference with tied runs cut where the window count below changes, around the values
    the window holds and around tied runs: each piece's start, length, window values below it
    and kind (0 untied values absent from the window, 1 a tied run absent from it, 2 in the
    window).

    ``[lo, hi)``: the reference values equal to each distinct window value, ``equal``: how many
    window values equal it. Both cut lists are already sorted (a run's ``lo < hi <=`` the next
    ``lo``, and the same for the window's values), so they are merged by one search of the
    window's cuts, not sorted: the window values below a cut are the ``equal`` counted at
    every window ``hi`` up to it, and a run of equal cuts is one piece's start, its kind set by
    the tied run or the window value that opens it (the window value, where both do).
    """
    tie_lo, tie_hi = ref.tie_runs
    runs = np.empty(2 * tie_lo.size + 2, dtype=np.int64)
    runs[0], runs[-1] = 0, ref.n
    runs[1:-1:2], runs[2:-1:2] = tie_lo, tie_hi
    window = np.empty(2 * lo.size, dtype=np.int64)
    window[0::2], window[1::2] = lo, hi
    at_window = runs.searchsorted(window, "right")  # after equal run cuts (either side works)
    at_window += np.arange(window.size)
    cuts = np.empty(runs.size + window.size, dtype=np.int64)
    from_window = np.zeros(cuts.size, dtype=bool)
    from_window[at_window] = True
    cuts[at_window] = window
    at_runs = np.flatnonzero(~from_window)
    cuts[at_runs] = runs
    below = np.zeros(cuts.size, dtype=np.int64)
    below[at_window[1::2]] = equal
    np.cumsum(below, out=below)
    new_value = cuts[1:] != cuts[:-1]
    last = np.flatnonzero(new_value)  # the last cut of each distinct one (but n): the pieces
    piece = np.zeros(cuts.size, dtype=np.int64)  # which piece each cut starts
    np.cumsum(new_value, out=piece[1:])
    kind = np.zeros(last.size, dtype=np.int8)
    kind[piece[at_runs[1:-1:2]]] = 1
    kind[piece[at_window[0::2][hi > lo]]] = 2
    start = cuts[last]
    return start, cuts[last + 1] - start, below[last], kind


def _ad_absent_by_piece(
    ref: SortedReference, lo: IntArray, hi: IntArray, equal: IntArray, m: int
) -> float:
    """Sum of ``T`` over the values of a reference with tied runs absent from the window, by
    pieces (arguments as :func:`_ad_pieces`); see :func:`anderson_darling_a2`."""
    n = ref.n
    big_n = float(n + m)
    start, length, c, kind = _ad_pieces(ref, lo, hi, equal)
    total = 0.0
    tied = np.flatnonzero(kind == 1)
    if tied.size:
        k, ct = length[tied].astype(np.float64), c[tied].astype(np.float64)
        r = start[tied] + k / 2.0
        b = r + ct
        terms = k * (m * r - n * ct) ** 2 / (b * (big_n - b) - big_n * k / 4.0)
        total += float(np.sum(terms))
    untied = np.flatnonzero(kind == 0)
    if untied.size:
        total += _untied_sum(
            start[untied].astype(np.float64),
            length[untied].astype(np.float64),
            c[untied].astype(np.float64),
            n,
            m,
        )
    return total


def _untied_sum(start: FloatArray, length: FloatArray, c: FloatArray, n: int, m: int) -> float:
    """Sum of ``T`` over pieces of untied reference values absent from the window, ascending:
    the ``L`` values from position ``start`` on have ``c`` window values below them (``L`` may
    be 0). ``L T(u) + A E1 + B E2`` per piece, see :func:`anderson_darling_a2`.

    Written for few numpy passes over the pieces (in place where a buffer is free; the
    ``L``-polynomials of the moment expansion are shared by both ends): it is most of a run's
    Anderson-Darling cost.
    """
    big_n = float(n + m)
    root_gap = math.sqrt(big_n * big_n - big_n)  # r1 - r2
    r2 = big_n / 4.0 / ((big_n + root_gap) / 2.0)
    u = length * 0.5
    u += start
    u += c  # the centre, pooled: u runs from start + c + 1/2 in unit steps
    nc = big_n * c
    # L T(u): m u - N c and u (N - u) - N / 4 are exact (multiples of 1/4 below 2^53).
    num = m * u
    num -= nc
    num *= num
    y1 = big_n - u
    den = y1 * u
    den -= big_n / 4.0
    num /= den
    total = float(np.einsum("i,i->", length, num))  # einsum, not dot: dot may start BLAS threads
    # A E1 + B E2 about the centres y1 = r1 - u and y2 = u - r2, with root_gap A = coef_1^2
    # (coef_1 = m r1 - N c = N (m - c) - m r2, N (m - c) exact) and root_gap B = coef_2^2.
    y1 -= r2
    y2 = u - r2
    coef_1 = (big_n * m) - nc
    coef_1 -= m * r2
    coef_2 = nc
    coef_2 -= m * r2
    m2, poly = _moment_terms(length)
    h1, h2 = _moment_ratio(y1, poly), _moment_ratio(y2, poly)
    far_1, far_2 = _far_ends(length, y1, y2)
    if far_1.size or far_2.size:  # E / (L^3 - L) there from the first points, kept exact
        l1, l2 = length[far_1], length[far_2]
        x1 = ((big_n - u[far_1]) - (l1 - 1.0) / 2.0) - r2  # r1 - u_last
        x2 = (u[far_2] - (l2 - 1.0) / 2.0) - r2  # u_first - r2
        gap = _far_gap(np.concatenate([x1, x2]), np.concatenate([l1, l2]))
        h1[far_1] = gap[: far_1.size] / m2[far_1]
        h2[far_2] = gap[far_1.size :] / m2[far_2]
    coef_1 *= coef_1
    coef_1 *= h1
    coef_2 *= coef_2
    coef_2 *= h2
    coef_1 += coef_2  # (A E1 + B E2) root_gap / (L^3 - L)
    return total + float(np.einsum("i,i->", m2, coef_1)) / root_gap


def _far_ends(length: FloatArray, y1: FloatArray, y2: FloatArray) -> tuple[IntArray, IntArray]:
    """The pieces of more than one value with ``L >= y / 100`` (where :func:`_moment_ratio`
    does not hold) about ``y1``, then about ``y2``. ``y2`` ascends and ``y1`` descends along
    the pieces, so only a tail and a head need the test."""
    reach = 100.0 * float(np.max(length)) + 1.0
    head = int(y2.searchsorted(reach, "right"))
    tail = y1.size - int(y1[::-1].searchsorted(reach, "right"))
    out = []
    for a, b, y in ((tail, y1.size, y1), (0, head, y2)):
        lb = length[a:b]
        near = y[a:b] * 0.01
        out.append(np.flatnonzero((lb >= near) & (lb > 1.0)) + a)
    return out[0], out[1]


def _ad_absent_by_value(ref: SortedReference, cur: FloatArray) -> float:
    """Sum of ``T`` over the reference values absent from the window, one term per distinct
    reference value (cheaper than by pieces where those are fewer than the window's values)."""
    u, k = ref.distinct
    n, m = ref.n, cur.size
    big_n = float(n + m)
    kf = k.astype(np.float64)
    r = (np.cumsum(kf) - kf) + kf / 2.0  # midrank counts
    c = cur.searchsorted(u, "left").astype(np.float64)
    b = r + c
    terms = kf * (m * r - n * c) ** 2 / (b * (big_n - b) - big_n * kf / 4.0)
    absent = cur.searchsorted(u, "right") == c
    return float(np.sum(terms, where=absent))


def anderson_darling_a2(
    ref: SortedReference, cur: FloatArray, placed: Placed | None = None
) -> float:
    """Midrank two-sample Anderson-Darling ``A2akN`` (Scholz, Stephens eq. 7) of the reference
    and a sorted, non-empty window, in time linear in the window (and in the reference's tied
    runs), not in the reference.

    Each distinct pooled value ``z`` with ``l`` tied values, pooled midrank position ``B`` and
    sample midrank counts ``M`` adds ``l / N * (N M - B n_s)^2 / (B (N - B) - N l / 4) / n_s``
    per sample. A reference value absent from the window has ``M_ref = R`` (its reference
    midrank count) and ``M_cur = c`` (window values below it): both samples' terms add to
    ``T = l (m R - n c)^2 / ((R + c) (N - R - c) - N l / 4)``, times ``(1/n + 1/m) / N``.

    The window's values and the reference's tied runs cut the reference into pieces on which
    ``c`` is constant (:func:`_ad_pieces`). A tied run adds its ``T``. A piece of ``L`` untied
    values has ``l = 1`` and ``R`` stepping by 1; with ``u = R + c``,
    ``T(u) = (m u - N c)^2 / -((u - r1) (u - r2))`` (``r1 + r2 = N``, ``r1 r2 = N / 4``)
    ``= -m^2 + A / (r1 - u) + B / (u - r2)`` with ``A, B >= 0``. Summed over the piece:
    ``L T(centre) + A E(r1 - centre) + B E(centre - r2)``, ``E`` the excess of ``L`` terms of
    ``1 / y`` over ``L`` times their centre term (:func:`_convexity_gap`). All three are
    non-negative, so nothing cancels: within 1e-15 of the direct sum over every value. Without
    tied reference values the pieces are simply the reference values between consecutive
    window values (:func:`_untied_sum`). A reference with fewer distinct values than the window
    takes the direct sum over its values instead. A window value adds the same ``T`` with
    ``l = k + e`` (``k`` reference and ``e`` window values equal to it).

    >>> round(anderson_darling_a2(SortedReference.of(np.arange(40.0)), np.arange(40.0) + 5), 6)
    2.11402
    """
    n, m = ref.n, cur.size
    if n == 0 or m == 0:
        return float("nan")
    big_n = float(n + m)
    at = placed if placed is not None else Placed(ref, cur)
    lo, hi = at.below, at.at_or_below  # [lo, hi): reference values equal to a window value
    if bool(np.all(cur[1:] != cur[:-1])):  # no ties (cheaper than Placed.runs)
        d, run = m, None
        c = np.arange(m + 1.0)  # window values below each window value, then m
    else:
        first, run = at.runs
        d = first.size
        lo, hi = lo[first], hi[first]
        c = np.concatenate([first, [m]], dtype=np.float64)
    # As floats, one longer: lo then n (where each absent piece ends), 0 then hi (where it
    # starts).
    end = np.concatenate([lo, [n]], dtype=np.float64)
    start = np.concatenate([[0], hi], dtype=np.float64)
    if ref.distinct[0].size <= m:
        total = _ad_absent_by_value(ref, cur)
    elif ref.tie_runs[0].size:
        equal = np.ones(m, dtype=np.int64) if run is None else run
        total = _ad_absent_by_piece(ref, lo, hi, equal, m)
    else:  # the absent values are [hi, lo) between consecutive window values (maybe empty)
        total = _untied_sum(start, end - start, c, n, m)
    # Window values with the reference values equal to them: l = k + e values tied, midrank
    # counts R = lo + k / 2 and c + e / 2, the same T.
    ref_below, k = end[:d], start[1:] - end[:d]
    if run is None and not bool(np.any(k)):  # l = 1, R = lo (the usual continuous window)
        cw = c[:d] + 0.5
        b = ref_below + cw
        num = m * b
        num -= big_n * cw  # m R - n c
        num *= num
        den = big_n - b
        den *= b
        den -= big_n / 4.0
        num /= den
        total += float(np.sum(num))
    else:
        e: FloatArray | float = 1.0 if run is None else run.astype(np.float64)
        tied = k + e
        r = k * 0.5
        r += ref_below
        cw = c[:d] + 0.5 * e
        num = m * r
        num -= n * cw
        num *= num
        r += cw  # pooled midrank position B
        den = big_n - r
        den *= r
        den -= (big_n / 4.0) * tied
        num /= den
        total += float(np.einsum("i,i->", tied, num))
    return total * ((1.0 / n + 1.0 / m) / big_n) * ((big_n - 1.0) / big_n)
