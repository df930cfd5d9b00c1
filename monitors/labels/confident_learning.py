"""Confident learning: find rows whose given label is probably wrong.

Implemented in numpy from Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty
in Dataset Labels", JAIR 70 (2021), sections 3.1-3.2 (confident joint, calibration, prune by
noise rate). The defaults are chosen so the flagged set equals
``cleanlab.filter.find_label_issues(labels, pred_probs)`` with its defaults; the tests check
this. ``pred_probs`` must be out-of-sample (e.g. cross-validated) for the method to be sound.

>>> import numpy as np
>>> labels = np.array([0, 0, 0, 1, 1, 1])
>>> probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9],
...                   [0.2, 0.8], [0.3, 0.7], [0.1, 0.9]])
>>> find_label_issues(labels, probs).nonzero()[0].tolist()
[2]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from dqm.monitors.base import Finding, Metric
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.labels.matrix import complete_rows, row_argmax, row_sums, take_rows

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Probabilities within this distance are treated as equal (cleanlab uses the same tolerance).
_EPS = 1e-6
# Rows whose probabilities sum to 1 within this are used as given, not rescaled.
ROW_SUM_TOLERANCE = 1e-6
# A class without given labels gets a threshold no probability reaches.
_UNREACHABLE = 2.0


def _check(labels: IntArray, pred_probs: FloatArray) -> None:
    if pred_probs.ndim != 2 or pred_probs.shape[0] != labels.shape[0] or labels.size == 0:
        raise InvalidInputError("labels and pred_probs must be non-empty with matching rows")
    if labels.min() < 0 or labels.max() >= pred_probs.shape[1]:
        raise InvalidInputError("labels must be class indices 0..K-1")


def _by_column(pred_probs: FloatArray) -> FloatArray:
    """The matrix in Fortran order (copied once if it is not): the passes below read one class
    column at a time, which in row-major order would stride across every row's cache line."""
    return pred_probs if pred_probs.flags.f_contiguous else np.asfortranarray(pred_probs)


def confident_thresholds(labels: IntArray, pred_probs: FloatArray) -> FloatArray:
    """Per-class threshold t_k: the mean self-confidence of the rows labeled k.

    >>> confident_thresholds(np.array([0, 0, 1]), np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]]))
    array([0.7, 0.7])
    """
    k = pred_probs.shape[1]
    counts = np.bincount(labels, minlength=k)
    sums = np.bincount(labels, weights=pred_probs[np.arange(labels.size), labels], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(counts > 0, sums / np.maximum(counts, 1), _UNREACHABLE)
    return np.maximum(t, 2 * _EPS)


def _round_preserving_sums(values: FloatArray, axis: int) -> IntArray:
    """Round to integers so that each slice along ``axis`` keeps its (rounded) sum."""
    moved = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    out = np.rint(moved)
    for idx in np.ndindex(moved.shape[:-1]):
        floats, ints = moved[idx], out[idx]
        short = int(np.rint(floats.sum()) - ints.sum())
        if short:
            # Move the units where rounding lost (or gained) the most. Ties go the way numpy's
            # default argsort puts them, as in cleanlab, so that both flag the same rows.
            order = np.argsort(floats - ints)
            pick = order[::-1][:short] if short > 0 else order[:-short]
            ints[pick] += np.sign(short)
    return np.moveaxis(out, -1, axis).astype(np.int64)


def confident_joint(labels: IntArray, pred_probs: FloatArray, calibrate: bool = True) -> IntArray:
    """Counts C[i, j] of rows with given label i whose true label is confidently j.

    A row counts for class j when p_j >= t_j; with several such classes it goes to the argmax
    of p (as cleanlab does; the paper takes the argmax over the confident classes only, which
    differs only for rows whose overall argmax is below its own threshold). Diagonal entries are
    at least 1. ``calibrate`` rescales rows to the given-label counts and the total to n
    (eq. 3 of the paper), then rounds preserving row totals.

    >>> confident_joint(np.array([0, 0, 1, 1]),
    ...                 np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.1, 0.9]])).tolist()
    [[1, 1], [0, 2]]
    """
    _check(labels, pred_probs)
    pred_probs = _by_column(pred_probs)
    k = pred_probs.shape[1]
    thresholds = confident_thresholds(labels, pred_probs) - _EPS
    # One pass per class column: how many classes are confident, and the last of them (the
    # only one where there is one); the argmax is needed only for rows with several.
    n_confident: npt.NDArray[np.integer[Any]]
    n_confident = np.zeros(labels.size, dtype=np.int8 if k < 127 else np.int64)
    guess = np.zeros(labels.size, dtype=np.int64)
    confident = np.empty(labels.size, dtype=bool)
    for c in range(k):
        np.greater_equal(pred_probs[:, c], thresholds[c], out=confident)
        np.add(n_confident, confident, out=n_confident)
        np.copyto(guess, c, where=confident)
    several = np.flatnonzero(n_confident > 1)
    guess[several] = row_argmax(take_rows(pred_probs, several))
    keep = n_confident > 0
    joint = np.bincount(labels[keep] * k + guess[keep], minlength=k * k).reshape(k, k)
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    if not calibrate:
        return joint.astype(np.int64)
    # Column-major, as cleanlab's joint (a transposed confusion matrix): the total of the
    # rescaled joint is then summed in the same order, so rounding ties break the same way.
    return calibrate_joint(np.asfortranarray(joint), np.bincount(labels, minlength=k))


def calibrate_joint(joint: IntArray, label_counts: IntArray) -> IntArray:
    """Rescale a confident joint so row i sums to the count of label i (paper, eq. 3).

    >>> calibrate_joint(np.array([[3, 1], [0, 4]]), np.array([8, 2])).tolist()
    [[6, 2], [0, 2]]
    """
    rows = np.maximum(joint.sum(axis=1), 1e-100)
    scaled = joint / rows[:, None] * label_counts[:, None]
    scaled = scaled / max(float(scaled.sum()), 1e-100) * float(label_counts.sum())
    return _round_preserving_sums(scaled, axis=1)


def _prune_counts(joint: IntArray) -> IntArray:
    """Per given label, how many rows to flag for each true label; keeps >= 1 row per class."""
    counts = joint.astype(np.float64)
    diag = counts.diagonal().copy()
    raised = np.maximum(diag, 1.0) - diag
    # Spread the raise of a diagonal entry evenly over the row's nonzero noise entries.
    n_noise = np.maximum(np.count_nonzero(counts, axis=1) - 1.0, 1.0)
    counts = np.maximum(counts - (raised / n_noise)[:, None], 0.0)
    np.fill_diagonal(counts, diag + raised)
    return _round_preserving_sums(counts, axis=0)


def find_label_issues(labels: IntArray, pred_probs: FloatArray) -> BoolArray:
    """Mask of rows flagged by confident learning, "prune by noise rate" (paper, sec. 3.2).

    For given label i and true label j != i, flag the C[i, j] rows labeled i with the largest
    margin p_j - p_i, C being the calibrated confident joint; then unflag rows whose given
    label is (within 1e-6) the model's top class. A class with a single row is never pruned.
    """
    pred_probs = _by_column(pred_probs)
    joint = confident_joint(labels, pred_probs)
    prune = _prune_counts(joint)
    flagged = np.zeros(labels.size, dtype=bool)
    for i in range(pred_probs.shape[1]):
        rows = np.flatnonzero(labels == i)
        if rows.size <= 1:
            continue
        given = np.take(pred_probs[:, i], rows)
        margin = np.empty_like(given)
        for j in np.flatnonzero(prune[i]):
            if j == i:
                continue
            np.take(pred_probs[:, j], rows, out=margin)
            margin -= given
            flagged[rows[_largest(margin, int(prune[i, j]))]] = True
    hits = np.flatnonzero(flagged)
    bumped = take_rows(pred_probs, hits)
    bumped[np.arange(hits.size), labels[hits]] += _EPS
    flagged[hits[row_argmax(bumped) == labels[hits]]] = False
    return flagged


def _largest(values: FloatArray, count: int) -> IntArray:
    """Positions of the ``count`` largest values: ``np.argsort(-values)[:count]`` as a set.

    A partition finds the count-th largest value; unless it ties with a value left out (then
    which tied rows are taken depends on argsort, which decides as before), the set is the
    values at least that large.
    """
    if count >= values.size:
        return np.arange(values.size)
    negated = -values
    kth = np.partition(negated, count - 1)[count - 1]
    chosen = np.flatnonzero(negated <= kth)
    if chosen.size == count:
        return chosen
    return np.argsort(negated)[:count]


def _smallest(values: FloatArray, count: int) -> IntArray:
    """``np.argsort(values, kind="stable")[:count]``, partitioning instead of sorting all.

    >>> _smallest(np.array([0.5, 0.1, 0.5, 0.3, 0.5]), 3).tolist()
    [1, 3, 0]
    """
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    if count >= values.size:
        return np.argsort(values, kind="stable")
    kth = np.partition(values, count - 1)[count - 1]
    if np.isnan(kth):
        return np.argsort(values, kind="stable")[:count]
    below = np.flatnonzero(values < kth)
    tied = np.flatnonzero(values == kth)[: count - below.size]
    chosen = np.sort(np.concatenate([below, tied]))
    return chosen[np.argsort(values[chosen], kind="stable")]


def as_distributions(probs: FloatArray) -> FloatArray:
    """Rows rescaled to sum to 1 where they are off by more than ``ROW_SUM_TOLERANCE``.

    Rows already summing to 1 up to rounding stay as given, as cleanlab reads them: dividing by
    a sum that is 1 up to a few ulps moves probabilities by an ulp, enough to reorder tied
    margins and flag other rows. Rows summing to 0 become uniform.

    >>> as_distributions(np.array([[0.1, 0.2, 0.7], [2.0, 2.0, 4.0], [0.0, 0.0, 0.0]]))[:2].tolist()
    [[0.1, 0.2, 0.7], [0.25, 0.25, 0.5]]
    """
    totals = row_sums(probs)
    positive = totals > 0
    scaled = np.flatnonzero((np.abs(totals - 1.0) > ROW_SUM_TOLERANCE) & positive)
    if scaled.size == 0 and positive.all():
        return probs
    out = np.array(probs, order="K")
    out[scaled] = probs[scaled] / totals[scaled, None]
    out[~positive] = 1.0 / probs.shape[1]
    return out


def self_confidence(labels: IntArray, pred_probs: FloatArray) -> FloatArray:
    """The predicted probability of each row's given label (low = suspicious).

    >>> self_confidence(np.array([1, 0]), np.array([[0.3, 0.7], [0.4, 0.6]])).tolist()
    [0.7, 0.4]
    """
    return np.asarray(pred_probs[np.arange(labels.size), labels], dtype=np.float64)


def normalized_margin(labels: IntArray, pred_probs: FloatArray) -> FloatArray:
    """(p_given - max_{k != given} p_k + 1) / 2, in [0, 1] (low = suspicious).

    >>> normalized_margin(np.array([1, 0]), np.array([[0.3, 0.7], [0.4, 0.6]])).round(2).tolist()
    [0.7, 0.4]
    """
    given = self_confidence(labels, pred_probs)
    others = pred_probs.copy()
    others[np.arange(labels.size), labels] = -np.inf
    return np.asarray((given - others.max(axis=1) + 1.0) / 2.0, dtype=np.float64)


def suggested_labels(pred_probs: FloatArray) -> IntArray:
    """The class each row most likely belongs to (argmax of the predicted probabilities)."""
    return np.asarray(pred_probs.argmax(axis=1), dtype=np.int64)


def label_issue_metrics(
    all_labels: IntArray,
    all_probs: FloatArray,
    row_ids: npt.NDArray[np.object_] | Callable[[IntArray], list[str]],
    classes: list[str],
    target: str,
    max_findings: int,
) -> tuple[list[Metric], list[Finding]]:
    """``label_issue_share``, ``label_health_score`` and the most suspicious flagged rows.

    Uses rows with a label (>= 0) and all probabilities (see :func:`as_distributions`).
    ``label_health_score`` is ``1 - label_issue_share`` (cleanlab's overall health score instead
    counts the off-diagonal mass of the calibrated joint; that is an estimate of the noise, not
    of the flagged rows). Findings are scored ``1 - self_confidence`` (higher = more suspicious),
    most suspicious first, at most ``max_findings``.

    Parameters
    ----------
    all_labels
        Class index of each row's label, -1 where unlabeled.
    all_probs
        ``(n, K)`` predicted probabilities, column k for ``classes[k]``; NaN where missing.
    row_ids
        Each row's id, for the findings; or a function giving the ids of rows by position.
    classes
        Class names, by index.
    target
        The target column's name, for the findings.
    max_findings
        Most findings returned.
    """
    rows = np.flatnonzero((all_labels >= 0) & complete_rows(all_probs))
    if rows.size < 2 or len(classes) < 2:
        reason = "skipped: fewer than 2 labeled rows with probabilities"
        names = ("label_issue_share", "label_health_score")
        return [Metric(name=n, value=None, status=reason) for n in names], []
    probs = as_distributions(take_rows(all_probs, rows))
    labels = all_labels[rows]
    flagged = find_label_issues(labels, probs)
    share = float(flagged.mean())
    details = {"labeled_rows": int(rows.size), "flagged_rows": int(flagged.sum())}
    metrics = [
        Metric(name="label_issue_share", value=share, method="confident_learning", details=details),
        Metric(name="label_health_score", value=1.0 - share, method="confident_learning"),
    ]
    hits = np.flatnonzero(flagged)
    conf = self_confidence(labels[hits], take_rows(probs, hits))
    top = _smallest(conf, max_findings)
    hits, conf = hits[top], conf[top]
    # The rest is needed for the reported rows only.
    top_probs = take_rows(probs, hits)
    margin = normalized_margin(labels[hits], top_probs)
    suggested = suggested_labels(top_probs)
    ids = row_ids(rows[hits]) if callable(row_ids) else [str(row_ids[r]) for r in rows[hits]]
    findings = [
        Finding(
            row_id=ids[n],
            score=float(1.0 - conf[n]),
            reason="label_issue",
            column=target,
            details={
                "given_label": classes[labels[i]],
                "suggested_label": classes[suggested[n]],
                "self_confidence": float(conf[n]),
                "normalized_margin": float(margin[n]),
            },
        )
        for n, i in enumerate(hits)
    ]
    return metrics, findings
