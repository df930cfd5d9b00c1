"""Slice coverage: the share of current rows in 2-D cells the reference barely populates.

Numerical columns are binned at reference quantiles, as many bins as the reference fills
(``grid_bins``: deciles from 2,000 rows at the default support), categorical columns by
reference category (one extra code for categories the reference lacks, one for missing values).

Even data drawn from the reference lands in thin cells by chance, the more so the smaller the
reference. ``chance_share`` measures that share on the reference itself (leave-one-out), and
the metric reports the current share in excess of it (``dqm.monitors.coverage.slice_metric``).

>>> import numpy as np
>>> ref_a, ref_b = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 0, 0, 0])
>>> cur_a, cur_b = np.array([1, 0, 0]), np.array([0, 1, 1])
>>> uncovered_share(Codes(ref_a, cur_a, 2), Codes(ref_b, cur_b, 2), min_support=2)
0.6666666666666666
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.columns import FloatArray, IntArray, numeric_values, string_column
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.profile_cache import cached

MAX_BINS = 10  # deciles
MIN_BINS = 2
ROWS_PER_CELL = 4  # bins are chosen so an average 2-D cell holds this many times min_support
DENSE_CELLS = 1 << 22  # up to this many cells, count with bincount; beyond, sort


@dataclass(frozen=True)
class Codes:
    """Integer cell codes of one column for the reference and the current rows."""

    reference: IntArray
    current: IntArray
    n_codes: int


def grid_bins(n_reference: int, min_support: int) -> int:
    """Quantile bins per numerical column: the most (2 to 10) whose 2-D grid averages at least
    ``ROWS_PER_CELL * min_support`` reference rows a cell.

    >>> grid_bins(200, 5), grid_bins(224, 5), grid_bins(2000, 5), grid_bins(50_000, 5)
    (3, 3, 10, 10)
    """
    fitting = int(np.sqrt(n_reference / (ROWS_PER_CELL * min_support)))
    return min(MAX_BINS, max(MIN_BINS, fitting))


def decile_codes(
    reference: FloatArray, current: FloatArray, n_bins: int = MAX_BINS
) -> tuple[IntArray, IntArray, int]:
    """Bin both arrays at ``n_bins`` reference quantiles (deciles by default); NaN gets the
    last code.

    >>> import numpy as np
    >>> ref = np.arange(1.0, 11.0)
    >>> decile_codes(ref, np.array([0.0, 5.5, 99.0, np.nan]))[1].tolist()
    [0, 5, 9, 10]
    >>> decile_codes(ref, np.array([0.0, 5.5, 99.0, np.nan]), n_bins=2)[1].tolist()
    [0, 1, 1, 2]
    """
    edges = _decile_edges(reference, n_bins)
    return _decile_code(edges, reference), _decile_code(edges, current), edges.size + 2


def _decile_edges(reference: FloatArray, n_bins: int) -> FloatArray:
    present = reference[~np.isnan(reference)]
    cuts = np.arange(1, n_bins) / n_bins
    return np.unique(np.quantile(present, cuts)) if present.size else np.empty(0)


def _decile_code(edges: FloatArray, values: FloatArray) -> IntArray:
    """The number of edges at or below each value (``searchsorted(..., side="right")``)."""
    if edges.size < 255:
        # A handful of edges: one vectorized comparison per edge, counted in a byte, beats a
        # binary search per value several times over.
        counts = np.zeros(values.size, dtype=np.uint8)
        for edge in edges:
            np.add(counts, values >= edge, out=counts, casting="unsafe")
        out = counts.astype(np.int64)
    else:
        out = np.searchsorted(edges, values, side="right").astype(np.int64)
    out[np.isnan(values)] = edges.size + 1
    return out


def category_codes(reference: pa.ChunkedArray, current: pa.ChunkedArray) -> Codes:
    """Code categories by reference category; unseen and missing get one code each."""
    categories = pc.unique(reference.drop_null())
    return Codes(
        _category_code(categories, reference),
        _category_code(categories, current),
        len(categories) + 2,
    )


def _category_code(categories: pa.Array, values: pa.ChunkedArray) -> IntArray:
    n_cat = len(categories)
    idx = pc.index_in(values, value_set=categories)
    out = np.asarray(pc.fill_null(idx, n_cat).to_numpy(), dtype=np.int64).copy()
    out[np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)] = n_cat + 1
    return out


@dataclass(frozen=True)
class _ReferenceCodes:
    """A reference column's bin edges or categories and its rows' codes."""

    edges: FloatArray | None  # numerical: the quantile edges
    categories: pa.Array | None  # categorical: the reference categories
    codes: IntArray
    n_codes: int


def _reference_codes(
    profile: ReferenceProfile, column: str, kind: str, n_bins: int
) -> _ReferenceCodes:
    if kind == "numerical":
        values = numeric_values(profile.table, column)
        edges = _decile_edges(values, n_bins)
        return _ReferenceCodes(edges, None, _decile_code(edges, values), edges.size + 2)
    reference = string_column(profile.table, column)
    categories = pc.unique(reference.drop_null())
    codes = _category_code(categories, reference)
    return _ReferenceCodes(None, categories, codes, len(categories) + 2)


def column_codes(
    profile: ReferenceProfile, current: pa.Table, column: str, kind: str, n_bins: int = MAX_BINS
) -> Codes:
    """Cell codes of a numerical (``n_bins`` quantile bins) or categorical column.

    The reference side (edges or categories, and the reference rows' codes) is computed once
    per reference profile.
    """
    ref = cached(
        profile,
        ("slice_codes", column, kind, n_bins),
        lambda: _reference_codes(profile, column, kind, n_bins),
    )
    if ref.edges is not None:
        cur = _decile_code(ref.edges, numeric_values(current, column))
    else:
        assert ref.categories is not None
        cur = _category_code(ref.categories, string_column(current, column))
    return Codes(ref.codes, cur, ref.n_codes)


def _support(ref_cells: IntArray, cells: IntArray, n_cells: int) -> IntArray:
    """Reference rows in each of ``cells``."""
    if n_cells <= DENSE_CELLS:
        return np.bincount(ref_cells, minlength=n_cells)[cells]
    unique, counts = np.unique(ref_cells, return_counts=True)
    pos = np.minimum(np.searchsorted(unique, cells), unique.size - 1)
    return np.where(unique[pos] == cells, counts[pos], 0)


def uncovered_share(a: Codes, b: Codes, min_support: int) -> float:
    """Share of current rows whose (a, b) cell holds fewer than ``min_support`` reference rows."""
    ref_cells = a.reference * b.n_codes + b.reference
    cur_cells = a.current * b.n_codes + b.current
    support = _support(ref_cells, cur_cells, a.n_codes * b.n_codes)
    return float(np.count_nonzero(support < min_support) / cur_cells.size)


def chance_share(a: Codes, b: Codes, min_support: int) -> float:
    """``uncovered_share`` expected of data drawn from the reference: the leave-one-out share
    of reference rows whose cell holds fewer than ``min_support`` of the *other* rows.

    Each reference row is scored against the other n - 1, as a fresh row would be against the
    reference (the limit of scoring one part of the reference against the rest).

    >>> import numpy as np
    >>> codes = Codes(np.array([0, 0, 0, 1]), np.array([0]), 2)
    >>> chance_share(codes, codes, min_support=2)  # the lone row in cell 1 has no company
    0.25
    """
    ref_cells = a.reference * b.n_codes + b.reference
    if ref_cells.size == 0:
        return 1.0
    others = _support(ref_cells, ref_cells, a.n_codes * b.n_codes) - 1
    return float(np.count_nonzero(others < min_support) / ref_cells.size)


def choose_pairs(columns: list[str], max_pairs: int, seed: int) -> list[tuple[str, str]]:
    """All column pairs in schema order, or a seeded sample of ``max_pairs`` of them.

    Sampling (rather than the first ``max_pairs``) spreads the budget over every column.

    >>> choose_pairs(["a", "b", "c"], 45, seed=0)
    [('a', 'b'), ('a', 'c'), ('b', 'c')]
    >>> len(choose_pairs([str(i) for i in range(25)], 45, seed=0))
    45
    """
    pairs = list(combinations(columns, 2))
    if len(pairs) <= max_pairs:
        return pairs
    keep = np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False)
    return [pairs[i] for i in np.sort(keep)]
