"""Binary ROC AUC against sklearn.metrics.roc_auc_score, and its value on a single class."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dqm.monitors.learners.roc_auc import binary_roc_auc


@pytest.mark.parametrize("seed", [0, 1])
def test_roc_auc_matches_sklearn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.normal(labels * 0.5, 1, 500), 1)
    got = binary_roc_auc(labels == 1, scores)
    assert got == pytest.approx(roc_auc_score(labels, scores), rel=1e-12)


def test_roc_auc_by_hand() -> None:
    # Pairs (positive, negative): (0.35, 0.1) win, (0.35, 0.4) lose, (0.8, *) win, and the
    # tie (0.4, 0.4) counts half: (1 + 0 + 1 + 1 + 0.5 + 1) / 6.
    positive = np.array([False, False, True, True, True])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.4])
    assert binary_roc_auc(positive, scores) == pytest.approx(4.5 / 6)


@pytest.mark.parametrize("positive", [[True, True, True], [False, False, False]])
def test_roc_auc_is_nan_with_one_class(positive: list[bool]) -> None:
    assert math.isnan(binary_roc_auc(np.array(positive), np.array([0.2, 0.5, 0.9])))
