"""Multiple-testing corrections of p-values across the columns (or components) of one run.

>>> adjust_p_values([0.01, 0.04, 0.03], "bh").round(4).tolist()
[0.03, 0.04, 0.04]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from dqm.monitors.columns import FloatArray


def adjust_p_values(p_values: Sequence[float], method: str) -> FloatArray:
    """Family-wise (``"bonferroni"``) or false-discovery-rate (``"bh"``) adjusted p-values.

    ``"bonferroni"`` multiplies by the number of p-values, capped at 1. ``"bh"`` is the
    Benjamini-Hochberg step-up procedure ``min_{j >= i} m p_(j) / j``, capped at 1, in the
    original order, as ``scipy.stats.false_discovery_control`` computes it.

    Reference: Benjamini, Hochberg (1995), "Controlling the false discovery rate".

    >>> adjust_p_values([0.01, 0.04, 0.03], "bonferroni").round(4).tolist()
    [0.03, 0.12, 0.09]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if method == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    if method != "bh":
        raise ValueError(f"unknown multiple-testing method {method!r}")
    if p.size == 0:
        return p
    return np.asarray(sps.false_discovery_control(p), dtype=np.float64)
