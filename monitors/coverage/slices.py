"""Slice coverage: the share of current rows in 2-D cells the reference barely populates.

Numerical columns are binned at the reference deciles, categorical columns by reference
category (one extra code for categories the reference lacks, one for missing values).

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

DECILES = np.arange(1, 10) / 10.0
DENSE_CELLS = 1 << 22  # up to this many cells, count with bincount; beyond, sort


@dataclass(frozen=True)
class Codes:
    """Integer cell codes of one column for the reference and the current rows."""

    reference: IntArray
    current: IntArray
    n_codes: int


def decile_codes(reference: FloatArray, current: FloatArray) -> tuple[IntArray, IntArray, int]:
    """Bin both arrays at the reference deciles; NaN gets the last code.

    >>> import numpy as np
    >>> ref = np.arange(1.0, 11.0)
    >>> decile_codes(ref, np.array([0.0, 5.5, 99.0, np.nan]))[1].tolist()
    [0, 5, 9, 10]
    """
    present = reference[~np.isnan(reference)]
    edges = np.unique(np.quantile(present, DECILES)) if present.size else np.empty(0)
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


def column_codes(profile: ReferenceProfile, current: pa.Table, column: str, kind: str) -> Codes:
    """Cell codes of a numerical or categorical column."""
    if kind == "numerical":
        ref, cur, n = decile_codes(
            numeric_values(profile.table, column), numeric_values(current, column)
        )
        return Codes(ref, cur, n)
    return category_codes(string_column(profile.table, column), string_column(current, column))


def uncovered_share(a: Codes, b: Codes, min_support: int) -> float:
    """Share of current rows whose (a, b) cell holds fewer than ``min_support`` reference rows."""
    ref_cells = a.reference * b.n_codes + b.reference
    cur_cells = a.current * b.n_codes + b.current
    n_cells = a.n_codes * b.n_codes
    if n_cells <= DENSE_CELLS:
        support = np.bincount(ref_cells, minlength=n_cells)[cur_cells]
    else:
        cells, counts = np.unique(ref_cells, return_counts=True)
        pos = np.minimum(np.searchsorted(cells, cur_cells), cells.size - 1)
        support = np.where(cells[pos] == cur_cells, counts[pos], 0)
    return float(np.count_nonzero(support < min_support) / cur_cells.size)


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
