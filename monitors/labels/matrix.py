"""Probability matrices held column by column: ``(n, K)`` float64 in Fortran order.

A window's class probabilities are read one column per class; CBPE calibrates, sorts and
integrates each class's column on its own, so columns are kept contiguous. The row-wise
operations (sums, argmax) run as K vectorized passes over columns and give the same bits as
numpy's on a row-major matrix: :func:`row_sums` adds in the order of numpy's pairwise
summation of a contiguous row.

>>> m = column_matrix([np.array([0.2, 0.5]), np.array([0.8, 0.5])])
>>> m.flags.f_contiguous, row_sums(m).tolist(), row_argmax(m).tolist()
(True, [1.0, 1.0], [1, 0])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.columns import FloatArray, IntArray

_UNROLL, _BLOCK = 8, 128  # numpy's pairwise summation: 8 partial sums, blocks of 128
# numpy releases the GIL while it sorts, searches, gathers and interpolates, so the classes of a
# window are worked on in parallel threads (as the drift monitor's columns are).
MAX_THREADS = 4
T = TypeVar("T")
R = TypeVar("R")


def per_class(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, computed in parallel threads, in order (a pool per call:
    nothing outlives it, so a forked worker process inherits no pool without threads)."""
    with ThreadPoolExecutor(max_workers=MAX_THREADS) as pool:
        return list(pool.map(fn, items))


def column_matrix(columns: Sequence[FloatArray]) -> FloatArray:
    """The columns side by side, as a Fortran-ordered ``(n, K)`` matrix."""
    n = columns[0].size if columns else 0
    out = np.empty((n, len(columns)), dtype=np.float64, order="F")
    for k, column in enumerate(columns):
        out[:, k] = column
    return out


def numeric_matrix(table: pa.Table, columns: Sequence[str]) -> FloatArray:
    """``column_matrix([numeric_values(table, c) for c in columns])`` with each column read
    straight into its slot of the matrix (no intermediate copy per column)."""
    out = np.empty((table.num_rows, len(columns)), dtype=np.float64, order="F")
    for k, name in enumerate(columns):
        chunked = table.column(name)
        if not pa.types.is_floating(chunked.type):
            chunked = pc.cast(chunked, pa.float64())
        column, start = out[:, k], 0
        for chunk in chunked.chunks:
            column[start : start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            start += len(chunk)
        # Nulls arrive as NaN; infinities become NaN as numeric_values makes them.
        column[np.isinf(column)] = np.nan
    return out


def take_rows(matrix: FloatArray, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> FloatArray:
    """``matrix[rows]`` built column by column (Fortran order); ``matrix`` itself when
    ``rows`` is a mask that keeps every row."""
    if rows.dtype == np.bool_:
        if bool(rows.all()):
            return matrix
        rows = np.flatnonzero(rows)
    # np.take gives the values of ``column[rows]``, faster than fancy indexing.
    out = np.empty((rows.size, matrix.shape[1]), dtype=matrix.dtype, order="F")
    for k in range(matrix.shape[1]):
        column = matrix[:, k]
        if column.flags.c_contiguous:
            np.take(column, rows, out=out[:, k])
        else:  # np.take would copy a strided column first
            out[:, k] = column[rows]
    return out


def complete_rows(matrix: FloatArray) -> npt.NDArray[np.bool_]:
    """Rows without NaN: ``~np.isnan(matrix).any(axis=1)``, one column at a time."""
    out = np.ones(matrix.shape[0], dtype=bool)
    for k in range(matrix.shape[1]):
        out &= ~np.isnan(matrix[:, k])
    return out


class Ranked(NamedTuple):
    """A column's rows from the highest score down: ``order = np.argsort(-values)`` and the
    scores in that order; CBPE's calibration and expected ROC AUC both walk it."""

    order: IntArray
    scores: FloatArray


# Flips the bits of a non-negative double's pattern so that larger values get smaller keys.
_DESCENDING = np.uint64(0x7FFF_FFFF_FFFF_FFFF)


def ranked(values: FloatArray) -> Ranked:
    """The :class:`Ranked` view of ``values``: ``np.argsort(-values)`` and the sorted values.

    Non-negative doubles order as their bit patterns do, so the rows are ranked by one
    value-only sort of 64-bit keys holding the top bits of the (inverted) pattern and, in the
    low bits, the row number: several times cheaper than an argsort. Rows whose keys agree in
    the kept bits are then put in order by their full patterns. With a tie, a negative or a
    NaN the order is taken from ``np.argsort(-values)`` itself, so the result is always
    exactly numpy's (which orders tied values its own way).
    """
    n = values.size
    index_bits = max(n - 1, 1).bit_length()
    if n < 2 or index_bits > 32 or not bool(np.all(values >= 0.0)):  # NaN fails >= too
        return _argsort_ranked(values)
    values = np.ascontiguousarray(values)
    bits = values.view(np.uint64)
    shift = np.uint64(index_bits)
    low = np.uint64((1 << index_bits) - 1)
    # Two n-row buffers in all (fewer fresh pages): the keys, and the kept bits, later the order.
    keys = np.arange(n, dtype=np.uint64)
    kept = np.bitwise_xor(bits, _DESCENDING)
    kept >>= shift
    kept <<= shift
    keys |= kept
    keys.sort()
    order = np.bitwise_and(keys, low, out=kept).view(np.int64)
    scores = np.take(values, order)
    descending = scores[:-1] > scores[1:]
    if not bool(descending.all()):
        # Either a tie (left to numpy) or rows sharing their kept bits, in row order.
        if bool(np.any(scores[:-1] == scores[1:])):
            return _argsort_ranked(values)
        keys >>= shift
        shared = np.zeros(n, dtype=bool)
        np.equal(keys[1:], keys[:-1], out=shared[1:])
        shared[:-1] |= shared[1:]
        at = np.flatnonzero(shared)
        # The kept bits of these rows grow along ``at``, so sorting their full patterns
        # reorders each group of shared bits within its own slots.
        rows = order[at]
        order[at] = rows[np.argsort(np.take(bits, rows) ^ _DESCENDING)]
        scores[at] = values[order[at]]
    return Ranked(order, scores)


def _argsort_ranked(values: FloatArray) -> Ranked:
    order = np.argsort(-values)
    return Ranked(order, values[order])


def _pairwise(columns: Sequence[FloatArray]) -> FloatArray:
    """numpy's ``pairwise_sum`` over a row, vectorized over rows (one array per row item)."""
    n = len(columns)
    if n < _UNROLL:
        total = np.zeros_like(columns[0])
        for column in columns:
            total += column
        return total
    if n <= _BLOCK:
        # The partial sums start as the first 8 items; copied only if more are added in place.
        more = n >= 2 * _UNROLL
        partial = [columns[j].copy() if more else columns[j] for j in range(_UNROLL)]
        i = _UNROLL
        while i < n - n % _UNROLL:
            for j in range(_UNROLL):
                partial[j] += columns[i + j]
            i += _UNROLL
        p = partial
        total = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
        for column in columns[i:]:
            total += column
        return total
    half = n // 2
    half -= half % _UNROLL
    return _pairwise(columns[:half]) + _pairwise(columns[half:])


def row_sums(matrix: FloatArray) -> FloatArray:
    """Each row's sum, bit for bit ``np.ascontiguousarray(matrix).sum(axis=1)``."""
    if matrix.shape[1] == 0:
        return np.zeros(matrix.shape[0])
    return _pairwise([matrix[:, k] for k in range(matrix.shape[1])])


def row_argmax(matrix: FloatArray) -> IntArray:
    """Each row's first column holding its largest value (``argmax(axis=1)`` without NaN)."""
    best = matrix[:, 0].copy()
    index = np.zeros(matrix.shape[0], dtype=np.int64)
    for k in range(1, matrix.shape[1]):
        higher = matrix[:, k] > best
        index[higher] = k
        np.maximum(best, matrix[:, k], out=best)
    return index


def row_max(matrix: FloatArray) -> FloatArray:
    """Each row's largest value (``max(axis=1)`` without NaN)."""
    best = matrix[:, 0].copy()
    for k in range(1, matrix.shape[1]):
        np.maximum(best, matrix[:, k], out=best)
    return best


def first_true(mask: npt.NDArray[np.bool_]) -> IntArray:
    """Each row's first True column, 0 when none (``argmax(axis=1)`` of a boolean matrix)."""
    index = np.zeros(mask.shape[0], dtype=np.int64)
    found = np.zeros(mask.shape[0], dtype=bool)
    for k in range(mask.shape[1]):
        new = mask[:, k] & ~found
        index[new] = k
        found |= new
    return index
