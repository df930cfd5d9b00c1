"""The two-sided Fisher exact p-value against scipy, exact rational sums and 50-digit sums."""

from __future__ import annotations

import decimal
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

from dqm.monitors.stats.fisher_exact import EPSILON, fisher_exact_pvalue


def _exact(table: list[list[int]]) -> float:
    """scipy's two-sided rule in exact rational arithmetic (binomial coefficients): 1 when
    the observed table is as likely as the mode within 1e-14, else the sum over every table
    at most ``(1 + 1e-14)`` times as likely as the observed one. For small tables."""
    (a, b), (c, d) = table
    k, n, total = a + b, a + c, a + b + c + d
    if min(k, c + d, n, b + d) == 0:
        return 1.0
    lo, hi = max(0, n - (total - k)), min(n, k)
    weight = {x: math.comb(k, x) * math.comb(total - k, n - x) for x in range(lo, hi + 1)}
    top, observed = max(weight.values()), weight[a]
    if Fraction(top - observed, top) <= Fraction(EPSILON):
        return 1.0
    bound = observed * (1 + Fraction(EPSILON))
    return float(Fraction(sum(w for w in weight.values() if w <= bound), math.comb(total, n)))


def _decimal(table: list[list[int]]) -> float:
    """The same rule at 50 decimal digits for huge tables: probabilities relative to the
    mode by the neighbour ratio (each step rounded at 50 digits), summed outward until the
    terms are 1e-40 of the observed one's."""
    (a, b), (c, d) = table
    k, n, total = a + b, a + c, a + b + c + d
    lo, hi = max(0, n - (total - k)), min(n, k)
    mode = (n + 1) * (k + 1) // (total + 2)
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        terms = {mode: Decimal(1)}
        floor = Decimal("1e-40") if a == mode else None
        sides = ((1, hi), (-1, lo)) if a >= mode else ((-1, lo), (1, hi))  # a's side first
        for step, end in sides:
            x, t = mode, Decimal(1)
            while x != end:
                if step == 1:
                    t = t * (k - x) * (n - x) / ((x + 1) * (total - k - n + x + 1))
                else:
                    t = t * x * (total - k - n + x) / ((k - x + 1) * (n - x + 1))
                x += step
                terms[x] = t
                if x == a:
                    floor = t * Decimal("1e-40")
                if floor is not None and t < floor:
                    break
        observed = terms[a]
        if 1 - observed <= Decimal(EPSILON):
            return 1.0
        bound = observed * (1 + Decimal(EPSILON))
        p = sum((t for t in terms.values() if t <= bound), Decimal(0))
        return float(min(p / sum(terms.values(), Decimal(0)), Decimal(1)))


def _tables(seed: int, count: int, high: float) -> list[list[list[int]]]:
    rng = np.random.default_rng(seed)
    scales = 10 ** rng.uniform(0, np.log10(high), (count, 4))
    return [rng.integers(0, s + 1).reshape(2, 2).tolist() for s in scales]


SMALL = _tables(0, 400, 30) + _tables(1, 400, 3000)
SPECIAL = [
    [[8, 2], [1, 5]],  # scipy's example
    [[0, 0], [0, 0]], [[0, 0], [3, 4]], [[0, 3], [0, 4]], [[5, 0], [0, 0]],  # empty margins
    [[0, 5], [5, 0]], [[5, 0], [0, 5]], [[1, 0], [0, 1]], [[0, 1], [1, 0]],  # zero cells
    [[5, 5], [5, 5]], [[3, 4], [4, 3]], [[10, 20], [20, 10]], [[7, 13], [13, 7]],  # symmetric
    [[2, 9], [9, 2]], [[4, 6], [5, 5]], [[100, 101], [101, 100]], [[30, 70], [70, 30]],
    [[1, 99], [99, 1]], [[0, 100], [100, 0]], [[1, 1000], [0, 1]], [[1000, 1], [1, 1000]],
]  # fmt: skip


@pytest.mark.parametrize("table", SPECIAL + SMALL)
def test_equals_scipy_on_small_and_moderate_tables(table: list[list[int]]) -> None:
    # At these counts scipy's hypergeometric is accurate to a few ulps (see the huge tables).
    got, want = fisher_exact_pvalue(np.array(table)), float(sps.fisher_exact(table).pvalue)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("table", SPECIAL + SMALL[::20])
def test_equals_the_exact_rational_sum(table: list[list[int]]) -> None:
    assert fisher_exact_pvalue(table) == pytest.approx(_exact(table), rel=1e-13, abs=1e-300)


HUGE = [
    [[500000, 500000], [5000, 5050]],  # the drift bench's 0/1 column: 1M reference, 10k window
    [[505000, 495000], [5500, 4500]],
    [[751012, 795], [81, 8]],
    [[102078, 712133], [164, 28]],
    [[703694, 352], [3698, 0]],
    [[202386, 56471], [9413, 2658]],
    [[293, 157290], [6, 208244]],
    [[500000, 500000], [500000, 500000]],  # symmetric: p = 1
    [[500000, 500001], [500001, 500000]],
    [[499000, 501000], [501000, 499000]],  # symmetric margins, mirrored tails
    [[5, 999995], [15, 9985]],  # skewed: Poisson-like tails
    [[1, 2_000_000], [30, 5000]],
    *_tables(2, 12, 2_000_000),
]


@pytest.mark.parametrize("table", HUGE)
def test_huge_tables_equal_a_50_digit_sum_and_scipy_within_its_error(
    table: list[list[int]],
) -> None:
    got = fisher_exact_pvalue(table)
    assert got == pytest.approx(_decimal(table), rel=1e-13, abs=1e-300)
    # scipy's own p-value drifts up to ~2e-10 relative at these counts (its hypergeometric
    # loses digits), so it bounds ours only loosely here.
    assert got == pytest.approx(float(sps.fisher_exact(table).pvalue), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "table",
    [[[1_000_000, 0], [0, 10_000]], [[0, 1_000_000], [10_000, 0]], [[400, 0], [0, 400]],
     [[20_000, 3], [2, 20_000]]],
)  # fmt: skip
def test_extreme_tables_underflow_like_scipy(table: list[list[int]]) -> None:
    got, want = fisher_exact_pvalue(table), float(sps.fisher_exact(table).pvalue)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_mirrored_tables_of_symmetric_margins_count_each_other() -> None:
    # Rows of equal totals: P(x) = P(n - x), so the observed table's mirror image is exactly
    # as likely and must be counted; p is twice the one-sided tail.
    table = [[4210, 5790], [5790, 4210]]
    one_sided = float(sps.hypergeom.cdf(4210, 20000, 10000, 10000))
    assert fisher_exact_pvalue(table) == pytest.approx(2 * one_sided, rel=1e-11)


def test_rejects_other_shapes_and_negative_counts() -> None:
    with pytest.raises(ValueError):
        fisher_exact_pvalue([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError):
        fisher_exact_pvalue([[1, -2], [3, 4]])
