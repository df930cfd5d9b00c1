"""Kernel two-sample statistics: maximum mean discrepancy (MMD) with a Gaussian kernel.

Everything here runs in blocks of rows, so memory grows linearly with the sample size
(``BLOCK_ROWS`` rows of the kernel matrix at a time), never quadratically; time is quadratic,
so :func:`mmd_subsample_test` tests a seeded subsample of large windows.

>>> x = np.array([[0.0], [1.0]]); round(mmd_rbf(x, x + 10.0, sigma=1.0), 6)
1.213061
"""

from __future__ import annotations

import math

import numpy as np

from dqm.monitors.columns import FloatArray

BLOCK_ROWS = 256
MEDIAN_MAX_POINTS = 1000
# The drift method ``mmd`` tests at most this many rows per side (time is quadratic).
MMD_MAX_ROWS = 2000
MMD_PERMUTATIONS = 100


def _as_matrix(x: FloatArray) -> FloatArray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def median_sigma(pooled: FloatArray, seed: int = 0) -> float:
    """Median-heuristic bandwidth ``sqrt(median squared distance / 2)`` of the pooled rows.

    The median runs over all distinct pairs of at most 1000 rows (a seeded subsample when there
    are more, so memory stays bounded); 1.0 when that median is 0 (e.g. a constant sample).

    Reference: Gretton et al. (2012), "A kernel two-sample test", section 8.

    >>> median_sigma(np.array([[0.0], [1.0], [3.0]]))  # squared distances 1, 4, 9
    1.4142135623730951
    """
    z = _as_matrix(pooled)
    if len(z) > MEDIAN_MAX_POINTS:
        rng = np.random.default_rng(seed)
        z = z[rng.choice(len(z), MEDIAN_MAX_POINTS, replace=False)]
    sq = np.sum(z**2, axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    upper = dist[np.triu_indices(len(z), k=1)]
    median = float(np.median(upper)) if upper.size else 0.0
    return math.sqrt(median / 2.0) if median > 0 else 1.0


def _labelled_sums(
    z: FloatArray, labels: FloatArray, sigma: float
) -> tuple[FloatArray, FloatArray, float]:
    """Kernel sums (diagonal excluded) for each labelling, one block of kernel rows at a time.

    ``labels`` is (N, L) with 1.0 for rows of the first sample. Returns, per labelling,
    the within-first-sample sum, the sum over rows of the first sample, and the total sum.
    """
    sq = np.sum(z**2, axis=1)
    within = np.zeros(labels.shape[1])
    first_rows = np.zeros(labels.shape[1])
    total = 0.0
    for start in range(0, len(z), BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, len(z))
        dist = np.maximum(sq[start:stop, None] + sq[None, :] - 2.0 * z[start:stop] @ z.T, 0.0)
        kernel = np.exp(-dist / (2.0 * sigma**2))
        kernel[np.arange(stop - start), np.arange(start, stop)] = 0.0
        within += np.einsum("ij,ij->j", labels[start:stop], kernel @ labels)
        row_sums = kernel.sum(axis=1)
        first_rows += labels[start:stop].T @ row_sums
        total += float(row_sums.sum())
    return within, first_rows, total


def _unbiased_mmd2(
    within: FloatArray, first_rows: FloatArray, total: float, m: int, n: int
) -> FloatArray:
    cross = first_rows - within
    within_second = total - first_rows - cross
    out: FloatArray = within / (m * (m - 1)) + within_second / (n * (n - 1)) - 2.0 * cross / (m * n)
    return out


def mmd_rbf(x: FloatArray, y: FloatArray, sigma: float | None = None) -> float:
    """Unbiased squared maximum mean discrepancy with a Gaussian (RBF) kernel.

    ``x`` and ``y`` are (m, d) and (n, d) arrays (1-d arrays are one feature), m, n >= 2.
    The kernel is ``exp(-|a - b|^2 / (2 sigma^2))``; ``sigma`` defaults to
    :func:`median_sigma` of the pooled sample.

    Reference: Gretton et al. (2012), "A kernel two-sample test", eq. 3.
    """
    return mmd_permutation_test(x, y, permutations=0, sigma=sigma)[0]


def mmd_permutation_test(
    x: FloatArray,
    y: FloatArray,
    permutations: int = 100,
    seed: int = 0,
    sigma: float | None = None,
) -> tuple[float, float]:
    """Unbiased MMD² of ``x`` and ``y`` and its permutation p-value.

    The pooled rows are relabelled ``permutations`` times (seeded); the p-value is
    ``(1 + #{permuted MMD² >= observed}) / (1 + permutations)``, never 0 (Phipson, Smyth
    2010). All labellings share one blocked pass over the kernel matrix.

    Reference: Gretton et al. (2012), "A kernel two-sample test", eq. 3 and section 5.

    Parameters
    ----------
    x, y
        The two samples, (m, d) and (n, d) arrays (1-d arrays are one feature), m, n >= 2.
    permutations
        Relabellings of the pooled rows; 0 computes the statistic alone (p-value 1).
    seed
        Seeds the permutations and the subsample behind the default ``sigma``.
    sigma
        Kernel bandwidth; None: :func:`median_sigma` of the pooled rows.

    >>> x = np.linspace(0.0, 1.0, 30); stat, p = mmd_permutation_test(x, x + 2.0)
    >>> round(stat, 4), round(p, 4)
    (1.5951, 0.0099)
    """
    a, b = _as_matrix(x), _as_matrix(y)
    m, n = len(a), len(b)
    z = np.vstack([a, b])
    if sigma is None:
        sigma = median_sigma(z, seed)
    rng = np.random.default_rng(seed)
    labels = np.zeros((m + n, permutations + 1))
    labels[:m, 0] = 1.0
    for k in range(1, permutations + 1):
        labels[rng.permutation(m + n)[:m], k] = 1.0
    mmd2 = _unbiased_mmd2(*_labelled_sums(z, labels, sigma), m, n)
    exceed = int(np.sum(mmd2[1:] >= mmd2[0]))
    return float(mmd2[0]), (1 + exceed) / (1 + permutations)


def mmd_subsample_test(
    x: FloatArray, y: FloatArray, max_rows: int = MMD_MAX_ROWS, seed: int = 0
) -> tuple[float, float]:
    """:func:`mmd_permutation_test` (100 permutations) on at most ``max_rows`` rows per side.

    Larger samples are subsampled without replacement (seeded: ``x`` first, then ``y``);
    NaN when a side has fewer than 2 rows.

    >>> x = np.arange(5000.0); mmd_subsample_test(x, x + 3000.0)[1]  # 1 / 101
    0.009900990099009901
    """
    rng = np.random.default_rng(seed)
    x, y = (
        s if len(s) <= max_rows else s[rng.choice(len(s), max_rows, replace=False)] for s in (x, y)
    )
    if min(len(x), len(y)) < 2:
        return math.nan, math.nan
    return mmd_permutation_test(x, y, MMD_PERMUTATIONS, seed)
