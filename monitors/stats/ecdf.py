"""Empirical distribution functions of two sorted samples over their merged support.

Shared by the tests and distances that integrate or maximize ``F_ref - F_cur``
(Kolmogorov-Smirnov, Wasserstein, energy distance).
"""

from __future__ import annotations

import numpy as np

from dqm.monitors.columns import FloatArray


def merged_cdf_gap(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Merged sorted sample and ``F_ref - F_cur`` after each of its positions.

    A stable argsort of two concatenated sorted runs is a linear merge (timsort), so this
    replaces two binary searches of every value. Ties keep reference values first.

    >>> merged, gap = merged_cdf_gap(np.array([1.0, 3.0]), np.array([2.0]))
    >>> merged.tolist(), gap.tolist()
    ([1.0, 2.0, 3.0], [0.5, -0.5, 0.0])
    """
    both = np.concatenate([ref, cur])
    order = np.argsort(both, kind="stable")
    # In place: these arrays are as long as both windows together.
    ref_seen = np.cumsum(order < ref.size, dtype=np.float64)
    cur_seen = np.arange(1.0, both.size + 1.0)
    cur_seen -= ref_seen
    ref_seen /= ref.size
    cur_seen /= cur.size
    ref_seen -= cur_seen
    return both[order], ref_seen
