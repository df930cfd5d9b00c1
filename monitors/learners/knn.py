"""Exact k-nearest-neighbour distances in bounded memory, and the Deep-kNN OOD threshold.

Deep-kNN (Sun, Ming, Zhu & Li, "Out-of-Distribution Detection with Deep Nearest Neighbors",
ICML 2022) flags a point as out-of-distribution when its distance to the k-th nearest
in-distribution point exceeds a threshold λ chosen so that a fraction ``tpr`` (0.95 in the paper)
of in-distribution points pass.

>>> import numpy as np
>>> index = np.array([[0.0], [1.0], [3.0], [6.0]])
>>> kth_neighbour_distance(np.array([[0.5], [10.0]]), index, k=2).tolist()
[0.5, 7.0]
>>> float(ood_threshold(np.array([1.0, 2.0, 3.0, 4.0]), tpr=0.75))
3.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dqm.monitors.columns import FloatArray, IntArray

QUERY_BLOCK = 1024
INDEX_BLOCK = 4096


def kth_neighbour_distance(
    queries: FloatArray,
    index: FloatArray,
    k: int,
    query_block: int = QUERY_BLOCK,
    index_block: int = INDEX_BLOCK,
) -> FloatArray:
    """Euclidean distance from each query row to its ``k``-th nearest row of ``index``.

    Exact brute force: squared distances ``|q|² + |x|² - 2 q·x`` are computed for one
    ``query_block`` x ``index_block`` tile at a time while the ``k`` smallest per query are kept
    with ``np.partition``, so memory stays ``O(query_block * (index_block + k))`` whatever the
    sizes. A query that is itself in ``index`` counts as its own nearest neighbour (distance 0).

    >>> import numpy as np
    >>> kth_neighbour_distance(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0]]), 2)
    array([5.])
    """
    if not 1 <= k <= index.shape[0]:
        raise ValueError(f"k must be in [1, {index.shape[0]}], got {k}")
    out = np.empty(queries.shape[0], dtype=np.float64)
    index_sq = np.einsum("ij,ij->i", index, index)
    index_m2 = -2.0 * index
    for start in range(0, queries.shape[0], query_block):
        block = queries[start : start + query_block]
        out[start : start + block.shape[0]] = _kth_in_block(
            block, index_m2, index_sq, k, index_block
        )
    return out


def _kth_in_block(
    block: FloatArray, index_m2: FloatArray, index_sq: FloatArray, k: int, index_block: int
) -> FloatArray:
    # |q|² is constant along a query's row, so it cannot change which neighbours are nearest:
    # select on |x|² - 2 q·x and add |q|² to the k survivors only.
    best = np.full((block.shape[0], 0), np.inf)
    for start in range(0, index_m2.shape[0], index_block):
        tile = index_m2[start : start + index_block]
        partial = block @ tile.T
        partial += index_sq[None, start : start + tile.shape[0]]
        if partial.shape[1] > k:
            partial.partition(k - 1, axis=1)
        merged = np.concatenate([best, partial[:, :k]], axis=1)
        keep = min(k, merged.shape[1])
        best = np.partition(merged, keep - 1, axis=1)[:, :keep]
    kth = best.max(axis=1) + np.einsum("ij,ij->i", block, block)
    # Cancellation in |q|²+|x|²-2q·x can leave tiny negatives for coincident points.
    distances: FloatArray = np.sqrt(np.maximum(kth, 0.0))
    return distances


def ood_threshold(reference_distances: FloatArray, tpr: float) -> float:
    """The smallest λ such that at least ``tpr`` of ``reference_distances`` are ``<= λ``.

    This is the inverted-CDF quantile, so "95% of reference rows pass" holds exactly
    (not just after interpolation).

    >>> import numpy as np
    >>> ood_threshold(np.arange(1.0, 21.0), tpr=0.95)
    19.0
    """
    if reference_distances.size == 0:
        raise ValueError("no reference distances to set a threshold from")
    return float(np.quantile(reference_distances, tpr, method="inverted_cdf"))


def split_reference(
    n_rows: int, cap: int, holdout_fraction: float, seed: int
) -> tuple[IntArray, IntArray]:
    """Seeded (index rows, held-out rows) of a reference of ``n_rows``, subsampled to ``cap``.

    >>> idx, held = split_reference(10, cap=10, holdout_fraction=0.2, seed=0)
    >>> len(idx), len(held), sorted([*idx, *held]) == list(range(10))
    (8, 2, True)
    """
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(n_rows)[: min(n_rows, cap)]
    n_held = int(round(chosen.size * holdout_fraction))
    held = np.sort(chosen[:n_held]).astype(np.int64)
    return np.sort(chosen[n_held:]).astype(np.int64), held


def sample_rows(n_rows: int, size: int, seed: int) -> IntArray:
    """Seeded sample of at most ``size`` row positions without replacement, in row order.

    >>> sample_rows(5, 10, seed=0).tolist()
    [0, 1, 2, 3, 4]
    """
    if n_rows <= size:
        return np.arange(n_rows, dtype=np.int64)
    rng = np.random.default_rng(seed)
    picked: npt.NDArray[np.int64] = rng.choice(n_rows, size=size, replace=False)
    return np.sort(picked).astype(np.int64)
