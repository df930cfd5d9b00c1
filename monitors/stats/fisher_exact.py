"""Fisher's exact test on a 2 x 2 table: the two-sided p-value of ``scipy.stats.fisher_exact``.

Written here for speed: scipy evaluates the hypergeometric distribution through its generic
``rv_discrete`` machinery (about 1.5 ms per table with counts near a million, most of a drift
run's budget); here one numpy pass over the support near the mode gives the same p-value.

The count ``x`` of the top-left cell given the table's margins is hypergeometric. Its
probabilities relative to the mode's come from the ratio of neighbours,
``P(x + 1) / P(x) = (K - x)(n - x) / ((x + 1)(N - K - n + x + 1))`` (row total ``K``, column
total ``n``, grand total ``N``), multiplied outward from the mode until they underflow or the
support ends; their sum normalizes them. Each ratio is one rounding of exact integers, so a
table's mirror image (equal probability when margins are symmetric) gets the same bits, and
the relative error grows by about one ulp per step from the mode (< 1e-13 at the thousands
of steps a p-value reaches).

scipy's two-sided rule (scipy 1.17, ``_stats_py.fisher_exact``): p = 1 when the observed
table is as likely as the mode within 1e-14; else the observed side's tail (``x <= a`` below
the mode, ``x >= a`` above) plus the tables across the mode whose probability is below
``P(a) (1 + 1e-14)`` (strictly below when ``a`` is below the mode; at most, above it: the two
binary searches scipy runs), capped at 1.

>>> round(fisher_exact_pvalue(np.array([[8, 2], [1, 5]])), 12)
0.034965034965
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from dqm.monitors.columns import FloatArray

# scipy's relative tolerance of "as likely as the observed table".
EPSILON = 1e-14
# Steps from the mode computed at first, in standard deviations (a Gaussian-like tail
# underflows at about 38.6); a heavier tail is extended block by block.
FIRST_SPAN_SD = 40.0
MIN_SPAN = 64

Ints = npt.NDArray[np.int64]
# x -> numerator and denominator of P(next) / P(x) (int64: exact below 9.2e18, i.e. tables
# of up to about 3e9 rows).
Ratio = Callable[[Ints], tuple[Ints, Ints]]


def fisher_exact_pvalue(table: npt.ArrayLike) -> float:
    """Two-sided p-value of Fisher's exact test on a 2 x 2 table of non-negative counts,
    equal to ``scipy.stats.fisher_exact(table).pvalue`` up to rounding (1 when a row or a
    column is empty)."""
    counts = np.asarray(table, dtype=np.int64)
    if counts.shape != (2, 2) or bool(np.any(counts < 0)):
        raise ValueError("Fisher's exact test needs a 2 x 2 table of non-negative counts")
    a, b, c, d = (int(v) for v in counts.ravel())
    k, n, total = a + b, a + c, a + b + c + d  # row 0 total, column 0 total, grand total
    if min(k, c + d, n, b + d) == 0:
        return 1.0
    lo, hi = max(0, n - (total - k)), min(n, k)
    # scipy's mode, with its float division (int64 product, then float64 / float64).
    mode = int(float((n + 1) * (k + 1)) / float(total + 2))
    sd = math.sqrt(n * k * (total - k) * (total - n) / (total * total * (total - 1.0)))
    span = int(FIRST_SPAN_SD * sd) + MIN_SPAN
    right = _side(mode, hi, span, lambda x: ((k - x) * (n - x), (x + 1) * (total - k - n + x + 1)))
    left = _side(mode, lo, span, lambda x: (x * (total - k - n + x), (k - x + 1) * (n - x + 1)))
    # terms[i]: P(first + i) / P(mode), from the left end to the right end.
    terms = np.concatenate([left[::-1], [1.0], right])
    first = mode - left.size
    if not first <= a < first + terms.size:
        return 0.0  # the observed table is below the smallest double times the mode's
    observed = float(terms[a - first])
    if abs(observed - 1.0) / max(observed, 1.0) <= EPSILON:
        return 1.0
    bound = observed * (1.0 + EPSILON)
    at, middle = a - first, mode - first
    if a < mode:
        tail = float(np.sum(terms[: at + 1]))
        across = terms[middle:]
        tail += float(np.sum(across[across < bound]))
    else:
        tail = float(np.sum(terms[at:]))
        across = terms[: middle + 1]
        tail += float(np.sum(across[across <= bound]))
    return min(tail / float(np.sum(terms)), 1.0)


def _side(mode: int, end: int, span: int, ratio: Ratio) -> FloatArray:
    """P(x) / P(mode) for x from the mode (exclusive) towards ``end`` (inclusive) until the
    support ends or the terms underflow to 0. ``ratio(x)`` gives the integer numerator and
    denominator of P(next) / P(x) for the x on this side (next: one step towards ``end``)."""
    step = 1 if end >= mode else -1
    steps = abs(end - mode)
    out: list[FloatArray] = []
    done, last = 0, 1.0
    while done < steps and last > 0.0:
        size = min(span if not out else max(span, done), steps - done)
        x = mode + step * np.arange(done, done + size, dtype=np.int64)
        num, den = ratio(x)
        block = np.cumprod(num.astype(np.float64) / den.astype(np.float64), dtype=np.float64)
        block *= last  # exact for the first block (last = 1)
        out.append(block)
        done += size
        last = float(block[-1])
    if not out:
        return np.zeros(0, dtype=np.float64)
    terms = np.concatenate(out) if len(out) > 1 else out[0]
    zero = np.flatnonzero(terms == 0.0)
    return terms[: zero[0]] if zero.size else terms
