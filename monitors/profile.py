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
        skipped): costs the window's rows or distinct categories, not the reference's.

        ``window`` holds strings, or dictionary-encoded strings (then only the dictionary's
        values are looked up and the codes counted).
        """
        if pa.types.is_dictionary(window.type):
            return self._dictionary_counts(window)
        index = self._hash_index
        n = len(window) - window.null_count
        if index is None or n == 0 or index.size * ROWS_PER_LEVEL < n:
            # Few categories for many rows: Arrow counts the distinct values (its hash table
            # is small then), and only those are looked up.
            counted = pc.value_counts(pc.drop_null(window))
            counts = np.asarray(counted.field("counts").to_numpy(), dtype=np.int64)
            return self._counted(counted.field("values"), counts)
        # Many categories: nearly every row is its own category in the window, so counting
        # distinct values first (an Arrow hash table per run) saves no lookup. Every row is
        # looked up and counted by its reference position.
        values = window.chunk(0) if window.num_chunks == 1 else window.combine_chunks()
        if values.null_count:
            values = pc.drop_null(values)
        found = index.find(values)
        if int(found.min()) >= 0:  # every row a reference category (n > 0 here)
            seen, seen_counts = _tally(found, self.counts.size)
            new_keys, new_counts = _NO_KEYS, _NO_COUNTS
        else:
            known = found >= 0
            seen, seen_counts = _tally(found[known], self.counts.size)
            counted = pc.value_counts(values.filter(pa.array(~known)))
            new_keys = np.asarray(counted.field("values").to_pylist(), dtype=object)
            new_counts = np.asarray(counted.field("counts").to_numpy(), dtype=np.int64)
        return WindowCounts(self.categories, self.shares, seen, seen_counts, new_keys, new_counts)

    def _dictionary_counts(self, window: pa.ChunkedArray) -> WindowCounts:
        """Counts of a dictionary-encoded window: the codes are counted and the dictionary's
        used values looked up (an Arrow dictionary may repeat a value: counts are summed)."""
        chunks = window.unify_dictionaries().chunks if window.num_chunks > 1 else window.chunks
        if not chunks:
            return self._counted(pa.array([], pa.string()), _NO_COUNTS)
        dictionary = chunks[0].dictionary
        per_code = np.zeros(len(dictionary), dtype=np.int64)
        for chunk in chunks:
            codes = chunk.indices.drop_null() if chunk.null_count else chunk.indices
            per_code += np.bincount(
                np.asarray(codes.to_numpy(), dtype=np.intp), minlength=len(dictionary)
            )
        used = np.flatnonzero(per_code)
        values = dictionary if used.size == len(dictionary) else dictionary.take(pa.array(used))
        counts = per_code[used]
        if values.null_count:  # a code of a null dictionary value is a null row
            valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            values, counts = values.filter(pa.array(valid)), counts[valid]
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = pc.cast(values, pa.string())
        return self._counted(values, counts)

    def _counted(self, values: pa.Array, counts: IntArray) -> WindowCounts:
        """Window counts from distinct-or-repeated non-null strings and their counts."""
        found = self._find(values)
        known = found >= 0
        seen, seen_counts = _tally(found[known], self.counts.size, counts[known])
        if known.all():
            new_keys, new_counts = _NO_KEYS, _NO_COUNTS
        else:
            new: dict[str, int] = {}
            rest = values.filter(pa.array(~known)).to_pylist()
            for key, count in zip(rest, counts[~known].tolist(), strict=True):
                new[key] = new.get(key, 0) + count
            new_keys = np.asarray(list(new), dtype=object)
            new_counts = np.asarray(list(new.values()), dtype=np.int64)
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


# Below this many window rows per reference category, Arrow counts the window's distinct
# values before they are looked up; above, every row is looked up (see window_counts).
ROWS_PER_LEVEL = 4
_NO_KEYS = np.zeros(0, dtype=object)
_INT32_SIZE = 1 << 31  # positions below this sort as int32
_NO_COUNTS = np.zeros(0, dtype=np.int64)


def _tally(
    positions: IntArray, size: int, weights: IntArray | None = None
) -> tuple[IntArray, IntArray]:
    """Distinct positions (in ``range(size)``) and their counts (sum of ``weights``, else
    occurrences). A count vector over ``range(size)`` when that is no longer than the
    positions; else a sort of the positions, so the cost never follows ``size`` alone.

    >>> [a.tolist() for a in _tally(np.array([5, 2, 5, 5]), 1000)]
    [[2, 5], [1, 3]]
    >>> [a.tolist() for a in _tally(np.array([1, 0, 1]), 3, np.array([2, 3, 4]))]
    [[0, 1], [3, 6]]
    """
    if positions.size == 0:
        return positions.astype(np.int64), _NO_COUNTS
    if size <= positions.size:
        per = np.bincount(positions, weights, minlength=size)
        at = np.flatnonzero(per)
        return at.astype(np.int64), per[at].astype(np.int64)
    # int32 sorts 2-3x faster than int64 (10k positions: 0.04 ms against 0.1-0.18), in
    # place in the converted copy
    ordered = positions.astype(np.int32) if size <= _INT32_SIZE else positions.copy()
    ordered.sort()
    starts = np.empty(ordered.size, dtype=np.bool_)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    first = np.flatnonzero(starts)
    if weights is None:
        bounds = np.append(first, ordered.size)
        return ordered[first].astype(np.int64), bounds[1:] - bounds[:-1]
    if first.size == ordered.size:  # each position once (a dictionary's distinct values)
        return positions.astype(np.int64), weights.astype(np.int64)
    order = np.argsort(positions)  # groups of equal positions; their order does not matter
    return ordered[first].astype(np.int64), np.add.reduceat(weights[order], first).astype(np.int64)
