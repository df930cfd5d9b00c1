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
    present = reference[~np.isnan(reference)]
    cuts = np.arange(1, n_bins) / n_bins
    edges = np.unique(np.quantile(present, cuts)) if present.size else np.empty(0)
    nan_code = edges.size + 1

    def code(values: FloatArray) -> IntArray:
        out = np.searchsorted(edges, values, side="right").astype(np.int64)
        out[np.isnan(values)] = nan_code
        return out

    return code(reference), code(current), nan_code + 1


def category_codes(reference: pa.ChunkedArray, current: pa.ChunkedArray) -> Codes:
    """Code categories by reference category; unseen and missing get one code each."""
    categories = pc.unique(reference.drop_null())
    n_cat = len(categories)

    def code(values: pa.ChunkedArray) -> IntArray:
        idx = pc.index_in(values, value_set=categories)
        out = np.asarray(pc.fill_null(idx, n_cat).to_numpy(), dtype=np.int64).copy()
        out[np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)] = n_cat + 1
        return out

    return Codes(code(reference), code(current), n_cat + 2)


def column_codes(
    profile: ReferenceProfile, current: pa.Table, column: str, kind: str, n_bins: int = MAX_BINS
) -> Codes:
    """Cell codes of a numerical (``n_bins`` quantile bins) or categorical column."""
    if kind == "numerical":
        ref, cur, n = decile_codes(
            numeric_values(profile.table, column), numeric_values(current, column), n_bins
        )
        return Codes(ref, cur, n)
    return category_codes(string_column(profile.table, column), string_column(current, column))


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
