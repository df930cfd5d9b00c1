"""The ``drift`` monitor: per-column distribution drift and the share of drifted columns.

By default every number matches Evidently 0.7's ``DataDriftPreset`` (method selection,
binning, thresholds, share). Opt-in parameters add what large samples need: an effect-size
floor under p-value tests, multiple-testing control across columns, and column weights.

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
>>> ref = pa.table({"x": [float(i % 10) for i in range(200)]})
>>> cur = pa.table({"x": [float(i % 10) + 3.0 for i in range(200)]})
>>> r = DriftMonitor().run(ref, cur, schema, DriftMonitor.Params())
>>> r.metric("drift_score", "x").method, r.value("share_drifted_columns")
('ks', 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pyarrow as pa
from pydantic import BaseModel

from dqm.monitors.base import BaseMonitor, Metric, MonitorResult
from dqm.monitors.columns import category_column, embedding_values, sorted_finite_values
from dqm.monitors.drift.column import (
    ColumnOutcome,
    apply_multiple_testing,
    effect_size_metric,
    measure_pair,
)
from dqm.monitors.drift.domain_classifier import domain_classifier_metric, embedding_auc
from dqm.monitors.drift.embedding import embedding_metrics
from dqm.monitors.drift.methods import (
    EMBEDDING_METHOD,
    CategoricalPair,
    NumericPair,
    Pair,
)
from dqm.monitors.drift.params import DriftParams, threshold_for
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.registry import register
from dqm.monitors.schema import ColumnSpec, Schema

__all__ = ["TESTED_ROLES", "DriftMonitor", "DriftParams"]

TESTED_ROLES = ("feature", "prediction", "prediction_probability", "target")
# numpy releases the GIL in sorting and searching, so columns run in parallel threads.
MAX_THREADS = 4
# Errors a malformed column can raise while being read; they skip the column, not the run.
COLUMN_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError)


@register
class DriftMonitor(BaseMonitor[DriftParams]):
    """Distribution drift of each tested column between reference and current window.

    Metrics: ``drift_score`` per column (with ``method``, ``threshold``, ``drifted``),
    ``effect_size`` per numerical and categorical column (grows with drift, whatever the
    method; :func:`dqm.monitors.drift.policy.effect_size`),
    ``missing_share`` per column (current window), for embedding columns also
    ``embedding_mean_distance`` and ``embedding_drifted_components_share``
    (:mod:`dqm.monitors.drift.embedding`), dataset-level ``share_drifted_columns``,
    ``number_drifted_columns`` and ``dataset_drift`` (1.0/0.0), and ``prediction_drift`` /
    ``target_drift`` repeating the score of the prediction and target columns.
    """

    kind: ClassVar[str] = "drift"
    Params: ClassVar[type[BaseModel]] = DriftParams

    def measure(
        self, profile: ReferenceProfile, current: pa.Table, schema: Schema, p: DriftParams
    ) -> MonitorResult:
        specs = _tested_columns(schema, p)
        with ThreadPoolExecutor(max_workers=MAX_THREADS) as pool:
            outcomes = list(pool.map(lambda s: _guarded_column(profile, current, s, p), specs))
        apply_multiple_testing(outcomes, p)
        metrics = [*_dataset_metrics(outcomes, p), *_role_metrics(outcomes)]
        if p.domain_classifier:
            readable = [o.spec for o in outcomes if o.status == "ok" and o.spec.type != "embedding"]
            metrics.append(
                domain_classifier_metric(
                    profile.table, current, readable, p.domain_classifier_threshold
                )
            )
        return MonitorResult(metrics=(*metrics, *_column_metrics(outcomes)))


def _tested_columns(schema: Schema, p: DriftParams) -> list[ColumnSpec]:
    if p.columns is not None:
        schema.require(p.columns)
    wanted = set(p.columns) if p.columns is not None else None
    return [
        c for c in schema.columns if c.role in TESTED_ROLES and (wanted is None or c.name in wanted)
    ]


def _pair(profile: ReferenceProfile, current: pa.Table, spec: ColumnSpec) -> tuple[Pair, float]:
    """The column pair to test and the missing share of the current window."""
    if spec.type == "numerical":
        prof = profile.numeric(spec.name)
        cur = sorted_finite_values(current, spec.name)
        pair: Pair = NumericPair(prof.sorted_values, cur, prof.std, profile=prof)
    else:
        cprof = profile.categorical(spec.name)
        pair = CategoricalPair(window=cprof.window_counts(category_column(current, spec.name)))
    return pair, 1.0 - pair.n_cur / current.num_rows


def _guarded_column(
    profile: ReferenceProfile, current: pa.Table, spec: ColumnSpec, p: DriftParams
) -> ColumnOutcome:
    """One column's outcome; a column that cannot be read is skipped with the reason."""
    if spec.type not in ("numerical", "categorical", "embedding"):
        return ColumnOutcome(spec=spec, status=f"skipped: {spec.type} columns are not tested")
    for side, table in (("reference", profile.table), ("current", current)):
        if spec.name not in table.column_names:
            reason = f"skipped: column missing from the {side} window"
            return ColumnOutcome(spec=spec, status=reason)
    try:
        if spec.type == "embedding":
            return _embedding_column(profile.table, current, spec, p)
        return _column(profile, current, spec, p)
    except COLUMN_ERRORS as exc:
        return ColumnOutcome(spec=spec, status=f"skipped: cannot read as {spec.type}: {exc}"[:300])


def _column(
    profile: ReferenceProfile, current: pa.Table, spec: ColumnSpec, p: DriftParams
) -> ColumnOutcome:
    pair, missing_share = _pair(profile, current, spec)
    return measure_pair(pair, spec, p, missing_share)


def _embedding_column(
    reference: pa.Table, current: pa.Table, spec: ColumnSpec, p: DriftParams
) -> ColumnOutcome:
    """Embedding drift: domain-classifier ROC AUC on the vectors (Evidently's ``model``).

    Beside it: the normalized mean-vector distance and the share of drifted components.
    """
    ref, cur = embedding_values(reference, spec.name), embedding_values(current, spec.name)
    out = ColumnOutcome(spec=spec, missing_share=1.0 - len(cur) / current.num_rows)
    if len(ref) < 2 or len(cur) < 2:
        out.status = "skipped: fewer than 2 vectors in a window"
        return out
    if ref.shape[1] != cur.shape[1]:
        out.status = f"skipped: vector length {cur.shape[1]} differs from {ref.shape[1]}"
        return out
    out.method, out.score = EMBEDDING_METHOD, embedding_auc(ref, cur)
    out.threshold = threshold_for(spec, EMBEDDING_METHOD, p)
    out.drifted = EMBEDDING_METHOD.drifted(out.score, out.threshold)
    out.details = {"n_reference": len(ref), "n_current": len(cur), "dimensions": ref.shape[1]}
    out.extra = embedding_metrics(spec.name, ref, cur, p.multiple_testing)
    return out


def _dataset_metrics(outcomes: Sequence[ColumnOutcome], p: DriftParams) -> list[Metric]:
    tested = [o for o in outcomes if o.drifted is not None]
    n_drifted = sum(1 for o in tested if o.drifted)
    if not tested:
        reason = "skipped: no column could be tested"
        return [
            Metric(name=n, value=None, status=reason)
            for n in ("share_drifted_columns", "number_drifted_columns", "dataset_drift")
        ]
    weights = [p.column_weights.get(o.spec.name, 1.0) for o in tested]
    total = sum(weights)
    share = (
        sum(w for w, o in zip(weights, tested, strict=True) if o.drifted) / total if total else 0.0
    )
    is_drift = share >= p.drift_share
    details = {"number_of_columns": len(tested), "weighted": bool(p.column_weights)}
    return [
        Metric(
            "share_drifted_columns",
            share,
            threshold=p.drift_share,
            drifted=is_drift,
            details=details,
        ),
        Metric("number_drifted_columns", float(n_drifted), details=details),
        Metric(
            "dataset_drift", 1.0 if is_drift else 0.0, threshold=p.drift_share, drifted=is_drift
        ),
    ]


def _column_metrics(outcomes: Sequence[ColumnOutcome]) -> list[Metric]:
    metrics: list[Metric] = []
    for o in outcomes:
        metrics.append(
            Metric(
                name="drift_score",
                value=o.score,
                column=o.spec.name,
                method=o.method.name if o.method else None,
                threshold=o.threshold,
                drifted=o.drifted,
                status=o.status,
                details=o.details,
            )
        )
        if o.missing_share is not None:
            metrics.append(Metric("missing_share", o.missing_share, column=o.spec.name))
        effect = effect_size_metric(o)
        if effect is not None:
            metrics.append(effect)
        metrics.extend(o.extra)
    return metrics


def _role_metrics(outcomes: Sequence[ColumnOutcome]) -> list[Metric]:
    """``prediction_drift`` / ``target_drift``: the score of that column under a stable name."""
    metrics = []
    for o in outcomes:
        if o.spec.role in ("prediction", "target"):
            metrics.append(
                Metric(
                    name=f"{o.spec.role}_drift",
                    value=o.score,
                    method=o.method.name if o.method else None,
                    threshold=o.threshold,
                    drifted=o.drifted,
                    status=o.status,
                    details={"column": o.spec.name, **o.details},
                )
            )
    return metrics
