"""Model performance: realized metrics on labeled rows, and CBPE estimates without labels.

Classification labels are class indices ``0..K-1``; ``probs`` has one column per class.
Macro averages run over the classes present in the true or predicted labels (as
``sklearn.metrics`` does); a class that is never predicted has precision 0.

>>> import numpy as np
>>> y, pred = np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])
>>> accuracy(y, pred), round(f1_macro(y, pred), 4)
(0.75, 0.7778)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dqm.monitors.base import Metric
from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.labels.matrix import Ranked, complete_rows, per_class, row_sums
from dqm.monitors.learners.isotonic import IsotonicFit, isotonic_fit
from dqm.monitors.learners.roc_auc import binary_roc_auc


def accuracy(y_true: IntArray, y_pred: IntArray) -> float:
    """Share of rows whose prediction equals the label."""
    return float(np.mean(y_true == y_pred))


def _per_class_counts(y_true: IntArray, y_pred: IntArray) -> tuple[FloatArray, ...]:
    k = int(max(y_true.max(), y_pred.max())) + 1
    present = (np.bincount(y_true, minlength=k) + np.bincount(y_pred, minlength=k)) > 0
    tp = np.bincount(y_true[y_true == y_pred], minlength=k)[present].astype(np.float64)
    n_pred = np.bincount(y_pred, minlength=k)[present].astype(np.float64)
    n_true = np.bincount(y_true, minlength=k)[present].astype(np.float64)
    return tp, n_pred, n_true


def _safe_ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def precision_macro(y_true: IntArray, y_pred: IntArray) -> float:
    """Unweighted mean over classes of TP / predicted (0 for a never-predicted class)."""
    tp, n_pred, _ = _per_class_counts(y_true, y_pred)
    return float(_safe_ratio(tp, n_pred).mean())


def recall_macro(y_true: IntArray, y_pred: IntArray) -> float:
    """Unweighted mean over classes of TP / actual."""
    tp, _, n_true = _per_class_counts(y_true, y_pred)
    return float(_safe_ratio(tp, n_true).mean())


def f1_macro(y_true: IntArray, y_pred: IntArray) -> float:
    """Unweighted mean over classes of 2 TP / (predicted + actual)."""
    tp, n_pred, n_true = _per_class_counts(y_true, y_pred)
    return float(_safe_ratio(2 * tp, n_pred + n_true).mean())


def roc_auc(
    y_true: IntArray, probs: FloatArray, rows: npt.NDArray[np.bool_] | None = None
) -> float:
    """ROC AUC: binary on the second column when K = 2, else one-vs-rest macro average.

    Classes absent from ``y_true`` (AUC undefined) are left out of the average; NaN when no
    class has a defined AUC (see :func:`dqm.monitors.learners.roc_auc.binary_roc_auc`).
    ``rows``, when given, selects the rows of ``probs`` that ``y_true`` labels (one column is
    taken at a time).
    """

    def scores(k: int) -> FloatArray:
        return probs[:, k] if rows is None else probs[:, k][rows]

    if probs.shape[1] == 2:
        return binary_roc_auc(y_true == 1, scores(1))
    aucs = per_class(lambda k: binary_roc_auc(y_true == k, scores(k)), range(probs.shape[1]))
    defined = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(defined)) if defined else float("nan")


def ranked_roc_auc(labels: IntArray, ranks: Sequence[Ranked | None]) -> float | None:
    """:func:`roc_auc` of the rows with a label (>= 0) among ``labels``, from each probability
    column already ranked (``ranks[k]``: ``ranked(probs[:, k])`` over the same rows; column
    1 only when K = 2); None when a needed column has tied scores (use :func:`roc_auc`).

    Without ties each positive's Mann-Whitney count is the number of labeled negatives after
    it in the descending order, so the counts, and the AUC, are the same numbers.
    """
    k = len(ranks)
    columns = (1,) if k == 2 else range(k)
    needed = [ranks[c] for c in columns]
    if any(r is None or not bool(np.all(r.scores[:-1] > r.scores[1:])) for r in needed):
        return None
    codes = labels.astype(np.int8 if k < 127 else np.int64)

    def auc(c: int) -> float:
        rank = ranks[c]
        assert rank is not None
        given = np.take(codes, rank.order)
        positive = given == c
        negative = given >= 0
        negative &= ~positive
        n_pos, n_neg = int(np.count_nonzero(positive)), int(np.count_nonzero(negative))
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        # Negatives ranked at or above each positive; the rest are scored below it.
        above = np.cumsum(negative, dtype=np.int64)
        below = n_pos * n_neg - int(np.sum(above, where=positive))
        return (below + below) / 2 / (n_pos * n_neg)

    if k == 2:
        return auc(1)
    aucs = per_class(auc, columns)
    defined = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(defined)) if defined else float("nan")


def mae(y_true: FloatArray, y_pred: FloatArray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(y_true - y_pred)))


def rmse(y_true: FloatArray, y_pred: FloatArray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def fit_calibration(ref_labels: IntArray, ref_probs: FloatArray) -> tuple[IsotonicFit, ...]:
    """One-vs-rest isotonic maps fitted on a labeled reference (see
    :func:`calibrate_probabilities`): one map for K = 2 (column 1), else one per column."""
    k = ref_probs.shape[1]
    columns = (1,) if k == 2 else range(k)
    return tuple(
        isotonic_fit(ref_probs[:, c], (ref_labels == c).astype(np.float64)) for c in columns
    )


def apply_calibration(
    maps: tuple[IsotonicFit, ...],
    probs: FloatArray,
    ranks: Sequence[Ranked | None] | None = None,
) -> FloatArray:
    """Calibrated ``probs`` from the maps of :func:`fit_calibration` (Fortran order when
    K > 2: one column per class).

    ``ranks[c]``, when given, is column ``c`` sorted (:func:`~dqm.monitors.labels.matrix.ranked`,
    which CBPE's ROC AUC needs anyway): the map is then evaluated on the sorted values, where
    interpolation finds each knot next to the previous one, and scattered back; the values are
    the same.
    """
    k = probs.shape[1]
    if k == 2:
        p1 = np.empty(probs.shape[0])
        _predict(maps[0], probs[:, 1], ranks[1] if ranks else None, p1)
        return np.column_stack([1.0 - p1, p1])
    cal = np.empty(probs.shape, order="F")

    def calibrate(c: int) -> None:
        _predict(maps[c], probs[:, c], ranks[c] if ranks else None, cal[:, c])

    per_class(calibrate, range(k))
    total = row_sums(cal)
    positive = total > 0
    cal /= np.where(positive, total, 1.0)[:, None]
    if not positive.all():
        cal[~positive] = 1.0 / k
    return cal


def _predict(fit: IsotonicFit, values: FloatArray, rank: Ranked | None, out: FloatArray) -> None:
    if rank is None:
        out[:] = fit.predict(values)
    else:
        out[rank.order] = fit.predict(rank.scores)


def calibrate_probabilities(
    ref_labels: IntArray, ref_probs: FloatArray, probs: FloatArray
) -> FloatArray:
    """Calibrate ``probs`` one-vs-rest with isotonic maps fitted on a labeled reference.

    Binary (K = 2): column 1 is calibrated and column 0 is its complement. K > 2: each column
    is calibrated against ``label == k`` and rows are renormalized to sum to 1 (uniform when a
    row calibrates to all zeros), as NannyML's multiclass CBPE does.
    """
    return apply_calibration(fit_calibration(ref_labels, ref_probs), probs)


def cbpe_accuracy(
    ref_labels: IntArray, ref_probs: FloatArray, probs: FloatArray, predicted: IntArray
) -> float:
    """Confidence-based performance estimation (NannyML's CBPE) of accuracy, without labels.

    The expected accuracy is the mean calibrated probability of the predicted class. CBPE
    assumes no concept drift: P(y | x) must be the same as on the reference. It only sees
    covariate shift; a change in the relation between inputs and labels is invisible to it.

    >>> ref_y = np.array([0, 0, 1, 1])
    >>> ref_p = np.array([[0.9, 0.1], [0.6, 0.4], [0.4, 0.6], [0.1, 0.9]])
    >>> cbpe_accuracy(ref_y, ref_p, np.array([[0.2, 0.8], [0.8, 0.2]]), np.array([1, 0]))
    1.0
    """
    cal = calibrate_probabilities(ref_labels, ref_probs, probs)
    return float(cal[np.arange(predicted.size), predicted].mean())


def classification_metrics(
    labels: IntArray,
    predicted: IntArray,
    probs: FloatArray | None,
    ranked: tuple[npt.NDArray[np.bool_], Sequence[Ranked | None]] | None = None,
) -> dict[str, float]:
    """Realized metrics on rows with a label (>= 0); NaN where nothing can be computed.

    ``accuracy`` and the macro scores use rows that also have a prediction; ``roc_auc`` uses
    rows whose probabilities are all present. ``ranked``, when given, is a set of rows with
    all probabilities and each probability column ranked over them (CBPE's): the ROC AUC is
    then read from those rankings when they hold every labeled row (:func:`ranked_roc_auc`).
    """
    nan = float("nan")
    out = dict.fromkeys(("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc"), nan)
    both = (labels >= 0) & (predicted >= 0)
    if both.any():
        y, p = labels[both], predicted[both]
        # The per-class counts once for the three macro scores (the same arithmetic as
        # precision_macro, recall_macro and f1_macro).
        tp, n_pred, n_true = _per_class_counts(y, p)
        out.update(
            accuracy=accuracy(y, p),
            precision_macro=float(_safe_ratio(tp, n_pred).mean()),
            recall_macro=float(_safe_ratio(tp, n_true).mean()),
            f1_macro=float(_safe_ratio(2 * tp, n_pred + n_true).mean()),
        )
    if probs is not None:
        rows = (labels >= 0) & complete_rows(probs)
        if rows.any():
            auc = None
            if ranked is not None and not bool(np.any(rows & ~ranked[0])):
                auc = ranked_roc_auc(labels[ranked[0]], ranked[1])
            out["roc_auc"] = roc_auc(labels[rows], probs, rows) if auc is None else auc
    return out


def regression_metrics(y_true: FloatArray, y_pred: FloatArray) -> dict[str, float]:
    """``mae`` and ``rmse`` on rows where both values are present (NaN when there are none)."""
    rows = ~(np.isnan(y_true) | np.isnan(y_pred))
    if not rows.any():
        return {"mae": float("nan"), "rmse": float("nan")}
    return {"mae": mae(y_true[rows], y_pred[rows]), "rmse": rmse(y_true[rows], y_pred[rows])}


def estimated_accuracy(
    ref_labels: IntArray, ref_probs: FloatArray, probs: FloatArray, predicted: IntArray
) -> float:
    """CBPE accuracy over rows with a prediction and all probabilities (see :func:`cbpe_accuracy`).

    The calibrators are fitted on reference rows with a label and all probabilities; NaN when
    either side has no usable rows.

    Parameters
    ----------
    ref_labels, ref_probs
        The reference's class indexes (-1: unlabeled) and ``(n, K)`` probabilities.
    probs, predicted
        The window's ``(m, K)`` probabilities and predicted class indexes (-1: none).
    """
    ref_rows = (ref_labels >= 0) & ~np.isnan(ref_probs).any(axis=1)
    rows = (predicted >= 0) & ~np.isnan(probs).any(axis=1)
    if not ref_rows.any() or not rows.any():
        return float("nan")
    return cbpe_accuracy(ref_labels[ref_rows], ref_probs[ref_rows], probs[rows], predicted[rows])


def compare_metrics(
    names: tuple[str, ...], current: dict[str, float], reference: dict[str, float]
) -> list[Metric]:
    """One metric per name with the current value; details hold the reference value and the
    difference (current - reference). NaN current values become skipped metrics."""
    out = []
    for name in names:
        value, base = current.get(name, float("nan")), reference.get(name, float("nan"))
        if np.isnan(value):
            out.append(Metric(name=name, value=None, status="skipped: no labeled rows"))
            continue
        known = not np.isnan(base)
        details = {
            "reference": base if known else None,
            "difference": value - base if known else None,
        }
        out.append(Metric(name=name, value=value, details=details))
    return out
