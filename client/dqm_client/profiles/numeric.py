"""The profile of a numerical column: exact counts and moments, a KLL sketch, fixed-bin counts.

>>> import numpy as np
>>> a = NumericProfile.of(np.array([1.0, 2.0, np.nan]))
>>> b = NumericProfile.of(np.array([3.0, 4.0]))
>>> m = a.merge(b)
>>> (m.count, m.nulls, m.minimum, m.maximum, m.mean, round(m.variance, 6))
(4, 1, 1.0, 4.0, 2.5, 1.666667)
>>> m.quantile(0.5)
3.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import datasketches as ds
import numpy as np

from dqm_client.profiles.types import FloatArray, IntArray

# KLL accuracy parameter. k = 800 gives a normalized rank error of 0.35% for one rank query and
# 0.45% over all ranks at once (99% confidence, DataSketches' a-priori bounds), so a KS
# statistic read from a sketch is within 0.01 of the exact one with room to spare, for about
# 19 KB per column once a sketch holds more than ~10^5 values (a few KB below).
KLL_K = 800


def empty_sketch() -> ds.kll_doubles_sketch:
    return ds.kll_doubles_sketch(KLL_K)


@dataclass
class NumericProfile:
    """Count, nulls (missing or NaN), min/max, mean and M2, a KLL sketch, optional bin counts."""

    count: int = 0
    nulls: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    sketch: ds.kll_doubles_sketch = field(default_factory=empty_sketch)
    edges: FloatArray | None = None  # bin edges fixed by a reference version
    bin_counts: IntArray | None = None  # values in each of those bins (len(edges) - 1)

    @classmethod
    def of(cls, values: FloatArray, edges: FloatArray | None = None) -> NumericProfile:
        """The profile of ``values``; NaN counts as null. ``edges``: fixed bins to count on."""
        present = values[~np.isnan(values)]
        profile = cls(nulls=int(values.size - present.size))
        if present.size:
            profile.count = int(present.size)
            profile.minimum = float(present.min())
            profile.maximum = float(present.max())
            profile.mean = float(present.mean())
            profile.m2 = float(np.square(present - profile.mean).sum())
            profile.sketch.update(present)
        if edges is not None:
            profile.edges = np.asarray(edges, dtype=np.float64)
            profile.bin_counts = bin_counts(present, profile.edges)
        return profile

    @property
    def variance(self) -> float:
        """The sample variance (ddof=1); NaN below two values."""
        return self.m2 / (self.count - 1) if self.count > 1 else math.nan

    @property
    def rank_error(self) -> float:
        """The sketch's normalized rank error over all ranks (99% confidence); 0 when exact."""
        if not self.sketch.is_estimation_mode():
            return 0.0
        return float(self.sketch.normalized_rank_error(True))

    def quantile(self, rank: float) -> float:
        return float(self.sketch.get_quantile(rank))

    def cdf(self, points: FloatArray) -> FloatArray:
        """The share of values <= each of ``points`` (sorted, distinct), from the sketch."""
        if self.count == 0:
            return np.zeros(points.size)
        return np.asarray(self.sketch.get_cdf(points.tolist(), True)[:-1], dtype=np.float64)

    def merge(self, other: NumericProfile) -> NumericProfile:
        """The profile of both sets of values (neither input changes)."""
        merged = NumericProfile(
            count=self.count + other.count,
            nulls=self.nulls + other.nulls,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
        )
        merged.mean, merged.m2 = _merge_moments(self, other)
        merged.sketch.merge(self.sketch)
        merged.sketch.merge(other.sketch)
        merged.edges, merged.bin_counts = _merge_bins(self, other)
        return merged


def bin_counts(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts per bin as numpy.histogram counts them (last bin closed), outside values dropped.

    >>> bin_counts(np.array([0.0, 0.5, 1.0, 2.0, 9.0]), np.array([0.0, 1.0, 2.0])).tolist()
    [2, 2]
    """
    counts, _ = np.histogram(values, bins=edges)
    return counts.astype(np.int64)


def _merge_moments(a: NumericProfile, b: NumericProfile) -> tuple[float, float]:
    """Chan, Golub and LeVeque's pairwise update of the mean and M2."""
    n = a.count + b.count
    if n == 0:
        return 0.0, 0.0
    delta = b.mean - a.mean
    mean = a.mean + delta * b.count / n
    m2 = a.m2 + b.m2 + delta * delta * a.count * b.count / n
    return mean, m2


def _merge_bins(a: NumericProfile, b: NumericProfile) -> tuple[FloatArray | None, IntArray | None]:
    """Bin counts add up when both profiles were counted on the same edges, else are dropped."""
    if a.count + a.nulls == 0 or b.count + b.nulls == 0:  # an empty side has nothing to add
        kept = b if a.count + a.nulls == 0 else a
        return kept.edges, kept.bin_counts
    if a.edges is None or b.edges is None or a.bin_counts is None or b.bin_counts is None:
        return None, None
    if a.edges.shape != b.edges.shape or not np.array_equal(a.edges, b.edges):
        return None, None
    return a.edges, a.bin_counts + b.bin_counts
