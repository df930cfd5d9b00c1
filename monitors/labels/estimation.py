"""Label-free performance estimates as ``label_quality`` metrics: CBPE and DLE with bands.

Each estimate is one metric (``estimated_precision``, ``estimated_recall``, ``estimated_f1``,
``estimated_roc_auc``, ``estimated_accuracy``; ``estimated_mae``, ``estimated_rmse``) whose
details carry ``lower`` and ``upper`` (the estimate ± 3 standard errors, NannyML's
confidence band), ``standard_error`` and ``rows`` (the window rows used).

DLE's loss models and CBPE's calibration maps and sampling-error spreads
(:class:`CbpeReference`) are built once per reference profile (the service keeps one profile
per reference version) and reused by every window and reference chunk measured against it.

>>> e = cbpe.Estimate("f1", 0.8, 0.01, 0.77, 0.83)
>>> m = estimate_metric(e, "cbpe", 500)
>>> m.name, m.details["lower"], m.details["upper"]
('estimated_f1', 0.77, 0.83)
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dqm.monitors.base import Metric
from dqm.monitors.columns import FloatArray, IntArray, numeric_values
from dqm.monitors.labels import cbpe
from dqm.monitors.labels.cbpe import BoolArray
from dqm.monitors.labels.dle import LossModels, fit_loss_models
from dqm.monitors.labels.matrix import Ranked, complete_rows, per_class, ranked, take_rows
from dqm.monitors.labels.performance import apply_calibration, fit_calibration
from dqm.monitors.learners.isotonic import IsotonicFit
from dqm.monitors.profile import ReferenceProfile

CBPE_NAMES = tuple(f"estimated_{name}" for name in (*cbpe.METRICS, "accuracy"))
DLE_NAMES = ("estimated_mae", "estimated_rmse")


def estimate_metric(estimate: cbpe.Estimate, method: str, rows: int) -> Metric:
    """The estimate as a metric; NaN bounds (no reference spread) become None."""
    known = not np.isnan(estimate.standard_error)
    details = {
        "lower": estimate.lower if known else None,
        "upper": estimate.upper if known else None,
        "standard_error": estimate.standard_error if known else None,
        "rows": rows,
    }
    return Metric(
        name=f"estimated_{estimate.name}", value=estimate.value, method=method, details=details
    )


def _skipped(names: tuple[str, ...], reason: str) -> list[Metric]:
    return [Metric(name=n, value=None, status=f"skipped: {reason}") for n in names]


@dataclass(frozen=True)
class CbpeReference:
    """What CBPE takes from the labeled reference: computed once per reference version."""

    maps: tuple[IsotonicFit, ...]  # isotonic calibration, one-vs-rest
    components: cbpe.ReferenceComponents  # sampling-error spreads and shares
    hit_std: float  # spread of the reference's hit indicator (accuracy's SE); NaN: no rows


def cbpe_reference(
    ref_labels: IntArray, ref_predicted: IntArray, ref_probs: FloatArray
) -> CbpeReference | None:
    """Calibration maps and sampling-error spreads of a labeled reference.

    Calibration uses reference rows with a label and all probabilities; the standard errors
    use those that also have a prediction. None when no row has a label and probabilities.
    """
    ref_rows = (ref_labels >= 0) & ~np.isnan(ref_probs).any(axis=1)
    if not ref_rows.any():
        return None
    maps = fit_calibration(ref_labels[ref_rows], ref_probs[ref_rows])
    spread_rows = ref_rows & (ref_predicted >= 0)
    y_ref, pred_ref = ref_labels[spread_rows], ref_predicted[spread_rows]
    components = cbpe.reference_components(y_ref, pred_ref, ref_probs[spread_rows])
    hit_std = float(np.std(y_ref == pred_ref)) if y_ref.size else float("nan")
    return CbpeReference(maps, components, hit_std)


@dataclass(frozen=True)
class RankedWindow:
    """A window's rows with a prediction and all probabilities, each class column ranked.

    CBPE's calibration and expected ROC AUC walk each column in descending order, and so can
    the realized ROC AUC of the labeled rows among them: one ranking per column serves all.
    """

    rows: BoolArray  # the window rows kept
    raw: FloatArray  # their (m, K) probabilities, Fortran order
    predicted: IntArray  # their predicted class indexes
    ranks: list[Ranked | None]  # ranked(raw[:, k]); only column 1 when K = 2


def ranked_window(probs: FloatArray, predicted: IntArray) -> RankedWindow | None:
    """The rows with a prediction and all probabilities, ranked; None when there are none."""
    rows = (predicted >= 0) & complete_rows(probs)
    if not rows.any():
        return None
    raw, pred = take_rows(probs, rows), predicted[rows]
    classes = (1,) if raw.shape[1] == 2 else range(raw.shape[1])
    ranks: list[Ranked | None] = [None] * raw.shape[1]
    for k, rank in zip(classes, per_class(lambda k: ranked(raw[:, k]), classes), strict=True):
        ranks[k] = rank
    return RankedWindow(rows, raw, pred, ranks)


def cbpe_metrics(
    reference: CbpeReference | None,
    probs: FloatArray,
    predicted: IntArray,
    window: RankedWindow | None = None,
) -> list[Metric]:
    """CBPE precision, recall, F1, ROC AUC and accuracy of a window, with bands.

    The window uses rows with a prediction and all probabilities; ``reference`` is
    :func:`cbpe_reference`'s; ``window`` is ``ranked_window(probs, predicted)`` when the
    caller has it.
    """
    if reference is None:
        return _skipped(CBPE_NAMES, "no labeled reference rows with probabilities")
    if window is None:
        window = ranked_window(probs, predicted)
    if window is None:
        return _skipped(CBPE_NAMES, "no rows with a prediction and probabilities")
    raw, pred, ranks = window.raw, window.predicted, window.ranks
    calibrated = apply_calibration(reference.maps, raw, ranks)
    estimates = cbpe.window_estimates(reference.components, calibrated, raw, pred, ranks)
    accuracy = float(calibrated[np.arange(pred.size), pred].mean())
    se = reference.hit_std / float(np.sqrt(pred.size))
    low, high = cbpe.band(accuracy, se)
    estimates.append(cbpe.Estimate("accuracy", accuracy, se, low, high))
    return [estimate_metric(e, "cbpe", int(pred.size)) for e in estimates]


_LOSS_MODELS: weakref.WeakKeyDictionary[ReferenceProfile, dict[tuple[str, ...], LossModels]]
_LOSS_MODELS = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _matrix(table: pa.Table, columns: tuple[str, ...]) -> FloatArray:
    if not columns:
        return np.empty((table.num_rows, 0))
    return np.column_stack([numeric_values(table, c) for c in columns])


def loss_models(
    profile: ReferenceProfile, features: tuple[str, ...], target: str, prediction: str
) -> LossModels | None:
    """The reference's DLE loss models, fitted on first use and cached on the profile.

    None when the reference has no row with both a label and a prediction.
    """
    key = (*features, target, prediction)
    with _LOCK:
        cached = _LOSS_MODELS.get(profile, {}).get(key)
    if cached is not None:
        return cached
    table = profile.table
    y, pred = numeric_values(table, target), numeric_values(table, prediction)
    rows = ~(np.isnan(y) | np.isnan(pred))
    if not rows.any():
        return None
    models = fit_loss_models(_matrix(table, features)[rows], y[rows], pred[rows])
    with _LOCK:
        _LOSS_MODELS.setdefault(profile, {})[key] = models
    return models


def dle_metrics(
    profile: ReferenceProfile,
    current: pa.Table,
    features: tuple[str, ...],
    target: str,
    prediction: str,
) -> list[Metric]:
    """DLE's estimated MAE and RMSE of the window's rows that have a prediction.

    Parameters
    ----------
    features
        Numerical feature columns present in both tables (missing values: the reference
        median).
    """
    if prediction not in current.column_names or target not in profile.table.column_names:
        return _skipped(DLE_NAMES, "no target or prediction column")
    pred = numeric_values(current, prediction)
    rows = ~np.isnan(pred)
    if not rows.any():
        return _skipped(DLE_NAMES, "no rows with a prediction")
    models = loss_models(profile, features, target, prediction)
    if models is None:
        return _skipped(DLE_NAMES, "no labeled reference rows with a prediction")
    estimates = models.estimate(_matrix(current, features)[rows], pred[rows])
    return [estimate_metric(e, "dle", int(rows.sum())) for e in estimates]
