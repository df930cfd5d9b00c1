"""The ``label_quality`` monitor: label coverage, delay, drift, performance and label issues.

Columns come from the schema: the target (role ``target``), one probability column per class
(role ``prediction_probability`` with ``class``), the prediction (role ``prediction``) and the
row key (role ``id``). Annotator and labeling-function columns are named in the params. The
service may add ``__label_delay_seconds`` (label arrival minus row time) to the current window.

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="y", type="categorical", role="target"),
...                          ColumnSpec(name="yhat", type="categorical", role="prediction")])
>>> t = pa.table({"y": ["a", "b", None, "a"], "yhat": ["a", "a", "b", "a"]})
>>> r = LabelQualityMonitor().run(t, t, schema, LabelQualityParams())
>>> r.value("label_coverage"), round(r.value("accuracy") or 0, 4)
(0.75, 0.6667)
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from dqm.monitors.base import BaseMonitor, Finding, Metric, MonitorResult
from dqm.monitors.columns import (
    FloatArray,
    IntArray,
    ObjectArray,
    category_counts,
    numeric_values,
    string_column,
)
from dqm.monitors.drift.methods import CategoricalPair, NumericPair, Pair, default_method
from dqm.monitors.labels import confident_learning as cl
from dqm.monitors.labels.agreement import AgreementLevel, agreement_metrics
from dqm.monitors.labels.estimation import (
    CBPE_NAMES,
    CbpeReference,
    RankedWindow,
    cbpe_metrics,
    cbpe_reference,
    dle_metrics,
    ranked_window,
)
from dqm.monitors.labels.matrix import complete_rows, numeric_matrix, row_argmax, take_rows
from dqm.monitors.labels.performance import (
    classification_metrics,
    compare_metrics,
    regression_metrics,
)
from dqm.monitors.labels.weak_supervision import labeling_function_metrics
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.profile_cache import cached
from dqm.monitors.registry import register
from dqm.monitors.schema import Schema

DELAY_COLUMN = "__label_delay_seconds"
Task = Literal["classification", "regression"]


class LabelQualityParams(BaseModel):
    """Parameters of the ``label_quality`` monitor; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["auto", "classification", "regression"] = Field(
        default="auto",
        description="Whether the target is a class or a number. `auto`: classification "
        "when the schema has prediction_probability columns or a non-numerical target, "
        "regression when the target is numerical and so is the prediction, if any.",
        examples=["classification"],
    )
    annotator_columns: list[str] = Field(
        default_factory=list,
        description="Columns holding each annotator's label of the row (null: not rated); "
        "two or more give `fleiss_kappa` and `krippendorff_alpha`, exactly two also "
        "`cohen_kappa`. Default: no agreement metrics.",
        examples=[["annotator_a", "annotator_b"]],
    )
    agreement_level: AgreementLevel = Field(
        default="nominal",
        description="Level of measurement of the annotators' labels for `krippendorff_alpha`: "
        "`nominal` (categories, any disagreement counts the same), `ordinal` (numbers whose "
        "order matters: Krippendorff's rank distance) or `interval` (numbers whose differences "
        "matter: squared difference). At `ordinal` and `interval` the labels must be numbers, "
        "and two annotators also give the weighted kappas `cohen_kappa_linear` and "
        "`cohen_kappa_quadratic`; `cohen_kappa` and `fleiss_kappa` stay nominal.",
        examples=["ordinal"],
    )
    labeling_function_columns: list[str] = Field(
        default_factory=list,
        description="Columns holding each labeling function's vote as a class number, -1 or "
        "null to abstain; they give Snorkel's `lf_coverage`, `lf_overlaps`, `lf_conflicts` "
        "and `lf_label_coverage`. Default: no labeling-function metrics.",
        examples=[["lf_keyword", "lf_regex"]],
    )
    max_findings: int = Field(
        default=1000,
        ge=0,
        description="Most suspected label errors reported as findings (most suspicious "
        "first); 0 reports none.",
        examples=[100],
    )


@dataclass(frozen=True)
class _Roles:
    target: str | None
    prediction: str | None
    probabilities: tuple[str, ...]
    classes: tuple[str, ...]
    row_id: str | None
    task: Task


def _roles(schema: Schema, params: LabelQualityParams) -> _Roles:
    target, pred = schema.role_column("target"), schema.role_column("prediction")
    probs = schema.with_role("prediction_probability")
    row_id = schema.role_column("id")
    task: Task
    if params.task != "auto":
        task = params.task
    elif probs or (target is not None and target.type != "numerical"):
        task = "classification"
    elif target is not None and (pred is None or pred.type == "numerical"):
        task = "regression"
    else:
        task = "classification"
    return _Roles(
        target=target.name if target else None,
        prediction=pred.name if pred else None,
        probabilities=tuple(p.name for p in probs) if task == "classification" else (),
        classes=tuple(p.class_ or p.name for p in probs) if task == "classification" else (),
        row_id=row_id.name if row_id else None,
        task=task,
    )


def _key(value: str) -> str:
    """Numbers compare by value, so that label ``1.0`` or ``"1"`` matches class ``"1"``."""
    try:
        return repr(float(value))
    except ValueError:
        return value


def _encode(table: pa.Table, column: str | None, classes: list[str]) -> IntArray:
    """Class index of each value of ``column`` (-1 for missing, unknown or no column).

    Each distinct string is looked up once (Arrow dictionary encoding, no per-row Python).
    """
    if column is None or column not in table.column_names:
        return np.full(table.num_rows, -1, dtype=np.int64)
    lookup = {_key(c): i for i, c in enumerate(classes)}
    encoded = pc.dictionary_encode(string_column(table, column).combine_chunks())
    words = encoded.dictionary.to_pylist()
    # One extra slot, -1, for the nulls.
    mapped = np.array([*(lookup.get(_key(w), -1) for w in words), -1], dtype=np.int64)
    indices = pc.fill_null(encoded.indices, len(words)).to_numpy(zero_copy_only=False)
    return mapped[np.asarray(indices, dtype=np.int64)]


@dataclass(frozen=True)
class _Window:
    """One window decoded for classification: labels, predictions, probabilities."""

    labels: IntArray  # -1 where unlabeled or unknown
    predicted: IntArray  # -1 where no prediction
    probs: FloatArray | None  # (n, K); rows with a missing probability are NaN


def _classification_window(table: pa.Table, roles: _Roles, classes: list[str]) -> _Window:
    labels = _encode(table, roles.target, classes)
    probs = None
    if roles.probabilities and set(roles.probabilities) <= set(table.column_names):
        probs = numeric_matrix(table, roles.probabilities)
    if roles.prediction is not None and roles.prediction in table.column_names:
        predicted = _encode(table, roles.prediction, classes)
    elif probs is not None:
        complete = complete_rows(probs)
        predicted = np.where(complete, np.nan_to_num(probs, nan=-1.0).argmax(axis=1), -1)
    else:
        predicted = np.full(table.num_rows, -1, dtype=np.int64)
    return _Window(labels, predicted.astype(np.int64), probs)


def _classes(reference: pa.Table, current: pa.Table, roles: _Roles) -> list[str]:
    if roles.classes:
        return list(roles.classes)
    seen: set[str] = set()
    for table in (reference, current):
        for name in (roles.target, roles.prediction):
            if name is not None and name in table.column_names:
                seen.update(category_counts(table, name)[0].tolist())
    return sorted(seen)


def _skipped(name: str, reason: str) -> Metric:
    return Metric(name=name, value=None, status=f"skipped: {reason}")


def _coverage_and_delay(current: pa.Table, roles: _Roles) -> list[Metric]:
    labeled = 0
    if roles.target is not None and roles.target in current.column_names:
        column = current.column(roles.target)
        labeled = len(column) - column.null_count
    out = [Metric(name="label_coverage", value=labeled / current.num_rows)]
    names = ("label_delay_p50_seconds", "label_delay_p95_seconds")
    if DELAY_COLUMN not in current.column_names:
        return out + [_skipped(n, f"no {DELAY_COLUMN} column") for n in names]
    delays = numeric_values(current, DELAY_COLUMN)
    delays = delays[~np.isnan(delays)]
    if delays.size == 0:
        return out + [_skipped(n, "no labeled rows") for n in names]
    p50, p95 = np.quantile(delays, [0.5, 0.95])
    return out + [Metric(name=names[0], value=float(p50)), Metric(name=names[1], value=float(p95))]


@dataclass(frozen=True)
class _Distribution:
    """One side of a drift pair: sorted values (regression) or categories and their counts."""

    values: np.ndarray  # regression: sorted values; classification: sorted categories
    counts: IntArray  # classification only
    std: float  # regression reference only
    unique: FloatArray  # regression reference only


def _distribution(values: np.ndarray, task: Task, reference: bool) -> _Distribution:
    if task == "regression":
        r = np.sort(values.astype(np.float64))
        if not reference or r.size == 0:
            return _Distribution(r, np.empty(0, np.int64), float("nan"), np.empty(0))
        return _Distribution(r, np.empty(0, np.int64), float(r.std()), np.unique(r))
    keys, counts = np.unique(values, return_counts=True)
    return _Distribution(keys, counts, float("nan"), np.empty(0))


def _drift_metric(
    name: str, column: str, ref: _Distribution, cur: _Distribution, task: Task
) -> Metric:
    """Evidently's default method for the column (the ``drift`` monitor's selection rule)."""
    if ref.values.size == 0 or cur.values.size == 0:
        return _skipped(name, "no values in the reference or the current window")
    pair: Pair
    if task == "regression":
        pair = NumericPair(ref.values, cur.values, ref.std, ref.unique)
    else:
        pair = CategoricalPair.from_counts(ref.values, ref.counts, cur.values, cur.counts)
    method = default_method(pair)
    score = method.score(pair)
    threshold = method.default_threshold
    return Metric(
        name=name,
        value=float(score),
        method=method.name,
        threshold=threshold,
        drifted=bool(method.drifted(score, threshold)),
        details={"column": column},
    )


def _values(table: pa.Table, column: str | None, task: Task, reference: bool) -> _Distribution:
    """The column's distribution: sorted numbers, or categories counted in Arrow."""
    if column is None or column not in table.column_names:
        return _distribution(np.array([], dtype=object), task, reference)
    if task == "regression":
        num = numeric_values(table, column)
        return _distribution(num[~np.isnan(num)], task, reference)
    categories, counts, _ = category_counts(table, column)
    return _counted(categories, counts)


def _counted(categories: ObjectArray, counts: IntArray) -> _Distribution:
    """``np.unique(values.astype(str), return_counts=True)`` from the distinct values' counts
    (numpy strings drop trailing NULs, so two categories may become one)."""
    keys, inverse = np.unique(categories.astype(str), return_inverse=True)
    merged = np.zeros(keys.size, dtype=np.int64)
    np.add.at(merged, inverse, counts)
    return _Distribution(keys, merged, float("nan"), np.empty(0))


def _predictions(
    table: pa.Table, roles: _Roles, classes: list[str], reference: bool
) -> tuple[str, _Distribution] | None:
    """The prediction column's name and distribution, else the argmax of the probabilities."""
    if roles.prediction is not None:
        return roles.prediction, _values(table, roles.prediction, roles.task, reference)
    if roles.probabilities:
        column = "argmax(" + ",".join(roles.probabilities) + ")"
        return column, _argmax_counts(table, roles, classes)
    return None


def _reference_drift(
    reference: pa.Table, roles: _Roles, classes: list[str]
) -> tuple[_Distribution, _Distribution | None]:
    """The reference's label and prediction distributions (cached per profile)."""
    labels = _values(reference, roles.target, roles.task, True)
    predictions = _predictions(reference, roles, classes, True)
    return labels, None if predictions is None else predictions[1]


def _drift(
    profile: ReferenceProfile, current: pa.Table, roles: _Roles, classes: list[str]
) -> list[Metric]:
    assert roles.target is not None
    ref_y, ref_p = cached(
        profile,
        ("label_drift_reference", roles, tuple(classes)),
        lambda: _reference_drift(profile.table, roles, classes),
    )
    cur_y = _values(current, roles.target, roles.task, False)
    out = [_drift_metric("label_drift_score", roles.target, ref_y, cur_y, roles.task)]
    predictions = _predictions(current, roles, classes, False)
    if predictions is None or ref_p is None:
        return out
    column, cur_p = predictions
    out.append(_drift_metric("prediction_drift_score", column, ref_p, cur_p, roles.task))
    return out


def _argmax_counts(table: pa.Table, roles: _Roles, classes: list[str]) -> _Distribution:
    """How often each class has the highest probability, over rows with all of them."""
    names = np.array(classes, dtype=object)
    if table.num_rows == 0 or not set(roles.probabilities) <= set(table.column_names):
        return _counted(names[:0], np.empty(0, dtype=np.int64))
    probs = numeric_matrix(table, roles.probabilities)
    complete = complete_rows(probs)
    counts = np.bincount(row_argmax(take_rows(probs, complete)), minlength=len(classes))
    return _counted(names[counts > 0], counts[counts > 0])


_CLASSIFICATION = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc")
_REGRESSION = ("mae", "rmse")


def _row_ids(table: pa.Table, roles: _Roles) -> Callable[[IntArray], list[str]]:
    """The ids of the rows at some positions: the id column's strings, else the positions."""
    column = roles.row_id
    if column is None or column not in table.column_names:
        return lambda positions: [str(i) for i in positions.tolist()]
    return lambda positions: [
        str(v) for v in string_column(table, column).take(pa.array(positions)).to_pylist()
    ]


def _label_metrics(
    profile: ReferenceProfile, current: pa.Table, roles: _Roles, params: LabelQualityParams
) -> tuple[list[Metric], list[Finding]]:
    """Everything measured on the target: coverage, delay, drift, performance, label issues."""
    assert roles.target is not None
    reference = profile.table
    classes = _classes(reference, current, roles) if roles.task == "classification" else []
    if roles.task == "regression":
        metrics = _coverage_and_delay(current, roles) + _drift(profile, current, roles, classes)
        ref_reg = _regression_pair(reference, roles)
        cur_reg = _regression_pair(current, roles)
        metrics += compare_metrics(
            _REGRESSION, regression_metrics(*cur_reg), regression_metrics(*ref_reg)
        )
        return metrics + _dle(profile, current, roles), []
    ref_side = cached(
        profile,
        ("classification", roles, tuple(classes)),
        lambda: _reference_side(reference, roles, classes),
    )
    cur_w = _classification_window(current, roles, classes)
    # Confident learning needs only the decoded window: it runs in a thread of its own while
    # the rest is measured (numpy releases the GIL in its passes over the rows), so a serial
    # stretch of one side overlaps work of the other. A pool per call, as in per_class.
    with ThreadPoolExecutor(max_workers=1) as pool:
        label_issues = pool.submit(_label_issues, cur_w, current, roles, classes, params)
        metrics = _coverage_and_delay(current, roles) + _drift(profile, current, roles, classes)
        ranked = None
        if ref_side.has_probs and cur_w.probs is not None:
            ranked = ranked_window(cur_w.probs, cur_w.predicted)
        metrics += compare_metrics(
            _CLASSIFICATION,
            classification_metrics(
                cur_w.labels,
                cur_w.predicted,
                cur_w.probs,
                None if ranked is None else (ranked.rows, ranked.ranks),
            ),
            ref_side.realized,
        )
        metrics += _cbpe(ref_side, cur_w, ranked)
        issues, findings = label_issues.result()
    return metrics + issues, findings


def _label_issues(
    window: _Window,
    current: pa.Table,
    roles: _Roles,
    classes: list[str],
    params: LabelQualityParams,
) -> tuple[list[Metric], list[Finding]]:
    """Confident-learning label issues of the window's labeled rows with probabilities."""
    assert roles.target is not None
    if window.probs is None:
        names = ("label_issue_share", "label_health_score")
        return [_skipped(n, "no prediction_probability columns") for n in names], []
    return cl.label_issue_metrics(
        window.labels,
        window.probs,
        _row_ids(current, roles),
        classes,
        roles.target,
        params.max_findings,
    )


def _regression_pair(table: pa.Table, roles: _Roles) -> tuple[FloatArray, FloatArray]:
    n = table.num_rows
    if roles.prediction is None or roles.prediction not in table.column_names:
        return np.full(n, np.nan), np.full(n, np.nan)
    y = np.full(n, np.nan)
    if roles.target is not None and roles.target in table.column_names:
        y = numeric_values(table, roles.target)
    return y, numeric_values(table, roles.prediction)


@dataclass(frozen=True)
class _ReferenceSide:
    """What a classification run takes from the reference alone (cached per profile)."""

    realized: dict[str, float]  # the reference's realized metrics
    has_probs: bool
    cbpe: CbpeReference | None


def _reference_side(reference: pa.Table, roles: _Roles, classes: list[str]) -> _ReferenceSide:
    ref = _classification_window(reference, roles, classes)
    realized = classification_metrics(ref.labels, ref.predicted, ref.probs)
    if ref.probs is None:
        return _ReferenceSide(realized, False, None)
    return _ReferenceSide(realized, True, cbpe_reference(ref.labels, ref.predicted, ref.probs))


def _cbpe(ref: _ReferenceSide, cur: _Window, ranked: RankedWindow | None) -> list[Metric]:
    if not ref.has_probs or cur.probs is None:
        return [_skipped(n, "no prediction_probability columns") for n in CBPE_NAMES]
    return cbpe_metrics(ref.cbpe, cur.probs, cur.predicted, ranked)


def _dle(profile: ReferenceProfile, current: pa.Table, roles: _Roles) -> list[Metric]:
    """DLE on the numerical features present in both the reference and the window."""
    assert roles.target is not None
    if roles.prediction is None:
        return [_skipped(n, "no prediction column") for n in ("estimated_mae", "estimated_rmse")]
    both = set(profile.table.column_names) & set(current.column_names)
    features = tuple(
        c.name
        for c in profile.schema.with_role("feature")
        if c.type == "numerical" and c.name in both
    )
    return dle_metrics(profile, current, features, roles.target, roles.prediction)


@register
class LabelQualityMonitor(BaseMonitor[LabelQualityParams]):
    """Label quality of a window: coverage, delay, drift, realized and estimated performance.

    Classification windows also get confident-learning label issues (findings with reason
    ``label_issue``), annotator agreement (``annotator_columns``) and labeling-function
    statistics (``labeling_function_columns``). ``label_health_score`` is
    ``1 - label_issue_share``. Without labels, CBPE estimates accuracy, precision, recall, F1
    and ROC AUC of classifiers, and DLE the MAE and RMSE of regressors
    (:mod:`dqm.monitors.labels.estimation`); both assume no concept drift.
    Labels that are not one of the probability columns' classes count as labeled for
    ``label_coverage`` but are left out of performance and label issues.
    """

    kind: ClassVar[str] = "label_quality"
    Params: ClassVar[type[BaseModel]] = LabelQualityParams
    # CoverageMonitor, delay and realized performance need no reference; what does is skipped.
    needs_reference: ClassVar[bool] = False

    def measure(
        self, profile: ReferenceProfile, current: pa.Table, schema: Schema, p: LabelQualityParams
    ) -> MonitorResult:
        roles = _roles(schema, p)
        metrics: list[Metric] = []
        findings: list[Finding] = []
        if roles.target is None:
            metrics.append(_skipped("label_coverage", "no target column in the schema"))
        else:
            metrics, findings = _label_metrics(profile, current, roles, p)
        metrics += agreement_metrics(current, p.annotator_columns, p.agreement_level)
        metrics += labeling_function_metrics(current, p.labeling_function_columns)
        return MonitorResult(metrics=tuple(metrics), findings=tuple(findings))
