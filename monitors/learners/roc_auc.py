"""Binary ROC AUC: the probability that a positive scores above a negative, ties counting half.

Labels come first, then scores, as in ``sklearn.metrics.roc_auc_score``. With only one class
present the AUC is undefined and the result is NaN (scikit-learn raises instead); callers
skip or report such cases, since 0.5 would read as "indistinguishable".

>>> import numpy as np
>>> binary_roc_auc(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8]))
0.75
>>> binary_roc_auc(np.array([True, True]), np.array([0.1, 0.4]))
nan
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dqm.monitors.columns import FloatArray


def binary_roc_auc(positive: npt.NDArray[np.bool_], scores: FloatArray) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic of the positives' scores.

    Parameters
    ----------
    positive
        True for rows of the positive class.
    scores
        Higher means more likely positive; a tied negative counts half.

    Returns NaN when ``positive`` is all True or all False.

    Reference: Hanley, McNeil (1982), "The meaning and use of the area under a ROC curve".
    """
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # U counts, per positive, the negatives scored below it plus half the tied ones: two
    # binary searches into the sorted negatives (exact integer counts) instead of ranking
    # every row. The positives are sorted too: consecutive searches then touch neighbouring
    # memory, several times faster than random probes into a large array.
    negatives = np.sort(scores[~positive])
    positives = np.sort(scores[positive])
    below = np.searchsorted(negatives, positives, side="left").sum(dtype=np.int64)
    not_above = np.searchsorted(negatives, positives, side="right").sum(dtype=np.int64)
    u = (int(below) + int(not_above)) / 2
    return u / (n_pos * n_neg)
