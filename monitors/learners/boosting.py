"""Gradient-boosted regression stumps (squared loss): a small numpy stand-in for LightGBM.

Each round fits one split ``x[:, f] <= t`` to the residuals and adds the two leaf means,
shrunk by the learning rate, to the prediction (Friedman 2001, with depth-1 trees). Split
candidates are the midpoints between consecutive distinct values of a feature, or between
its quantiles when it has more than ``max_bins`` distinct values. The model is additive in
the features: it captures how the target varies along each feature, not interactions.

>>> import numpy as np
>>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> model = fit_boosted_stumps(x, np.array([1.0, 1.0, 5.0, 5.0]), rounds=50, min_leaf=1)
>>> np.round(model.predict(np.array([[0.5], [2.5]])), 2).tolist()
[1.01, 4.99]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray


@dataclass(frozen=True)
class BoostedStumps:
    """``base + Σ (left_i if x[:, feature_i] <= threshold_i else right_i)``."""

    base: float
    features: IntArray
    thresholds: FloatArray
    left: FloatArray
    right: FloatArray

    def predict(self, x: FloatArray) -> FloatArray:
        """The model at the rows of ``x`` (same columns as in the fit)."""
        goes_left = x[:, self.features] <= self.thresholds
        return np.asarray(self.base + np.where(goes_left, self.left, self.right).sum(axis=1))


def split_candidates(values: FloatArray, max_bins: int) -> FloatArray:
    """Midpoints between consecutive distinct values (of quantiles when there are many)."""
    distinct = np.unique(values)
    if distinct.size > max_bins:
        distinct = np.unique(np.quantile(values, np.linspace(0.0, 1.0, max_bins + 1)))
    return np.asarray((distinct[1:] + distinct[:-1]) / 2.0, dtype=np.float64)


@dataclass(frozen=True)
class _Split:
    gain: float
    feature: int
    threshold: float
    left: float
    right: float


def _best_split(
    bins: IntArray,
    candidates: list[FloatArray],
    counts: list[FloatArray],
    residual: FloatArray,
    min_leaf: int,
) -> _Split | None:
    """The split that most reduces the squared error of the residuals (None: no valid split)."""
    n, total = residual.size, float(residual.sum())
    best: _Split | None = None
    for f, cands in enumerate(candidates):
        if cands.size == 0:
            continue
        left_sum = np.cumsum(np.bincount(bins[:, f], weights=residual, minlength=cands.size + 1))
        left_n = counts[f]
        s_l, n_l = left_sum[:-1], left_n[:-1]
        n_r, s_r = n - n_l, total - s_l
        valid = (n_l >= min_leaf) & (n_r >= min_leaf)
        if not valid.any():
            continue
        safe_l, safe_r = np.where(valid, n_l, 1.0), np.where(valid, n_r, 1.0)
        gain = np.where(valid, s_l**2 / safe_l + s_r**2 / safe_r, -np.inf)
        j = int(np.argmax(gain))
        if best is None or gain[j] > best.gain:
            best = _Split(float(gain[j]), f, float(cands[j]), s_l[j] / n_l[j], s_r[j] / n_r[j])
    return best


def fit_boosted_stumps(
    x: FloatArray,
    y: FloatArray,
    rounds: int = 200,
    learning_rate: float = 0.1,
    min_leaf: int = 20,
    max_bins: int = 64,
) -> BoostedStumps:
    """Fit ``rounds`` stumps to ``y`` by gradient boosting on the squared loss.

    Parameters
    ----------
    x, y
        ``(n, d)`` complete features (no NaN) and the target.
    rounds, learning_rate
        Number of stumps and the shrinkage of each one's leaf values.
    min_leaf
        Fewest rows on either side of a split.
    max_bins
        Most split candidates per feature.
    """
    candidates = [split_candidates(x[:, f], max_bins) for f in range(x.shape[1])]
    bins = np.column_stack(
        [np.searchsorted(c, x[:, f], side="left") for f, c in enumerate(candidates)]
    ).astype(np.int64)
    counts = [
        np.cumsum(np.bincount(bins[:, f], minlength=c.size + 1)).astype(np.float64)
        for f, c in enumerate(candidates)
    ]
    base = float(y.mean())
    prediction = np.full(y.size, base)
    splits: list[_Split] = []
    for _ in range(rounds):
        split = _best_split(bins, candidates, counts, y - prediction, min_leaf)
        if split is None:
            break
        splits.append(split)
        goes_left = x[:, split.feature] <= split.threshold
        prediction += learning_rate * np.where(goes_left, split.left, split.right)
    return BoostedStumps(
        base,
        np.array([s.feature for s in splits], dtype=np.int64),
        np.array([s.threshold for s in splits], dtype=np.float64),
        learning_rate * np.array([s.left for s in splits], dtype=np.float64),
        learning_rate * np.array([s.right for s in splits], dtype=np.float64),
    )
