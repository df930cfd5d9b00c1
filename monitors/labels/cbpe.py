"""CBPE beyond accuracy: estimated precision, recall, F1 and ROC AUC with sampling-error bands.

The definitions are NannyML 0.13's (``CBPE``). With calibrated probabilities ``q`` of the
positive class, each row contributes an expected confusion matrix: a predicted positive adds
``q`` true positives and ``1 - q`` false positives, a predicted negative adds ``q`` false
negatives. Precision, recall and F1 are ratios of the summed expectations. ROC AUC walks the
rows from the highest raw score down, counting ``q`` as an expected positive and ``1 - q``
as an expected negative, and integrates the expected ROC curve by trapezoids. Multiclass
scores are the unweighted mean of the one-vs-rest binary estimates.

Bands are NannyML's: ``estimate ± 3 × SE`` clipped to [0, 1], where ``SE`` is the spread of an
observation-level version of the metric on the labeled reference divided by the square root
of the number of window rows that metric counts (``n × the reference share of relevant
rows``). Multiclass SEs combine the classes' variances, ``sqrt(Σ var_c / (n f_c)) / K``, and
ROC AUC's is multiplied by 1.2, as NannyML does.

>>> import numpy as np
>>> q, pred = np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 1, 0, 0])
>>> [round(v, 4) for v in binary_estimates(pred, q, q).values()]
[0.85, 0.8095, 0.8293, 0.8634]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dqm.monitors.columns import FloatArray, IntArray
from dqm.monitors.labels.matrix import Ranked, per_class, ranked

METRICS = ("precision", "recall", "f1", "roc_auc")
# NannyML's SAMPLING_ERROR_RANGE: bands are the estimate ± 3 standard errors.
BAND_WIDTH = 3.0
# NannyML inflates the multiclass ROC AUC standard error by this factor.
MULTICLASS_AUC_SE_FACTOR = 1.2

BoolArray = npt.NDArray[np.bool_]


def _ratio(num: float, den: float) -> float:
    return num / den if den != 0 else 0.0


def binary_estimates(
    predicted_positive: IntArray | BoolArray,
    calibrated: FloatArray,
    raw: FloatArray,
    rank: Ranked | None = None,
) -> dict[str, float]:
    """Expected precision, recall, F1 and ROC AUC of one positive class.

    Parameters
    ----------
    predicted_positive
        1 (True) where the model predicts the positive class.
    calibrated
        Calibrated probability of the positive class.
    raw
        The model's own score of the positive class; only its order matters (ROC AUC).
    rank
        ``ranked(raw)``, when the caller has it already.
    """
    pos = np.asarray(predicted_positive, dtype=bool)
    # np.compress keeps the same values in the same order as boolean indexing, faster.
    hits = np.compress(pos, calibrated)
    tp = float(hits.sum())
    fp = float(np.subtract(1.0, hits, out=hits).sum())
    fn = float(np.compress(~pos, calibrated).sum())
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(tp, tp + 0.5 * (fp + fn)),
        "roc_auc": expected_roc_auc(calibrated, raw, rank),
    }


def expected_roc_auc(calibrated: FloatArray, raw: FloatArray, rank: Ranked | None = None) -> float:
    """Area under the expected ROC curve: rows sorted by ``raw`` score, highest first.

    Rows with equal raw scores form one step of the curve (a diagonal segment), as in
    ``sklearn.metrics.roc_curve``; NaN when the expected positives or negatives sum to 0.
    ``rank`` is ``ranked(raw)``, computed here when not given.
    """
    # The order within a run of equal scores only changes the summation order of its step.
    order, scores = ranked(raw) if rank is None else rank
    q = np.take(calibrated, order)
    # The last row of each run of equal scores closes a step of the curve.
    step_ends = np.empty(scores.size, dtype=bool)
    np.not_equal(scores[1:], scores[:-1], out=step_ends[:-1])
    step_ends[-1:] = True
    steps = int(np.count_nonzero(step_ends))
    tps, fps = np.zeros(steps + 1), np.zeros(steps + 1)
    if steps == scores.size:
        # No tied scores: every row ends a step, and the running sums are the curve.
        np.cumsum(q, out=tps[1:])
        np.subtract(1.0, q, out=q)
        np.cumsum(q, out=fps[1:])
    else:
        running = np.cumsum(q)
        np.compress(step_ends, running, out=tps[1:])
        np.subtract(1.0, q, out=q)
        np.compress(step_ends, np.cumsum(q, out=running), out=fps[1:])
    if tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    tps /= tps[-1]
    fps /= fps[-1]
    width = np.subtract(fps[1:], fps[:-1], out=q[:steps])  # q is spent: reuse its pages
    width *= tps[1:] + tps[:-1]
    width /= 2.0
    return float(np.sum(width))


def multiclass_estimates(
    predicted: IntArray,
    calibrated: FloatArray,
    raw: FloatArray,
    ranks: Sequence[Ranked | None] | None = None,
) -> dict[str, float]:
    """Macro (unweighted one-vs-rest mean) estimates over the ``K`` probability columns
    (``ranks[k]``: ``ranked(raw[:, k])`` when the caller has it)."""
    classes = per_class(
        lambda k: binary_estimates(
            predicted == k, calibrated[:, k], raw[:, k], ranks[k] if ranks else None
        ),
        range(calibrated.shape[1]),
    )
    return {name: float(np.mean([c[name] for c in classes])) for name in METRICS}


@dataclass(frozen=True)
class Component:
    """Observation-level spread on the reference and the share of rows it applies to."""

    spread: float  # standard deviation (binary) or variance (a multiclass class)
    fraction: float


def _std_and_share(values: FloatArray, n: int, share: float | None = None) -> Component:
    if values.size == 0:
        return Component(float("nan"), 0.0)
    return Component(float(np.std(values)), values.size / n if share is None else share)


def auc_placements(positive: BoolArray, scores: FloatArray) -> FloatArray:
    """Each positive's share of negatives scored below it (the Mann-Whitney placement).

    The minority class plays the positive, as in NannyML (its ROC AUC sampling error).
    """
    if positive.mean() > 0.5:
        positive, scores = ~positive, 1.0 - scores
    negatives = np.sort(scores[~positive])
    if negatives.size == 0:
        return np.array([], dtype=np.float64)
    below = np.searchsorted(negatives, scores[positive], side="left")
    return np.asarray(below / negatives.size, dtype=np.float64)


def binary_components(
    labels: IntArray | BoolArray, predicted: IntArray | BoolArray, raw: FloatArray
) -> dict[str, Component]:
    """NannyML's binary sampling-error components from a labeled reference.

    Precision: the hit indicator over predicted positives (share: predicted positives).
    Recall: the hit indicator over actual positives (share: actual positives). F1: hits (1)
    and misses (0) among TP, FP, FN, scaled by ``|TP+FP+FN| / (TP + (FP+FN)/2)`` (share: those
    rows). ROC AUC: the positives' placements (share: positives).
    """
    y, pred = np.asarray(labels, dtype=bool), np.asarray(predicted, dtype=bool)
    n = y.size
    tp, fp, fn = int(np.sum(y & pred)), int(np.sum(~y & pred)), int(np.sum(y & ~pred))
    f1_values = np.concatenate([np.ones(tp), np.zeros(fn + fp)])
    if f1_values.size:
        f1_values *= f1_values.size / (tp + 0.5 * (fp + fn))
    minority = ~y if y.mean() > 0.5 else y
    return {
        "precision": _std_and_share(y[pred].astype(np.float64), n),
        "recall": _std_and_share(pred[y].astype(np.float64), n),
        "f1": _std_and_share(f1_values, n),
        "roc_auc": _std_and_share(auc_placements(y, raw), n, float(minority.mean())),
    }


def multiclass_components(
    labels: IntArray, predicted: IntArray, raw: FloatArray
) -> dict[str, list[Component]]:
    """Per-class components (variances, and F1 without the binary correcting factor)."""
    out: dict[str, list[Component]] = {name: [] for name in METRICS}
    n = labels.size
    for k in range(raw.shape[1]):
        y, pred = labels == k, predicted == k
        hit_or_miss = np.concatenate([np.ones(np.sum(y & pred)), np.zeros(np.sum(y != pred))])
        minority = ~y if y.mean() > 0.5 else y
        for name, values, share in (
            ("precision", y[pred].astype(np.float64), pred.mean()),
            ("recall", pred[y].astype(np.float64), y.mean()),
            ("f1", hit_or_miss, hit_or_miss.size / n),
            ("roc_auc", auc_placements(y, raw[:, k]), minority.mean()),
        ):
            spread = float(np.var(values)) if values.size else float("nan")
            out[name].append(Component(spread, float(share)))
    return out


def binary_standard_error(component: Component, n: int) -> float:
    """``std / sqrt(n × fraction)``: the SE of a mean over the window's relevant rows."""
    if component.fraction <= 0 or n == 0:
        return float("nan")
    return component.spread / float(np.sqrt(n * component.fraction))


def multiclass_standard_error(name: str, components: list[Component], n: int) -> float:
    """``sqrt(Σ_c var_c / (n f_c)) / K``, times 1.2 for ROC AUC."""
    if n == 0 or any(c.fraction <= 0 for c in components):
        return float("nan")
    total = sum(c.spread / (n * c.fraction) for c in components)
    se = float(np.sqrt(total)) / len(components)
    return se * MULTICLASS_AUC_SE_FACTOR if name == "roc_auc" else se


def band(estimate: float, standard_error: float) -> tuple[float, float]:
    """``estimate ± 3 SE`` clipped to [0, 1] (NaN bounds when the SE is unknown)."""
    if np.isnan(standard_error):
        return float("nan"), float("nan")
    low = max(0.0, estimate - BAND_WIDTH * standard_error)
    return low, min(1.0, estimate + BAND_WIDTH * standard_error)


@dataclass(frozen=True)
class Estimate:
    """One estimated metric with its standard error and ±3 SE band."""

    name: str
    value: float
    standard_error: float
    lower: float
    upper: float


def _with_band(name: str, value: float, se: float) -> Estimate:
    low, high = band(value, se)
    return Estimate(name, value, se, low, high)


def accuracy_standard_error(ref_labels: IntArray, ref_predicted: IntArray, n: int) -> float:
    """NannyML's accuracy SE: the spread of the reference hit indicator over ``sqrt(n)``."""
    if ref_labels.size == 0 or n == 0:
        return float("nan")
    return float(np.std(ref_labels == ref_predicted)) / float(np.sqrt(n))


# Binary: one component per metric; multiclass: one per class per metric.
ReferenceComponents = dict[str, Component] | dict[str, list[Component]]


def reference_components(
    ref_labels: IntArray, ref_predicted: IntArray, ref_raw: FloatArray
) -> ReferenceComponents:
    """The labeled reference's sampling-error components (binary when ``K = 2``).

    They depend on the reference only, so a caller can compute them once per reference.
    """
    if ref_raw.shape[1] == 2:
        return binary_components(ref_labels == 1, ref_predicted == 1, ref_raw[:, 1])
    return multiclass_components(ref_labels, ref_predicted, ref_raw)


def window_estimates(
    components: ReferenceComponents,
    calibrated: FloatArray,
    raw: FloatArray,
    predicted: IntArray,
    ranks: Sequence[Ranked | None] | None = None,
) -> list[Estimate]:
    """Estimated precision, recall, F1 and ROC AUC of a window with the reference's bands.

    Parameters
    ----------
    components
        :func:`reference_components` of the labeled reference.
    calibrated, raw, predicted
        The window: calibrated and raw ``(m, K)`` probabilities, predicted indexes.
    ranks
        ``ranked(raw[:, k])`` of each column, when the caller has them.
    """
    m = predicted.size
    ses: dict[str, float] = {}
    if raw.shape[1] == 2:
        rank = ranks[1] if ranks else None
        values = binary_estimates(predicted == 1, calibrated[:, 1], raw[:, 1], rank)
        for name, comp in components.items():
            assert isinstance(comp, Component)
            ses[name] = binary_standard_error(comp, m)
    else:
        values = multiclass_estimates(predicted, calibrated, raw, ranks)
        for name, comps in components.items():
            assert isinstance(comps, list)
            ses[name] = multiclass_standard_error(name, comps, m)
    return [_with_band(name, values[name], ses[name]) for name in METRICS]


def classification_estimates(
    ref_labels: IntArray,
    ref_predicted: IntArray,
    ref_raw: FloatArray,
    calibrated: FloatArray,
    raw: FloatArray,
    predicted: IntArray,
) -> list[Estimate]:
    """Estimated precision, recall, F1 and ROC AUC of a window, each with its band.

    Binary (K = 2) scores the second column as the positive class; K > 2 gives macro
    averages. All arrays are complete (no unlabeled, unpredicted or NaN rows).

    Parameters
    ----------
    ref_labels, ref_predicted, ref_raw
        The labeled reference: class indexes, predicted indexes, ``(n, K)`` raw probabilities.
    calibrated, raw, predicted
        The window: calibrated and raw ``(m, K)`` probabilities, predicted indexes.
    """
    components = reference_components(ref_labels, ref_predicted, ref_raw)
    return window_estimates(components, calibrated, raw, predicted)
