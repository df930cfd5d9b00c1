"""Exact null distributions of two rank statistics: Mann-Whitney U and Cramer-von Mises U.

Both count the arrangements of the pooled sample, so they serve small samples only; the
normal and limiting approximations live in :mod:`dqm.monitors.stats.hypothesis_tests`.

>>> mann_whitney_sf(30, 3, 12) * 455  # 23 of the C(15, 3) = 455 orderings have U >= 30
23.0
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from dqm.monitors.columns import FloatArray


def _u_counts(m: int, n: int, k_max: int) -> FloatArray:
    """Number of orderings of samples of sizes ``m <= n`` with U = 0..k_max (no ties).

    These are the coefficients of the Gaussian binomial ``prod_{i<=m} (1 - q^(n+i)) / (1 - q^i)``
    truncated after ``q^k_max``: dividing by ``1 - q^i`` is a cumulative sum with stride ``i``,
    multiplying by ``1 - q^(n+i)`` subtracts a shifted copy, so the cost is ``m * k_max``
    (scipy's recursion costs ``k_max**2``: 11 s for 8 against 5000 values).
    """
    counts = np.zeros(k_max + 1)
    counts[0] = 1.0
    size = k_max + 1
    for i in range(1, m + 1):
        padded = np.concatenate([counts, np.zeros((-size) % i)])
        counts = padded.reshape(-1, i).cumsum(axis=0).ravel()[:size]
        shift = n + i
        if shift < size:
            counts[shift:] = counts[shift:] - counts[:-shift]
    return counts


def mann_whitney_sf(u: float, n1: int, n2: int) -> float:
    """Exact ``P(U >= u)`` of the Mann-Whitney statistic for samples of ``n1`` and ``n2`` values.

    Without ties; the same value as scipy's ``mannwhitneyu(method="exact")`` (which reads
    the lower tail through the symmetry ``P(U >= u) = P(U <= n1 n2 - u)``, as here).

    Reference: Mann, Whitney (1947); Andrews, "The Theory of Partitions" (1976), ch. 3 for the
    Gaussian binomial generating function.
    """
    m, n = min(n1, n2), max(n1, n2)
    total = float(special.binom(m + n, m))
    k = int(round(u))
    if k <= 0:
        return 1.0
    if k < m * n - k:
        below = _u_counts(m, n, k - 1)
        return float(np.clip(1.0 - below.sum() / total, 0.0, 1.0))
    return float(np.clip(_u_counts(m, n, m * n - k).sum() / total, 0.0, 1.0))


def cramer_von_mises_sf_evidently(u: float, m: int, n: int) -> float:
    """Evidently 0.7's "exact" p-value of the two-sample Cramer-von Mises U (Anderson's eq. 10).

    The algorithm of Xiao, Gordon, Yakovlev (2006), as in scipy 1.7, reproduced operation for
    operation so p-values equal Evidently's: its frequency table is stored in the smallest NumPy
    type holding ``max(lcm(m, n)**2 (m + n), C(m + n, m))``, a float16 or float32 whenever the
    binomial count is the larger (it is a float), so counts and statistic values round there.
    The p-value then differs from scipy's exact one (integer arithmetic) by up to a few percent.

    References: Anderson (1962), Annals of Math. Statistics 33(3); Xiao, Gordon, Yakovlev
    (2006), J. Stat. Software 17(8).
    """
    lcm = np.lcm(m, n)  # a NumPy integer, as in Evidently: it sets the arithmetic's types
    a, b = lcm // m, lcm // n
    mn = m * n
    zeta = lcm**2 * (m + n) * (6 * u - mn * (4 * mn - 1)) // (6 * mn**2)
    combinations = math.factorial(m + n) / (math.factorial(m) * math.factorial(n))
    dtype = np.min_scalar_type(max(lcm**2 * (m + n), combinations))
    # gs[v]: (statistic values, frequencies) of paths reaching (u, v), Xiao et al. eq. 11-13.
    gs = [np.array([[0], [1]], dtype=dtype)] + [np.empty((2, 0), dtype=dtype) for _ in range(m)]
    for step in range(n + 1):
        next_gs = []
        tmp = np.empty((2, 0), dtype=dtype)
        for v, g in enumerate(gs):
            vi, i0, i1 = np.intersect1d(tmp[0], g[0], return_indices=True)
            tmp = np.concatenate(
                [np.stack([vi, tmp[1, i0] + g[1, i1]]), np.delete(tmp, i0, 1), np.delete(g, i1, 1)],
                1,
            )
            # "unsafe" lets an integer table take the NumPy-integer increment, which Evidently's
            # in-place add refuses under NumPy 2 (UFuncTypeError); a float table is unaffected.
            np.add(tmp[0], (a * v - b * step) ** 2, out=tmp[0], casting="unsafe")
            next_gs.append(tmp)
        gs = next_gs
    value, freq = gs[m]
    return float(np.sum(freq[value >= zeta]) / combinations)
