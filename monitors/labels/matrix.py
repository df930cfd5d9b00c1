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


def take_rows(matrix: FloatArray, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> FloatArray:
    """``matrix[rows]`` built column by column (Fortran order); ``matrix`` itself when
    ``rows`` is a mask that keeps every row."""
    if rows.dtype == np.bool_ and bool(rows.all()):
        return matrix
    return column_matrix([matrix[:, k][rows] for k in range(matrix.shape[1])])


class Ranked(NamedTuple):
    """A column's rows from the highest score down: ``order = np.argsort(-values)`` and the
    scores in that order; CBPE's calibration and expected ROC AUC both walk it."""

    order: IntArray
    scores: FloatArray


def ranked(values: FloatArray) -> Ranked:
    """The :class:`Ranked` view of ``values``."""
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
