"""Reference profiles: per-column summaries computed once per reference version.

A profile keeps the reference table and computes each column's summary the first time a monitor
asks for it; ``warm()`` computes them all up front (the service does this when a reference
version is uploaded, so runs only process the current window).

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
>>> p = ReferenceProfile(pa.table({"x": [3.0, 1.0, None, 2.0]}), schema)
>>> p.numeric("x").sorted_values.tolist(), p.numeric("x").n_missing
([1.0, 2.0, 3.0], 1)
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.columns import (
    FloatArray,
    IntArray,
    ObjectArray,
    category_counts,
    sorted_finite_values,
    sorted_present,
)
from dqm.monitors.schema import Schema
from dqm.monitors.stats.lazy import lazy
from dqm.monitors.stats.sorted_reference import SortedReference
from dqm.monitors.stats.sparse_counts import ReferenceShares, WindowCounts
from dqm.monitors.string_index import StringIndex


@dataclass(frozen=True)
class NumericProfile:
    """Sorted non-missing values of a numerical reference column and their summaries."""

    sorted_values: FloatArray
    n_unique: int
    n_missing: int
    std: float  # population standard deviation (ddof=0), as Evidently's normed Wasserstein

    @property
    def n(self) -> int:
        return int(self.sorted_values.size)

    @lazy
    def unique_values(self) -> FloatArray:
        """The distinct values, ascending."""
        return self.value_counts[0]

    @lazy
    def indexed(self) -> SortedReference:
        """The sorted values with the prefix sums that let a run's ECDF distances cost the
        window's size, not the reference's."""
        return SortedReference.of(self.sorted_values)

    @lazy
    def value_counts(self) -> tuple[FloatArray, IntArray]:
        """Distinct values and how often each occurs (what count-based methods align)."""
        return self.indexed.distinct


@dataclass(frozen=True)
class CategoricalProfile:
    """Category counts of a reference column (missing values excluded)."""

    categories: ObjectArray
    counts: IntArray
    n_missing: int

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @lazy
    def position(self) -> dict[str, int]:
        """Each category's index in ``categories``: a window's categories are looked up here,
        so aligning a window costs its distinct values, not a sort of the union."""
        return {c: i for i, c in enumerate(self.categories.tolist())}

    def warm(self) -> None:
        """Build what a run reads: the shares' sums and the categories' hash index."""
        _ = self.shares, self._hash_index

    @lazy
    def shares(self) -> ReferenceShares:
        """The counts as shares and the sums over them that a run's scores need."""
        return ReferenceShares.of(self.counts)

    def window_counts(self, window: pa.ChunkedArray) -> WindowCounts:
        """A window's counts at the reference's categories and at its new ones (nulls
        skipped): costs the window's distinct categories, not the reference's."""
        counted = pc.value_counts(pc.drop_null(window))
        values = counted.field("values")
        counts = np.asarray(counted.field("counts").to_numpy(), dtype=np.int64)
        found = self._find(values)
        known = found >= 0
        if known.all():
            new_keys, new_counts = np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
            seen, seen_counts = found, counts
        else:
            new_keys = np.asarray(values.filter(pa.array(~known)).to_pylist(), dtype=object)
            seen, seen_counts, new_counts = found[known], counts[known], counts[~known]
        return WindowCounts(self.categories, self.shares, seen, seen_counts, new_keys, new_counts)

    def aligned(self, window: pa.ChunkedArray) -> tuple[ObjectArray, IntArray, IntArray]:
        """Sorted union of categories with reference and window counts over it.

        ``window`` is a string column (nulls skipped). Equal to
        :func:`dqm.monitors.stats.binning.align_counts` of both sides' sorted counts.

        >>> p = CategoricalProfile(np.array(["a", "c"], dtype=object), np.array([2, 3]), 0)
        >>> keys, ref, cur = p.aligned(pa.chunked_array([["c", "b", None, "c"]]))
        >>> keys.tolist(), ref.tolist(), cur.tolist()
        (['a', 'b', 'c'], [2, 0, 3], [0, 1, 2])
        """
        return self.window_counts(window).union()

    @lazy
    def _hash_index(self) -> StringIndex | None:
        """The categories indexed by hash; None when two categories share a hash (then
        lookups go through ``position``)."""
        return StringIndex.of(pa.array(self.categories.tolist(), pa.string()))

    def _find(self, values: pa.Array) -> IntArray:
        """Each window category's index in ``categories`` (-1: not a reference category), by
        hash and one comparison of the matched strings (Arrow), no Python string per value."""
        if len(values) == 0:
            return np.zeros(0, dtype=np.int64)
        index = self._hash_index
        if index is None:
            listed = values.to_pylist()
            return np.fromiter((self.position.get(v, -1) for v in listed), np.int64, len(listed))
        return index.find(values)


@dataclass(frozen=True)
class NumericBounds:
    """Minimum, maximum and quartiles of a numerical reference column (NaN when it is empty):
    what a learned value range is built from."""

    min: float
    max: float
    q1: float
    q3: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def numeric_bounds(sorted_values: FloatArray) -> NumericBounds:
    """Bounds of sorted, non-missing values (numpy's linear-interpolation quartiles).

    >>> numeric_bounds(np.arange(1.0, 10.0))
    NumericBounds(min=1.0, max=9.0, q1=3.0, q3=7.0)
    """
    if sorted_values.size == 0:
        return NumericBounds(float("nan"), float("nan"), float("nan"), float("nan"))
    q1, q3 = (float(q) for q in np.quantile(sorted_values, [0.25, 0.75]))
    return NumericBounds(float(sorted_values[0]), float(sorted_values[-1]), q1, q3)


def numeric_profile(values: FloatArray) -> NumericProfile:
    """Summarize a float column whose missing values are NaN."""
    return _numeric_profile(sorted_present(values), int(values.size))


def _numeric_profile(present: FloatArray, size: int) -> NumericProfile:
    """Summarize the sorted non-missing values of a column of ``size`` rows."""
    n_unique = int(np.count_nonzero(present[1:] != present[:-1])) + 1 if present.size else 0
    return NumericProfile(present, n_unique, size - int(present.size), _std(present))


def _std(values: FloatArray) -> float:
    """Population standard deviation (``values.std()``, one pass fewer); NaN when empty."""
    if values.size == 0:
        return float("nan")
    centered = values - values.mean()
    # einsum, not np.dot: OpenBLAS threads spin on a busy machine (7 ms CPU for 100k values).
    return math.sqrt(float(np.einsum("i,i->", centered, centered)) / values.size)


class ReferenceProfile:
    """The reference table of one version plus lazily computed, cached column summaries."""

    def __init__(self, table: pa.Table, schema: Schema) -> None:
        self.table = table
        self.schema = schema
        self._numeric: dict[str, NumericProfile] = {}
        self._categorical: dict[str, CategoricalProfile] = {}
        self._bounds: dict[str, NumericBounds] = {}
        self._lock = threading.Lock()

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def numeric(self, column: str) -> NumericProfile:
        with self._lock:
            found = self._numeric.get(column)
        if found is None:
            # Computed outside the lock so that threads profiling other columns do not wait.
            table = self.table
            found = _numeric_profile(sorted_finite_values(table, column), table.num_rows)
            with self._lock:
                found = self._numeric.setdefault(column, found)
        return found

    def categorical(self, column: str) -> CategoricalProfile:
        with self._lock:
            found = self._categorical.get(column)
        if found is None:
            cats, counts, n_null = category_counts(self.table, column)
            found = CategoricalProfile(cats, counts, n_null)
            with self._lock:
                found = self._categorical.setdefault(column, found)
        return found

    def bounds(self, column: str) -> NumericBounds:
        """Minimum, maximum and quartiles of a numerical column, computed once."""
        with self._lock:
            found = self._bounds.get(column)
        if found is None:
            found = numeric_bounds(self.numeric(column).sorted_values)
            with self._lock:
                found = self._bounds.setdefault(column, found)
        return found

    def warm(self) -> ReferenceProfile:
        """Compute every column's summary now; returns self."""
        for col in self.schema.columns:
            if col.name not in self.table.column_names:
                continue
            if col.type == "numerical":
                self.numeric(col.name).indexed.warm()
                self.bounds(col.name)
            elif col.type == "categorical":
                self.categorical(col.name).warm()
        return self
