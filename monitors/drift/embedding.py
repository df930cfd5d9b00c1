"""Embedding drift beside the domain classifier: mean-vector distance and drifted components.

Both read the (n, d) vector matrices once more, column by column, so memory stays linear in
the window (one extra component at a time), never quadratic.

>>> ref = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
>>> mean_distance(ref, ref + np.array([1.0, 0.0]))  # |(1, 0)| / sqrt(1 + 1)
0.7071067811865475
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from dqm.monitors.base import Metric
from dqm.monitors.columns import FloatArray
from dqm.monitors.stats.hypothesis_tests import ks_2samp_sorted
from dqm.monitors.stats.multiple_testing import adjust_p_values

COMPONENT_THRESHOLD = 0.05  # KS p-value at or below which a component has drifted, as ``ks``


def mean_distance(ref: FloatArray, cur: FloatArray) -> float:
    """Euclidean distance of the mean vectors over the reference's spread.

    The spread is ``sqrt(trace(cov(ref)))`` (population covariance), the root mean squared
    distance of reference vectors from their mean, floored at 0.001 like normed Wasserstein:
    the score does not change when all vectors are scaled, and 1.0 means the mean moved by a
    typical reference vector's distance from the centre.

    >>> mean_distance(np.array([[1.0], [3.0]]), np.array([[4.0], [6.0]]))  # 3 / 1
    3.0
    """
    ref_mean = ref.mean(axis=0)
    spread = math.sqrt(float(np.sum(ref.var(axis=0))))
    return float(np.linalg.norm(cur.mean(axis=0) - ref_mean)) / max(spread, 0.001)


def component_p_values(ref: FloatArray, cur: FloatArray) -> FloatArray:
    """Two-sided KS p-value of each component (column), NaN values left out.

    >>> ref = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]])
    >>> component_p_values(ref, ref).tolist()
    [1.0, 1.0]
    """
    out = np.empty(ref.shape[1])
    for j in range(ref.shape[1]):
        a, b = np.sort(ref[:, j]), np.sort(cur[:, j])
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        out[j] = ks_2samp_sorted(a, b)[1] if a.size and b.size else np.nan
    return out


def drifted_components(
    p_values: FloatArray, correction: Literal["none", "bonferroni", "bh"] = "none"
) -> tuple[float, int]:
    """Share and number of components whose (adjusted) p-value is at most 0.05.

    >>> drifted_components(np.array([0.01, 0.04, 0.5, 0.9]))
    (0.5, 2)
    >>> drifted_components(np.array([0.01, 0.04, 0.5, 0.9]), "bonferroni")
    (0.25, 1)
    """
    tested = p_values[~np.isnan(p_values)]
    if tested.size == 0:
        return math.nan, 0
    adjusted = tested if correction == "none" else adjust_p_values(list(tested), correction)
    n = int(np.sum(adjusted <= COMPONENT_THRESHOLD))
    return n / tested.size, n


def embedding_metrics(
    column: str,
    ref: FloatArray,
    cur: FloatArray,
    correction: Literal["none", "bonferroni", "bh"],
) -> list[Metric]:
    """``embedding_mean_distance`` and ``embedding_drifted_components_share`` of one column.

    Parameters
    ----------
    column
        The embedding column's name, for the metrics.
    ref, cur
        Its vectors in the reference and the window, ``(n, d)`` arrays of the same ``d``.
    correction
        Multiple-testing correction of the per-component KS p-values.
    """
    share, n_drifted = drifted_components(component_p_values(ref, cur), correction)
    details = {
        "components": ref.shape[1],
        "number_drifted_components": n_drifted,
        "component_method": "ks",
        "component_threshold": COMPONENT_THRESHOLD,
        "multiple_testing": correction,
    }
    return [
        Metric(
            "embedding_mean_distance",
            mean_distance(ref, cur),
            column=column,
            method="mean_distance",
            details={"normalized_by": "sqrt(trace(reference covariance))"},
        ),
        Metric(
            "embedding_drifted_components_share",
            None if math.isnan(share) else share,
            column=column,
            method="ks",
            status="skipped: no component has values" if math.isnan(share) else "ok",
            details=details,
        ),
    ]
