"""The profile of a categorical column: exact counts up to a cap, then a frequent-items sketch.

>>> a = CategoricalProfile.of(["x", "y", None, "x"])
>>> b = CategoricalProfile.of(["y", "z"])
>>> m = a.merge(b)
>>> (m.count, m.nulls, m.is_exact, sorted(m.counts().items()))
(5, 1, True, [('x', 2), ('y', 2), ('z', 1)])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import datasketches as ds

# Distinct values counted exactly; beyond this a column's counts go into a frequent-items
# sketch. 2^LG_MAX_MAP_SIZE counters give each estimated count an error of at most
# 3.5 / 2^LG_MAX_MAP_SIZE = 0.085% of the column's values (DataSketches' a-priori error).
EXACT_CATEGORY_CAP = 1000
LG_MAX_MAP_SIZE = 12


@dataclass
class CategoricalProfile:
    """Value counts of a column (its values as strings); exact while ``is_exact``."""

    count: int = 0
    nulls: int = 0
    exact: dict[str, int] | None = field(default_factory=dict)
    sketch: ds.frequent_strings_sketch | None = None

    @classmethod
    def of(cls, values: Iterable[object]) -> CategoricalProfile:
        """The profile of ``values``; None counts as null, other values by their ``str``."""
        counts: Counter[str] = Counter()
        nulls = 0
        for v in values:
            if v is None:
                nulls += 1
            else:
                counts[str(v)] += 1
        return cls.from_counts(counts, nulls)

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], nulls: int = 0) -> CategoricalProfile:
        """A profile from value counts (e.g. Arrow's ``value_counts``) and a null count."""
        profile = cls(count=sum(counts.values()), nulls=nulls, exact=dict(counts))
        return profile._capped()

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    @property
    def count_error(self) -> float:
        """The most any count in ``counts()`` can be off by (0 when exact)."""
        return 0.0 if self.sketch is None else self.sketch.epsilon * self.sketch.total_weight

    def counts(self) -> dict[str, int]:
        """Counts per value: exact, or the sketch's estimates of its frequent values."""
        if self.exact is not None:
            return dict(self.exact)
        assert self.sketch is not None
        kind = ds.frequent_items_error_type.NO_FALSE_NEGATIVES
        return {item: int(est) for item, est, _, _ in self.sketch.get_frequent_items(kind)}

    def merge(self, other: CategoricalProfile) -> CategoricalProfile:
        """The profile of both sets of values (neither input changes)."""
        merged = CategoricalProfile(count=self.count + other.count, nulls=self.nulls + other.nulls)
        if self.exact is not None and other.exact is not None:
            total = Counter(self.exact)
            total.update(other.exact)
            merged.exact = dict(total)
            return merged._capped()
        merged.exact = None
        merged.sketch = ds.frequent_strings_sketch(LG_MAX_MAP_SIZE)
        for part in (self, other):
            if part.sketch is not None:
                merged.sketch.merge(part.sketch)
            else:
                _feed(merged.sketch, part.exact or {})
        return merged

    def _capped(self) -> CategoricalProfile:
        """Move exact counts into a sketch once there are more than the cap."""
        if self.exact is not None and len(self.exact) > EXACT_CATEGORY_CAP:
            self.sketch = ds.frequent_strings_sketch(LG_MAX_MAP_SIZE)
            _feed(self.sketch, self.exact)
            self.exact = None
        return self


def _feed(sketch: ds.frequent_strings_sketch, counts: Mapping[str, int]) -> None:
    for value, n in counts.items():
        sketch.update(value, n)
