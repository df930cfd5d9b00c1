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
    the points: ``E = sum_k M_2k / c^(2k + 1)`` with ``M_2 = L (L^2 - 1) / 12``, every term
    positive and each 1e-4 of the one before (4 terms). Elsewhere see :func:`_far_gap`.
    """
    centre = x + (length - 1.0) / 2.0
    out = _moment_gap(centre, length)  # finite everywhere; replaced where it is not exact
    far = np.flatnonzero((length >= 0.01 * centre) & (length > 1.0))  # one point: E = 0
    if far.size:
        out[far] = _far_gap(x[far], length[far])
    return out


def _moment_gap(c: FloatArray, length: FloatArray) -> FloatArray:
    """:func:`_convexity_gap` for ``L < c / 100``: ``M_2 / c^3 (1 + (M_4 / M_2) / c^2 + ...)``
    with the moments of ``L`` unit-spaced points (``M_10`` would add < 1e-18 relative):
    ``M_4 / M_2 = (3 q - 7) / 20``, ``M_6 / M_2 = (3 q^2 - 18 q + 31) / 112`` and
    ``M_8 / M_2 = (5 q^3 - 55 q^2 + 239 q - 381) / 960`` with ``q = L^2``."""
    q = length * length
    w = c * c
    np.divide(1.0, w, out=w)
    p8 = ((5.0 / 960.0) * q - 55.0 / 960.0) * q
    p8 += 239.0 / 960.0
    p8 *= q
    p8 -= 381.0 / 960.0
    p6 = ((3.0 / 112.0) * q - 18.0 / 112.0) * q
    p6 += 31.0 / 112.0
    p8 *= w
    p8 += p6
    p8 *= w
    p8 += 0.15 * q - 0.35
    p8 *= w
    p8 += 1.0
    q -= 1.0
    q *= length
    q *= w
    q /= 12.0 * c
    q *= p8
    return q


def _far_gap(x: FloatArray, length: FloatArray) -> FloatArray:
    """:func:`_convexity_gap` from the first point ``x > 0`` where ``L >= c / 100``.

    From ``x = 32`` on, by ``psi(x + L) - psi(x)`` expanded about ``z0 = x - 1/2`` and
    ``z1 = z0 + L`` (even powers only): ``E = 2 (artanh t - t) - sum_k a_k (z0^-2k - z1^-2k)``
    with ``t = L / (z0 + z1)``; ``artanh t - t`` as its series for ``t < 1/2``, and
    ``a^k - b^k`` as ``(a - b)`` times a sum of positive terms. Below 32 with ``L <= 64``: as
    pairs ``j`` either side of the centre, ``2 j^2 / (c (c - j) (c + j))``. Below 32 otherwise:
    ``x`` is shifted to 32 by ``psi``'s recurrence (terms of one sign again).
    """
    out = np.zeros_like(x)
    big = x >= _ASYMPTOTIC_FROM
    if np.any(big):
        xb, lb = x[big], length[big]
        z0 = xb - 0.5
        z1 = z0 + lb
        t = lb / (z0 + z1)
        tt = t * t
        # t^2 / 3 + t^4 / 5 + ... to t^2k / (2k + 1) with t^2k < 1e-17 where t < 1/2
        t_max = float(np.max(t, initial=0.0, where=t < 0.5))
        terms = 1 if t_max <= 0.0 else min(28, math.ceil(-17.0 / math.log10(t_max) / 2.0))
        horner = np.full_like(t, 1.0 / (2 * terms + 1))
        for k in range(terms - 1, 0, -1):
            horner = horner * tt + 1.0 / (2 * k + 1)
        # 2 artanh t = log(z1 / z0); t near 1 only where L >> x
        gap = np.where(t < 0.5, 2.0 * horner * tt * t, np.log1p(lb / z0) - 2.0 * t)
        a, b = 1.0 / (z0 * z0), 1.0 / (z1 * z1)
        a_minus_b = lb * (z0 + z1) * a * b
        power_sum = np.ones_like(t)  # (a^k - b^k) / (a - b)
        b_power = np.ones_like(t)
        correction = _PSI_HALF[0] * power_sum
        for coef in _PSI_HALF[1:]:
            b_power *= b
            power_sum = a * power_sum + b_power
            correction += coef * power_sum
        out[big] = gap - a_minus_b * correction
    pairs = ~big & (length <= 2 * _ASYMPTOTIC_FROM)
    if np.any(pairs):
        half = (length[pairs] - 1.0) / 2.0
        centre = (x[pairs] + half)[:, None]
        j = np.maximum(half[:, None] - np.arange(_ASYMPTOTIC_FROM, dtype=np.float64), 0.0)
        out[pairs] = np.sum(2.0 * j * j / (centre * (centre - j) * (centre + j)), axis=1)
    shift = ~big & ~pairs
    if np.any(shift):
        xs, ls = x[shift], length[shift]
        s = np.ceil(_ASYMPTOTIC_FROM - xs)
        i = np.arange(_ASYMPTOTIC_FROM + 1, dtype=np.float64)
        # psi(x + s) - psi(x) = sum_{i < s} 1 / (x + i), and the same at x + L
        head = ls[:, None] / ((xs[:, None] + i) * (xs[:, None] + ls[:, None] + i))
        centre = xs + (ls - 1.0) / 2.0
        out[shift] = np.sum(np.where(i < s[:, None], head, 0.0), axis=1) - ls * s / (
            centre * (centre + s)
        )
        out[shift] += _far_gap(xs + s, ls)
    return out


def _ad_pieces(
    ref: SortedReference, below: IntArray, lo: IntArray, hi: IntArray, window_below: IntArray
) -> tuple[IntArray, IntArray, FloatArray, npt.NDArray[np.int8]]:
    """The reference cut where the window count below changes, around the values the window
    holds and around tied runs: each piece's start, length, window values below it and kind
    (0 untied values absent from the window, 1 a tied run absent from it, 2 in the window).

    ``below``: reference values below each window value; ``[lo, hi)``: the reference values
    equal to each distinct window value; ``window_below``: window values below each distinct
    window value, then the window's size.
    """
    n = ref.n
    cuts: IntArray = np.concatenate([[0], np.stack([lo, hi], axis=1).ravel(), [n]])
    tie_lo, tie_hi = ref.tie_runs
    if not tie_lo.size:
        # Cut j = 2i + 1 is lo[i], 2i + 2 is hi[i]: odd cuts open the window's values.
        keep = np.flatnonzero(cuts[1:] != cuts[:-1])
        kind = (keep % 2 * 2).astype(np.int8)
        c_cut = window_below[keep // 2].astype(np.float64)
        return cuts[keep], cuts[keep + 1] - cuts[keep], c_cut, kind
    cuts = np.sort(np.concatenate([cuts, tie_lo, tie_hi]))
    keep = np.flatnonzero(cuts[1:] != cuts[:-1])
    start = cuts[keep]
    kind = np.zeros(start.size, dtype=np.int8)
    kind[start.searchsorted(tie_lo)] = 1
    kind[start.searchsorted(lo[hi > lo])] = 2
    c = below.searchsorted(start, "right").astype(np.float64)
    return start, cuts[keep + 1] - start, c, kind


def _ad_absent_by_piece(
    ref: SortedReference, below: IntArray, lo: IntArray, hi: IntArray, window_below: IntArray
) -> float:
    """Sum of ``T`` over the reference values absent from the window, by pieces (arguments
    as :func:`_ad_pieces`); see :func:`anderson_darling_a2`."""
    n, m = ref.n, int(window_below[-1])
    big_n = float(n + m)
    start, length, c, kind = _ad_pieces(ref, below, lo, hi, window_below)
    total = 0.0
    tied = np.flatnonzero(kind == 1)
    if tied.size:
        k, ct = length[tied].astype(np.float64), c[tied]
        r = start[tied] + k / 2.0
        b = r + ct
        terms = k * (m * r - n * ct) ** 2 / (b * (big_n - b) - big_n * k / 4.0)
        total += float(np.sum(terms))
    untied = np.flatnonzero(kind == 0)
    if untied.size:
        span, cu = length[untied].astype(np.float64), c[untied]
        centre = start[untied] + cu + span / 2.0  # u from start + c + 1/2 in unit steps
        root_gap = math.sqrt(big_n * big_n - big_n)  # r1 - r2
        r2 = big_n / 4.0 / ((big_n + root_gap) / 2.0)
        at_centre = (m * centre - big_n * cu) ** 2 / (centre * (big_n - centre) - big_n / 4.0)
        coef_1 = big_n * (m - cu) - m * r2  # m r1 - N c
        coef_2 = big_n * cu - m * r2
        half = (span - 1.0) / 2.0  # first points r1 - u_last and u_first - r2 kept exact
        firsts = np.concatenate([(big_n - centre - half) - r2, (centre - half) - r2])
        gap = _convexity_gap(firsts, np.concatenate([span, span]))  # one call: half the far
        gaps = coef_1 * coef_1 * gap[: span.size]
        gaps += coef_2 * coef_2 * gap[span.size :]
        # einsum, not dot: dot may start BLAS threads
        total += float(np.einsum("i,i->", span, at_centre)) + float(np.sum(gaps)) / root_gap
    return total


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
    non-negative, so nothing cancels: within 1e-15 of the direct sum over every value. A
    reference with fewer distinct values than the window takes that direct sum instead.

    >>> round(anderson_darling_a2(SortedReference.of(np.arange(40.0)), np.arange(40.0) + 5), 6)
    2.11402
    """
    n, m = ref.n, cur.size
    if n == 0 or m == 0:
        return float("nan")
    big_n = float(n + m)
    at = placed if placed is not None else Placed(ref, cur)
    first = np.flatnonzero(np.concatenate([[True], cur[1:] != cur[:-1]]))
    lo, hi = at.below[first], at.at_or_below[first]  # [lo, hi): reference values equal
    window_below = np.append(first, m)
    if ref.distinct[0].size <= m:
        total = _ad_absent_by_value(ref, cur)
    else:
        total = _ad_absent_by_piece(ref, at.below, lo, hi, window_below)
    total *= (1.0 / n + 1.0 / m) / big_n
    # Window values (with the reference values equal to them).
    e = np.diff(window_below).astype(np.float64)
    kv = (hi - lo).astype(np.float64)
    ref_below = lo.astype(np.float64)
    cv = first.astype(np.float64)
    lv = kv + e
    bv = ref_below + cv + lv / 2.0
    m_ref, m_cur = ref_below + kv / 2.0, cv + e / 2.0
    num_v = (big_n * m_ref - bv * n) ** 2 / n + (big_n * m_cur - bv * m) ** 2 / m
    total += float(np.sum(lv / big_n * num_v / (bv * (big_n - bv) - big_n * lv / 4.0)))
    return total * (big_n - 1.0) / big_n
