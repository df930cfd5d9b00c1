"""Kernel two-sample statistics: maximum mean discrepancy (MMD) with a Gaussian kernel.

Multi-feature samples run in blocks of rows, so memory grows linearly with the sample size
(``BLOCK_ROWS`` rows of the kernel matrix at a time), never quadratically; time is quadratic,
so :func:`mmd_subsample_test` tests a seeded subsample of large windows. One-feature samples
(a drift column) take a low-rank path: the Gaussian kernel matrix of points on a line with
the median-heuristic bandwidth has a tiny numerical rank (~35 for 4000 normal values), so a
pivoted Cholesky factor gives every kernel sum at O(N rank) instead of O(N^2), within a
proven bound (``LOW_RANK_STAT_TOL``); a larger rank falls back to the dense pass.

>>> x = np.array([[0.0], [1.0]]); round(mmd_rbf(x, x + 10.0, sigma=1.0), 6)
1.213061
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray

BLOCK_ROWS = 256
MEDIAN_MAX_POINTS = 1000
# The drift method ``mmd`` tests at most this many rows per side (time is quadratic).
MMD_MAX_ROWS = 2000
MMD_PERMUTATIONS = 100
# Labelling matrices kept (3.2 MB each at 2000 + 2000 rows and 100 permutations).
LABELLINGS_CACHED = 4
# The low-rank path stops factorising once every MMD² it yields is provably within this of
# the exact one (the dense pass's own rounding error is of the same order).
LOW_RANK_STAT_TOL = 1e-14
# A relabelling's MMD² this close to the observed one is a tie and counts as reaching it, as
# an exact comparison counts it: discrete samples tie exactly (relabellings with the same
# counts of each value), and rounding would otherwise decide those ties either way.
TIE_SLACK = 4.0 * LOW_RANK_STAT_TOL
# Beyond this rank (or a quarter of the rows) the factorisation costs more than it saves.
LOW_RANK_MAX = 256
# OpenBLAS threads a matrix product above m * n * k = 65536 * 4 (and a large enough
# matrix-vector product); the low-rank path cuts its products below that, so a run scoring
# columns in threads does not oversubscribe the cores (measured: a threaded 250 x 4000 gemv
# took 12x longer than one thread on a loaded 2-core machine).
_BLAS_SINGLE_THREAD_MNK = 65536 * 4
# Random pairs that bracket the median pairwise distance (see _median_sq_diff_1d).
_MEDIAN_BRACKET_PAIRS = 8192
# At most this many pairs are listed to select the median from (the bracket is narrowed first).
_MEDIAN_LIST_MAX = 4096
# The p-value path's stops (bounds on any MMD² error) before the full tolerance, a decade
# apart (about 1.7 pivots each for 4000 normal values; 1e-5 takes ~19 of the ~35): each
# decides the relabellings farther than twice the bound from the observed. Starting at 1e-5
# measured fastest: shallower stops decide few relabellings without drift (the spread of
# their MMD² is ~1e-4), and the first stop's product is the one over every relabelling.
_STAGE_BOUNDS = tuple(10.0**-k for k in range(5, 14))
# Landmark grid: points this many bandwidths apart; no landmarks for a sample spanning more
# than _GRID_MAX_POINTS of them (a rank that large falls back to the dense pass anyway).
_GRID_STEP = 1.0 / 16.0
_GRID_MAX_POINTS = 4096
_GRID_MAX_RANK = 96
_GRID_RESIDUAL = 1e-15
# Landmarks added at least this many at a time.
_LANDMARK_BATCH = 3


def _as_matrix(x: FloatArray) -> FloatArray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


@functools.lru_cache(maxsize=8)
def _seeded_rows(n: int, size: int, seed: int) -> IntArray:
    """``default_rng(seed).choice(n, size, replace=False)``, drawn once per sizes and seed
    (read-only): the drift method draws the same rows run after run."""
    rows = np.random.default_rng(seed).choice(n, size, replace=False)
    rows.flags.writeable = False
    return rows


@functools.lru_cache(maxsize=8)
def _subsample_rows(
    sizes: tuple[int, int], max_rows: int, seed: int
) -> tuple[IntArray | None, IntArray | None]:
    """:func:`mmd_subsample_test`'s rows of each side (None: all of them), drawn once per
    sizes and seed from one generator, first side first (read-only)."""
    rng = np.random.default_rng(seed)
    out: list[IntArray | None] = []
    for size in sizes:
        rows = None if size <= max_rows else rng.choice(size, max_rows, replace=False)
        if rows is not None:
            rows.flags.writeable = False
        out.append(rows)
    return out[0], out[1]


def median_sigma(pooled: FloatArray, seed: int = 0) -> float:
    """Median-heuristic bandwidth ``sqrt(median squared distance / 2)`` of the pooled rows.

    The median runs over all distinct pairs of at most 1000 rows (a seeded subsample when there
    are more, so memory stays bounded); 1.0 when that median is 0 (e.g. a constant sample).
    One feature: squared differences ``(a - b)**2``, selected without forming all pairs.

    Reference: Gretton et al. (2012), "A kernel two-sample test", section 8.

    >>> median_sigma(np.array([[0.0], [1.0], [3.0]]))  # squared distances 1, 4, 9
    1.4142135623730951
    """
    z = _as_matrix(pooled)
    if len(z) > MEDIAN_MAX_POINTS:
        z = z[_seeded_rows(len(z), MEDIAN_MAX_POINTS, seed)]
    if z.shape[1] == 1 and np.isfinite(z).all():
        median = _median_sq_diff_1d(z[:, 0])
    else:
        sq = np.sum(z**2, axis=1)
        dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
        upper = dist[np.triu_indices(len(z), k=1)]
        median = float(np.median(upper)) if upper.size else 0.0
    return math.sqrt(median / 2.0) if median > 0 else 1.0


def _first_at_least(s: FloatArray, t: float) -> IntArray:
    """Per i, the first j > i with ``s[j] - s[i] >= t`` (len(s) if none); ``s`` sorted.

    ``searchsorted(s, s + t)`` compares against the rounded sum ``s[i] + t``; the
    differences themselves decide here (they grow with j), so counts match a direct
    computation of ``s[j] - s[i]`` exactly. A correction moves past a whole run of tied
    values at once (they share the difference): tied samples would step through it.
    """
    n = len(s)
    i = np.arange(n)
    j = np.maximum(np.searchsorted(s, s + t, side="left"), i + 1)
    while True:
        at = s[np.minimum(j, n - 1)]
        up = (j < n) & (at - s < t)
        down = (j > i + 1) & (s[j - 1] - s >= t)
        any_up, any_down = bool(up.any()), bool(down.any())
        if not (any_up or any_down):
            return j
        if any_up:  # past the run of s[j]: all of it is below t
            j = np.where(up, np.searchsorted(s, at, side="right"), j)
        if any_down:  # back to the start of the run of s[j - 1]: all of it reaches t
            j = np.where(down, np.maximum(np.searchsorted(s, s[j - 1], side="left"), i + 1), j)


def _bracketed(s: FloatArray, lo: float, hi: float) -> tuple[IntArray, IntArray, int, int]:
    """Per row i of sorted ``s``, the first j with ``s[j] - s[i] >= lo`` and the first with
    ``> hi``; and how many pairs i < j differ by less than ``lo`` and by at most ``hi``."""
    start = np.arange(1, len(s) + 1)
    from_lo = _first_at_least(s, lo)
    after_hi = _first_at_least(s, np.nextafter(hi, math.inf))
    return from_lo, after_hi, int(np.sum(from_lo - start)), int(np.sum(after_hi - start))


@functools.lru_cache(maxsize=4)
def _bracket_pairs(n: int, pairs: int) -> tuple[IntArray, IntArray]:
    """``pairs`` seeded random index pairs into ``n`` values, those with i != j; drawn once
    per size (read-only): drawing them cost as much as the rest of the selection."""
    a, b = np.random.default_rng(0).integers(0, n, (2, pairs))
    keep = a != b
    a, b = a[keep], b[keep]
    a.flags.writeable = b.flags.writeable = False
    return a, b


def _median_sq_diff_1d(v: FloatArray) -> float:
    """``np.median`` of ``(v[i] - v[j])**2`` over i < j, exactly, without listing every pair.

    Squaring is monotone on |differences|, so the two middle squared distances are the
    squares of the two middle differences of the sorted values. A seeded sample of random
    pairs brackets them (5 standard errors each side); the pairs below the bracket and up to
    its top are counted per row (searchsorted). The bracket (~5% of the pairs) is narrowed by
    interpolation to about ``_MEDIAN_LIST_MAX`` pairs, counted again, and only the pairs
    inside it (both ends included) are listed and partitioned. A bracket that misses lists
    every pair; a narrowed one that misses keeps the wider bracket.
    """
    s = np.sort(v)
    n = len(s)
    total = n * (n - 1) // 2
    if total == 0:
        return 0.0
    ranks = ((total - 1) // 2, total // 2)  # np.median averages these two order statistics
    a, b = _bracket_pairs(n, _MEDIAN_BRACKET_PAIRS)
    sample = np.abs(s[b] - s[a])
    lo, hi = 0.0, math.inf
    if sample.size:
        q, half = (ranks[0] + 0.5) / total, 5.0 * math.sqrt(0.25 / sample.size)
        at = (
            max(int((q - half) * sample.size), 0),
            min(int((q + half) * sample.size), sample.size - 1),
        )
        if at[0] < at[1]:
            # two single-kth partitions: one call with both kth costs ~8x more here
            part = np.partition(sample, at[1])
            lo, hi = float(np.partition(part[: at[1]], at[0])[at[0]]), float(part[at[1]])
    from_lo, after_hi, below, upto = _bracketed(s, lo, hi)
    if not (below <= ranks[0] and ranks[1] < upto):  # the sample missed: list all
        from_lo, after_hi, below = np.arange(1, n + 1), np.full(n, n), 0
        lo, hi = 0.0, math.inf
    elif math.isfinite(hi):
        # Narrow the bracket before listing it: differences inside it are nearly uniform, so
        # where the middle ranks lie is interpolated and cut around (two counts; ~5% of the
        # pairs to list become ~1%, and their arrays stay small). A cut that misses keeps the
        # bracket it had.
        for _ in range(3):
            inside = upto - below
            if inside <= _MEDIAN_LIST_MAX:
                break
            pad = 0.5 * _MEDIAN_LIST_MAX / inside
            f0, f1 = (ranks[0] - below) / inside, (ranks[1] + 1 - below) / inside
            cut_lo = lo + (hi - lo) * max(f0 - pad, 0.0)
            cut_hi = lo + (hi - lo) * min(f1 + pad, 1.0)
            if not (lo <= cut_lo <= cut_hi <= hi and (lo < cut_lo or cut_hi < hi)):
                break
            new_lo, new_hi, new_below, new_upto = _bracketed(s, cut_lo, cut_hi)
            if not (new_below <= ranks[0] and ranks[1] < new_upto):
                break
            lo, hi, from_lo, after_hi = cut_lo, cut_hi, new_lo, new_hi
            below, upto = new_below, new_upto
    if lo == hi:  # every pair inside is a tie at lo (tied samples), the middle ones too
        return lo * lo
    width = np.maximum(after_hi - from_lo, 0)  # pairs with lo <= difference <= hi, per row
    ends = np.cumsum(width)
    cols = np.arange(int(ends[-1])) + np.repeat(from_lo - (ends - width), width)
    inner = s[cols] - np.repeat(s, width)
    k = ranks[0] - below
    inner = np.partition(inner, k)  # one kth: several cost ~5x more here
    first = float(inner[k])
    second = float(inner[k + 1 :].min()) if ranks[1] > ranks[0] else first
    return float(np.mean([first * first, second * second]))


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


@dataclass(frozen=True)
class _Landmarks:
    """The greedy pivots of ``points`` grid points ``_GRID_STEP`` bandwidths apart: their
    positions ``at`` (bandwidths from the first grid point), the lower Cholesky factor
    ``chol`` of their kernel matrix in pivot order and its ``inverse`` (lower triangular:
    its diagonal blocks invert the factor's), and ``trace[k]``: the grid's residual trace
    after the first k of them (per grid point)."""

    at: FloatArray
    chol: FloatArray
    inverse: FloatArray
    trace: FloatArray

    def needed(self, per_point_trace: float) -> int:
        """How many of them bring the grid's mean residual to ``per_point_trace``."""
        return int(np.searchsorted(-self.trace, -per_point_trace))


def _lower_inverse(chol: FloatArray) -> FloatArray:
    """The inverse of a lower-triangular matrix by forward substitution, a row at a time in
    numpy: LAPACK's trtri/trsm run on OpenBLAS's threads, which then spin for ~0.1 s and take
    the other core from the column threads (a run's next tenth of a second at twice the CPU)."""
    r = len(chol)
    out = np.zeros((r, r))
    for i in range(r):
        out[i, i] = 1.0
        if i:
            out[i, :i] = -(chol[i, :i] @ out[:i, :i])
        out[i, : i + 1] /= chol[i, i]
    return out


@functools.lru_cache(maxsize=64)
def _grid_landmarks(points: int) -> _Landmarks:
    """:class:`_Landmarks` of a grid (cached per length: a sample spanning the same number of
    bandwidths reuses them). The pivots stop where the grid's largest residual reaches
    ``_GRID_RESIDUAL`` (about the rounding of 1), or at ``_GRID_MAX_RANK``."""
    grid = np.arange(points, dtype=np.float64) * _GRID_STEP
    factor = _KernelFactor(grid, 1.0, min(points, _GRID_MAX_RANK), landmarks=False)
    traces = [factor.trace / points]
    while factor.rank < factor.max_rank and float(factor.residual.max()) > _GRID_RESIDUAL:
        factor._add_pivot()
        traces.append(factor.trace / points)
    pivots = np.array(factor.pivots, dtype=np.int64)
    chol = np.tril(factor.rows[:, pivots].T)  # rows past a pivot are 0 there (to rounding)
    # applied as products: as accurate here as forward substitution (residual diagonals within
    # 3e-15 of a long-double one on normal, lognormal and rounded samples, trsm 2e-15)
    inverse = _lower_inverse(chol)
    out = _Landmarks(grid[pivots], np.ascontiguousarray(chol), inverse, np.array(traces))
    for a in (out.at, out.chol, out.inverse, out.trace):
        a.flags.writeable = False
    return out


class _KernelFactor:
    """A pivoted Cholesky factor of the Gaussian kernel matrix of ``v``, extended on demand:
    ``rows`` (rank, N) with ``rows.T @ rows`` = the kernel matrix up to a PSD residual whose
    diagonal is ``residual`` (``trace`` its sum).

    Its first pivots are landmarks: :func:`_grid_landmarks` of a grid from the sample's
    minimum over its range, added several at a time (one kernel block and two products:
    minus the earlier rows' part, times a diagonal block of the landmarks' inverse factor; a
    handful of array passes where single pivots cost a dozen each). Then greedy pivots on
    the sample's largest residual diagonal (Harbrecht, Peters, Schneider 2012, "On the
    low-rank approximation by the pivoted Cholesky decomposition"). Either way the factor is
    a Nyström factor of the pooled points with the landmarks: the residual is a Schur
    complement, so it stays PSD, and its diagonal is exact to rounding (the greedy step is a
    forward substitution; the landmark blocks measured within 3e-15 of one). Extending the
    factor adds pivots: its first rows never change.
    """

    def __init__(self, v: FloatArray, sigma: float, max_rank: int, landmarks: bool = True) -> None:
        self.v, self.sigma, self.max_rank, self.rank = v, sigma, max_rank, 0
        self.scale = -1.0 / (2.0 * sigma * sigma)
        self.gt = np.empty((max_rank, len(v)))
        self.residual = np.ones(len(v))  # diagonal of K - gt.T @ gt; K_ii = 1
        self.trace = float(len(v))
        self.pivots: list[int] = []  # the sample's own pivots (after the landmarks)
        self._square = np.empty(len(v))
        self._grid: _Landmarks | None = None
        self._u = v
        if landmarks and len(v) and max_rank:
            lo = float(v.min())
            span = (float(v.max()) - lo) / sigma
            points = int(math.ceil(span / _GRID_STEP)) + 1
            if points <= _GRID_MAX_POINTS:
                self._grid, self._u = _grid_landmarks(points), (v - lo) * (1.0 / sigma)

    @property
    def rows(self) -> FloatArray:
        return self.gt[: self.rank]

    def extend(self, max_trace: float) -> bool:
        """Add pivots until the residual's trace is <= ``max_trace``; False when that takes
        more than ``max_rank`` (the factor is then left at ``max_rank``)."""
        while self.trace > max_trace:
            if self.rank == self.max_rank:
                return False
            grid = self._grid
            if grid is not None and self.rank < grid.at.size and not self.pivots:
                want = grid.needed(max_trace / len(self.v)) - self.rank
                self._add_landmarks(max(want, _LANDMARK_BATCH))
            else:
                self._add_pivot()
        return True

    def _add_landmarks(self, count: int) -> None:
        """The next ``count`` landmarks as a block: their kernel rows, minus the earlier
        rows' part, solved by the block of their factor (a forward substitution)."""
        grid = self._grid
        assert grid is not None
        k0 = self.rank
        k1 = min(k0 + count, grid.at.size, self.max_rank)
        block = self.gt[k0:k1]
        np.subtract(self._u[None, :], grid.at[k0:k1, None], out=block)
        block *= block
        block *= -0.5
        np.exp(block, out=block)
        # minus the earlier rows' part, then times the inverse of the landmarks' diagonal block
        # of the factor (a block of its inverse); products cut in column blocks so OpenBLAS
        # stays one thread (a threaded trsm here took 40% more CPU for 25% less wall time,
        # and its threads then spin on the core the other column threads need)
        coupling, inverse = grid.chol[k0:k1, :k0], grid.inverse[k0:k1, k0:k1]
        step = max(1, _BLAS_SINGLE_THREAD_MNK // ((k1 - k0) * max(k0, k1 - k0)))
        for start in range(0, len(self.v), step):
            part = block[:, start : start + step]
            if k0:
                part -= coupling @ self.gt[:k0, start : start + step]
            part[...] = inverse @ part
        self.residual -= np.einsum("ij,ij->j", block, block)
        self.rank = k1
        self.trace = float(self.residual.sum())

    def _add_pivot(self) -> None:
        """One greedy pivot: the sample point with the largest residual diagonal."""
        v, gt, residual, k = self.v, self.gt, self.residual, self.rank
        p = int(np.argmax(residual))
        col = gt[k]  # built in place: no temporaries of N values but the product's
        np.subtract(v, v[p], out=col)
        col *= col
        col *= self.scale
        np.exp(col, out=col)
        # minus the pivots' part; cut in column blocks so OpenBLAS's gemv stays one thread
        step = max(1, _BLAS_SINGLE_THREAD_MNK // max(1, k))
        pivot_row = gt[:k, p].copy()
        for start in range(0, len(v) if k else 0, step):
            col[start : start + step] -= pivot_row @ gt[:k, start : start + step]
        col *= 1.0 / math.sqrt(residual[p])
        np.multiply(col, col, out=self._square)
        residual -= self._square
        self.pivots.append(p)
        self.rank = k + 1
        self.trace = float(residual.sum())


def _pivoted_cholesky_1d(
    v: FloatArray, sigma: float, max_trace: float, max_rank: int
) -> FloatArray | None:
    """``gt`` (rank, N) with ``gt.T @ gt`` = the Gaussian kernel matrix of ``v`` up to a PSD
    residual of trace <= ``max_trace``; None when that takes more than ``max_rank``
    (:class:`_KernelFactor`)."""
    factor = _KernelFactor(v, sigma, max_rank)
    return factor.rows if factor.extend(max_trace) else None


def _project(gt: FloatArray, labels: FloatArray) -> FloatArray:
    """``labels @ gt.T`` (labellings x rank) as products small enough to stay single-threaded."""
    rank, n = gt.shape
    g = np.ascontiguousarray(gt.T)  # row blocks of G: a contiguous right-hand side, 2x faster
    step = max(1, _BLAS_SINGLE_THREAD_MNK // max(1, rank * len(labels)))
    whole = n - n % step
    out = np.zeros((len(labels), rank))
    if whole:
        blocks = whole // step
        a = labels[:, :whole].reshape(len(labels), blocks, step).transpose(1, 0, 2)
        out += np.matmul(a, g[:whole].reshape(blocks, step, rank)).sum(axis=0)
    if whole < n:
        out += labels[:, whole:] @ g[whole:]
    return out


def _stat_weight(m: int, n: int) -> float:
    """Largest eigenvalue of the 2x2 form the unbiased MMD² puts on (first, second) sums."""
    a, b, c = 1.0 / (m * (m - 1)), 1.0 / (n * (n - 1)), -1.0 / (m * n)
    return (a + b) / 2.0 + math.hypot((a - b) / 2.0, c)


def _low_rank_sums(
    v: FloatArray, labels: FloatArray, sigma: float, m: int
) -> tuple[FloatArray, FloatArray, float] | None:
    """:func:`_labelled_sums` of one-feature rows from a pivoted Cholesky factor.

    ``labels`` is (L, N). Every kernel sum is a quadratic form ``l' K l``, ``l' K 1``,
    ``1' K 1`` of 0/1 vectors, read as ``|G' l|^2`` etc. With ``K = G G' + E`` (E PSD), an
    MMD² moves by ``-trace(C M)``, C the 2x2 weights (:func:`_stat_weight`) and M the PSD
    2x2 restriction of E to the two samples: at most ``weight * N * trace(E)``, which the
    factorisation keeps below ``LOW_RANK_STAT_TOL``. The diagonal is excluded exactly
    (``K_ii = 1``). None when the rank would exceed the cap (dense pass instead).
    """
    n_rows = len(v)
    n = n_rows - m
    max_trace = LOW_RANK_STAT_TOL / (_stat_weight(m, n) * n_rows)
    gt = _pivoted_cholesky_1d(v, sigma, max_trace, min(LOW_RANK_MAX, n_rows // 4))
    if gt is None:
        return None
    proj = _project(gt, labels)
    ones = gt.sum(axis=1)
    within = np.einsum("ij,ij->i", proj, proj) - m
    first_rows = proj @ ones - m
    total = float(ones @ ones) - n_rows
    return within, first_rows, total


def _low_rank_exceedances(v: FloatArray, labels: FloatArray, sigma: float, m: int) -> int | None:
    """How many relabellings (``labels`` rows 1..) give an MMD² >= the observed split's (row
    0): the p-value's count, from a factor only as deep as the comparisons need.

    At rank k every MMD² is within ``b = weight * N * trace(residual)`` of the exact one
    (:func:`_low_rank_sums`), and of the full-tolerance one within ``b +
    LOW_RANK_STAT_TOL``. A relabelling whose MMD² differs from the observed by more than
    twice that is decided: the full-depth comparison has the same outcome. The factor
    deepens through ``_STAGE_BOUNDS`` with only the undecided rows (and row 0) projected on
    its new pivots; the last stage is the full tolerance, where the rest compare as
    :func:`mmd_permutation_test` compares them. So the count equals the full-depth one, and
    a relabelling far from the observed (all of them under drift, most without) costs a
    shallow factor. None when the rank would exceed the cap (dense pass instead).
    """
    n_rows = len(v)
    n = n_rows - m
    per_trace = _stat_weight(m, n) * n_rows
    factor = _KernelFactor(v, sigma, min(LOW_RANK_MAX, n_rows // 4))
    active = np.arange(len(labels))  # row 0, the observed split, stays first
    within, first_rows = np.zeros(len(labels)), np.zeros(len(labels))
    total, projected, exceed = 0.0, 0, 0
    for target in (*_STAGE_BOUNDS, LOW_RANK_STAT_TOL):
        if not factor.extend(target / per_trace):
            return None
        new = factor.rows[projected:]
        projected = factor.rank
        if new.size:
            rows = labels if 2 * active.size > len(labels) else labels[active]
            proj = _project(new, rows)
            ones = new.sum(axis=1)
            if rows is labels:
                proj = proj[active]
            within[active] += np.einsum("ij,ij->i", proj, proj)
            first_rows[active] += proj @ ones
            total += float(ones @ ones)
        mmd2 = _unbiased_mmd2(within[active] - m, first_rows[active] - m, total - n_rows, m, n)
        gap = mmd2[1:] - mmd2[0]
        if target == LOW_RANK_STAT_TOL:
            return exceed + int(np.count_nonzero(gap >= -TIE_SLACK))
        # the full-depth gap is within twice (bound + tolerance) of this one
        moved = 2.0 * (per_trace * factor.trace + LOW_RANK_STAT_TOL)
        above = gap > moved
        decided = above | (gap < -(moved + TIE_SLACK))
        exceed += int(np.count_nonzero(above))
        active = np.concatenate([active[:1], active[1:][~decided]])
        if active.size == 1:
            return exceed
    raise AssertionError("unreachable: the last stage decides every row")


def mmd_rbf(x: FloatArray, y: FloatArray, sigma: float | None = None) -> float:
    """Unbiased squared maximum mean discrepancy with a Gaussian (RBF) kernel.

    ``x`` and ``y`` are (m, d) and (n, d) arrays (1-d arrays are one feature), m, n >= 2.
    The kernel is ``exp(-|a - b|^2 / (2 sigma^2))``; ``sigma`` defaults to
    :func:`median_sigma` of the pooled sample.

    Reference: Gretton et al. (2012), "A kernel two-sample test", eq. 3.
    """
    return mmd_permutation_test(x, y, permutations=0, sigma=sigma)[0]


@functools.lru_cache(maxsize=LABELLINGS_CACHED)
def _labellings(m: int, n: int, permutations: int, seed: int) -> FloatArray:
    """(1 + permutations, m + n) 0/1 rows: the observed split, then the first ``m`` of each
    of ``permutations`` seeded ``rng.permutation(m + n)``.

    A function of the sizes and the seed alone, so it is drawn once and kept (read-only):
    the drift method's subsample sizes are the same run after run, and drawing 100
    permutations of 4000 rows was half of a run's cost.
    """
    labels = np.zeros((permutations + 1, m + n))
    labels[0, :m] = 1.0
    rng = np.random.default_rng(seed)
    for k in range(1, permutations + 1):
        labels[k, rng.permutation(m + n)[:m]] = 1.0
    labels.flags.writeable = False
    return labels


def _pooled(
    x: FloatArray, y: FloatArray, permutations: int, seed: int, sigma: float | None
) -> tuple[FloatArray, int, int, float, FloatArray, bool]:
    """The pooled rows, sizes, bandwidth, labellings and whether the one-feature low-rank
    path applies."""
    a, b = _as_matrix(x), _as_matrix(y)
    m, n = len(a), len(b)
    z = np.vstack([a, b])
    if sigma is None:
        sigma = median_sigma(z, seed)
    labels = _labellings(m, n, permutations, seed)
    low_rank = z.shape[1] == 1 and min(m, n) >= 2 and 0.0 < sigma < math.inf
    return z, m, n, sigma, labels, low_rank and bool(np.isfinite(z).all())


def _dense_mmd2(z: FloatArray, labels: FloatArray, sigma: float, m: int, n: int) -> FloatArray:
    """Every labelling's MMD² from the blocked pass; centred: |a|^2 + |b|^2 - 2ab cancels
    less about the mean."""
    return _unbiased_mmd2(*_labelled_sums(z - z.mean(axis=0), labels.T, sigma), m, n)


def _exceeding(mmd2: FloatArray) -> int:
    """How many relabellings' MMD² (``mmd2[1:]``) reach the observed one (``mmd2[0]``), a
    tie (within ``TIE_SLACK``) counting as reaching it."""
    return int(np.count_nonzero(mmd2[1:] - mmd2[0] >= -TIE_SLACK))


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
    2010); a permuted MMD² within ``TIE_SLACK`` of the observed is a tie and counts. All
    labellings share one pass over the kernel matrix (or its low-rank factor).

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
    z, m, n, sigma, labels, low_rank = _pooled(x, y, permutations, seed, sigma)
    sums = _low_rank_sums(z[:, 0], labels, sigma, m) if low_rank else None
    mmd2 = _unbiased_mmd2(*sums, m, n) if sums is not None else _dense_mmd2(z, labels, sigma, m, n)
    return float(mmd2[0]), (1 + _exceeding(mmd2)) / (1 + permutations)


def mmd_p_value(
    x: FloatArray,
    y: FloatArray,
    permutations: int = 100,
    seed: int = 0,
    sigma: float | None = None,
) -> float:
    """:func:`mmd_permutation_test`'s p-value alone, equal to it, for less: one feature
    compares the relabellings on a factor only as deep as each comparison needs
    (:func:`_low_rank_exceedances`).

    >>> x = np.linspace(0.0, 1.0, 30); round(mmd_p_value(x, x + 2.0), 4)
    0.0099
    """
    z, m, n, sigma, labels, low_rank = _pooled(x, y, permutations, seed, sigma)
    exceed = _low_rank_exceedances(z[:, 0], labels, sigma, m) if low_rank else None
    if exceed is None:
        mmd2 = _dense_mmd2(z, labels, sigma, m, n)
        exceed = _exceeding(mmd2)
    return (1 + exceed) / (1 + permutations)


def _subsample(
    x: FloatArray, y: FloatArray, max_rows: int, seed: int
) -> tuple[FloatArray, FloatArray]:
    """At most ``max_rows`` rows per side, without replacement (seeded: ``x`` first)."""
    rows = _subsample_rows((len(x), len(y)), max_rows, seed)
    a, b = (s if r is None else s[r] for s, r in zip((x, y), rows, strict=True))
    return a, b


def mmd_subsample_test(
    x: FloatArray, y: FloatArray, max_rows: int = MMD_MAX_ROWS, seed: int = 0
) -> tuple[float, float]:
    """:func:`mmd_permutation_test` (100 permutations) on at most ``max_rows`` rows per side.

    Larger samples are subsampled without replacement (seeded: ``x`` first, then ``y``);
    NaN when a side has fewer than 2 rows.

    >>> x = np.arange(5000.0); mmd_subsample_test(x, x + 3000.0)[1]  # 1 / 101
    0.009900990099009901
    """
    x, y = _subsample(x, y, max_rows, seed)
    if min(len(x), len(y)) < 2:
        return math.nan, math.nan
    return mmd_permutation_test(x, y, MMD_PERMUTATIONS, seed)


def mmd_subsample_p_value(
    x: FloatArray, y: FloatArray, max_rows: int = MMD_MAX_ROWS, seed: int = 0
) -> float:
    """:func:`mmd_subsample_test`'s p-value alone (:func:`mmd_p_value`): the drift method
    ``mmd``.

    >>> x = np.arange(5000.0); mmd_subsample_p_value(x, x + 3000.0)  # 1 / 101
    0.009900990099009901
    """
    x, y = _subsample(x, y, max_rows, seed)
    if min(len(x), len(y)) < 2:
        return math.nan
    return mmd_p_value(x, y, MMD_PERMUTATIONS, seed)
