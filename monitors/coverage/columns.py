"""Per-column coverage: does the window stay where the reference has data?

>>> import numpy as np
>>> ref = CategoricalProfile(np.array(["a", "b"], dtype=object), np.array([3, 1]), 0)
>>> cov = category_coverage(ref, {"a": 2, "c": 2}, min_reference_support=1)
>>> cov.row_coverage, cov.reference_coverage, cov.reference_mass_coverage
(0.5, 0.5, 0.75)
>>> numeric_range_coverage(np.arange(100.0), np.array([-1.0, 5.0, 50.0, 200.0]), 0.0, 1.0).value
0.5
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dqm.monitors.columns import FloatArray
from dqm.monitors.profile import CategoricalProfile

TOP_UNSEEN = 10


@dataclass(frozen=True)
class CategoryCoverage:
    """Coverage of one categorical column; shares are None when their denominator is 0."""

    row_coverage: float | None
    reference_coverage: float | None
    reference_mass_coverage: float | None
    unseen_categories: int
    top_unseen: list[tuple[str, int]]


def seen_categories(reference: CategoricalProfile, min_reference_support: int) -> dict[str, int]:
    """Reference categories with at least ``min_reference_support`` rows, with their counts."""
    return {
        str(cat): int(n)
        for cat, n in zip(reference.categories, reference.counts, strict=True)
        if n >= min_reference_support
    }


def category_coverage(
    reference: CategoricalProfile, current: Mapping[str, int], min_reference_support: int
) -> CategoryCoverage:
    """Row coverage of the window by the reference's categories, and the converse.

    ``row_coverage``: share of current non-null rows whose category the reference holds at
    least ``min_reference_support`` times. ``reference_coverage``: share of reference
    categories present in the window; ``reference_mass_coverage``: their total reference
    probability.
    """
    seen = seen_categories(reference, min_reference_support)
    n_current = sum(current.values())
    covered = sum(n for cat, n in current.items() if cat in seen)
    unseen = sorted(
        ((cat, n) for cat, n in current.items() if cat not in seen), key=lambda t: (-t[1], t[0])
    )
    ref_counts = dict(zip(map(str, reference.categories), reference.counts.tolist(), strict=True))
    present = [cat for cat in ref_counts if current.get(cat, 0) > 0]
    n_ref = sum(ref_counts.values())
    return CategoryCoverage(
        row_coverage=covered / n_current if n_current else None,
        reference_coverage=len(present) / len(ref_counts) if ref_counts else None,
        reference_mass_coverage=sum(ref_counts[c] for c in present) / n_ref if n_ref else None,
        unseen_categories=len(unseen),
        top_unseen=unseen[:TOP_UNSEEN],
    )


@dataclass(frozen=True)
class RangeCoverage:
    """Share of current values inside the reference's [lo, hi] quantile range."""

    value: float | None
    lo: float
    hi: float
    expected: float
    standard_error: float | None
    n: int


def numeric_range_coverage(
    reference_sorted: FloatArray, current: FloatArray, q_lo: float, q_hi: float
) -> RangeCoverage:
    """Share of non-NaN ``current`` values within the reference ``[q_lo, q_hi]`` quantiles.

    Quantiles are numpy's default (linear interpolation). On data from the reference
    distribution the share is Binomial(n, q_hi - q_lo) / n, so ``standard_error`` is
    ``sqrt(p (1 - p) / n)`` with ``p = q_hi - q_lo``.
    """
    lo, hi = (float(q) for q in np.quantile(reference_sorted, [q_lo, q_hi]))
    present = current[~np.isnan(current)]
    expected = q_hi - q_lo
    n = int(present.size)
    if n == 0:
        return RangeCoverage(None, lo, hi, expected, None, 0)
    inside = int(np.count_nonzero((present >= lo) & (present <= hi)))
    se = float(np.sqrt(expected * (1.0 - expected) / n))
    return RangeCoverage(inside / n, lo, hi, expected, se, n)
