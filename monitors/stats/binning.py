"""Value counts, count alignment and histograms that the drift statistics are computed on.

Inputs are sorted arrays without NaN (numerical) or distinct sorted keys with their counts
(categorical); bins follow Evidently 0.7's ``get_binned_data``, so scores compare one to one.

>>> keys, ref, cur = align_counts(np.array([1.0, 2.0]), np.array([4, 1]), np.array([2.0]), [3])
>>> keys.tolist(), ref.tolist(), cur.tolist()
([1.0, 2.0], [4, 1], [0, 3])
"""

from __future__ import annotations

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray


def sorted_value_counts(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct values of a sorted array and how often each occurs.

    >>> v, c = sorted_value_counts(np.array([1.0, 1.0, 2.0, 5.0, 5.0, 5.0]))
    >>> v.tolist(), c.tolist()
    ([1.0, 2.0, 5.0], [2, 1, 3])
    """
    if values.size == 0:
        return values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    counts = np.diff(np.append(starts, values.size)).astype(np.int64)
    return values[starts], counts


def align_counts(
    keys_a: np.ndarray, counts_a: IntArray, keys_b: np.ndarray, counts_b: IntArray
) -> tuple[np.ndarray, IntArray, IntArray]:
    """Counts of two samples over the sorted union of their (sorted, distinct) keys.

    >>> k, a, b = align_counts(np.array(["a", "b"]), np.array([3, 1]), np.array(["c"]), [2])
    >>> k.tolist(), a.tolist(), b.tolist()
    (['a', 'b', 'c'], [3, 1, 0], [0, 0, 2])
    """
    keys = np.union1d(keys_a, keys_b)
    out_a = np.zeros(keys.size, dtype=np.int64)
    out_b = np.zeros(keys.size, dtype=np.int64)
    out_a[np.searchsorted(keys, keys_a)] = counts_a
    out_b[np.searchsorted(keys, keys_b)] = counts_b
    return keys, out_a, out_b


def sturges_edges(ref: FloatArray, cur: FloatArray) -> FloatArray:
    """Edges of ``numpy.histogram_bin_edges(concat(ref, cur), "sturges")`` for sorted inputs.

    Reference: Sturges (1926), "The choice of a class interval".

    >>> sturges_edges(np.array([0.0, 1.0, 2.0]), np.array([3.0, 4.0])).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    first = min(ref[0], cur[0]) if cur.size else ref[0]
    last = max(ref[-1], cur[-1]) if cur.size else ref[-1]
    return sturges_edges_of_range(float(first), float(last), ref.size + cur.size)


def sturges_edges_of_range(first: float, last: float, n: int) -> FloatArray:
    """Sturges edges for ``n`` values spanning ``[first, last]``, exactly as numpy builds them.

    >>> sturges_edges_of_range(2.0, 2.0, 10).tolist()
    [1.5, 2.5]
    """
    width = (last - first) / (np.log2(n) + 1.0)
    if first == last:
        first, last = first - 0.5, last + 0.5
    n_bins = int(np.ceil((last - first) / width)) if width else 1
    return np.linspace(first, last, n_bins + 1, endpoint=True)


def sorted_histogram(values: FloatArray, edges: FloatArray) -> IntArray:
    """``numpy.histogram(values, edges)[0]`` for a sorted array (last bin closed).

    >>> sorted_histogram(np.array([0.0, 0.5, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])).tolist()
    [2, 2]
    """
    idx = np.concatenate(
        [values.searchsorted(edges[:-1], "left"), values.searchsorted(edges[-1:], "right")]
    )
    return np.diff(idx).astype(np.int64)


def fill_empty_bins(percents: FloatArray) -> FloatArray:
    """Evidently's empty-bin rule: zeros become min(nonzero)/1e6 if that min <= 1e-4, else 1e-4.

    Reference: Evidently 0.7, ``get_binned_data(..., feel_zeroes=True)`` (used by PSI, KL).

    >>> fill_empty_bins(np.array([0.5, 0.5, 0.0])).tolist()
    [0.5, 0.5, 0.0001]
    """
    out = percents.copy()
    smallest = float(out[out != 0].min())
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out
