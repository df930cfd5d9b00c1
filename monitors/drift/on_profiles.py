"""The drift monitor on a window that arrives as a merged profile instead of rows.

Each numerical and categorical column is scored with the method the rows run would use (the
params' choice, else Evidently's default from the reference and the profile's counts) by
``dqm.monitors.sketches.drift`` against the reference's exact values; the verdicts and the
dataset-level metrics are those of the rows run. Each column's ``drift_score`` carries in its
details how far the score can be off (``bound``, and ``bound_of``: the score, the statistic
behind a p-value, or a bin share). Columns and methods that need the rows (text, embeddings,
energy distance, Mann-Whitney, the domain classifier, the ``calibrated`` policy's
contingency tests, ...) are reported ``skipped: needs rows``.

>>> import numpy as np, pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> from dqm_client.profiles import profile_arrow
>>> schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
>>> ref = ReferenceProfile(pa.table({"x": np.arange(200.0) % 10}), schema)
>>> window = profile_arrow(pa.table({"x": np.arange(200.0) % 10 + 3}), {"x": "numerical"})
>>> r = measure_profiles(ref, window, schema, DriftParams())
>>> r.metric("drift_score", "x").method, r.value("share_drifted_columns")
('ks', 1.0)
"""

from __future__ import annotations

from collections.abc import Callable

from dqm.monitors.base import Metric, MonitorResult
from dqm.monitors.drift.column import ColumnOutcome, apply_multiple_testing
from dqm.monitors.drift.methods import METHODS, Method
from dqm.monitors.drift.monitor import (
    _column_metrics,
    _dataset_metrics,
    _role_metrics,
    _tested_columns,
)
from dqm.monitors.drift.params import DriftParams, choose_method, threshold_for
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.monitors.sketches.drift import (
    CATEGORICAL_METHODS,
    NEEDS_ROWS,
    NUMERIC_METHODS,
    ProfileScore,
    categorical_score,
    numeric_score,
    quantile_sample,
)
from dqm.monitors.stats.hypothesis_tests import ks_statistic_sorted
from dqm_client.profiles import BatchProfile, CategoricalProfile, NumericProfile

SKIPPED_NEEDS_ROWS = f"skipped: {NEEDS_ROWS}"


def measure_profiles(
    reference: ReferenceProfile, window: BatchProfile, schema: Schema, p: DriftParams
) -> MonitorResult:
    """The drift monitor's metrics for a window given as the merge of its batch profiles."""
    outcomes = [_outcome(reference, window, spec, p) for spec in _tested_columns(schema, p)]
    apply_multiple_testing(outcomes, p)
    metrics = [*_dataset_metrics(outcomes, p), *_role_metrics(outcomes)]
    if p.domain_classifier:
        metrics.append(Metric("domain_classifier_auc", None, status=SKIPPED_NEEDS_ROWS))
    return MonitorResult(metrics=(*metrics, *_column_metrics(outcomes)))


def _outcome(
    reference: ReferenceProfile, window: BatchProfile, spec: ColumnSpec, p: DriftParams
) -> ColumnOutcome:
    if spec.type == "embedding":
        return ColumnOutcome(spec=spec, status=SKIPPED_NEEDS_ROWS)
    if spec.type not in ("numerical", "categorical"):  # as on rows
        return ColumnOutcome(spec=spec, status=f"skipped: {spec.type} columns are not tested")
    column = window.columns.get(spec.name)
    if spec.name not in reference.table.column_names:
        return ColumnOutcome(spec=spec, status="skipped: column missing from the reference window")
    if column is None:
        return ColumnOutcome(spec=spec, status="skipped: column missing from the current window")
    missing = 1.0 - column.count / window.rows if window.rows else None
    out = ColumnOutcome(spec=spec, missing_share=missing)
    if isinstance(column, NumericProfile) and spec.type == "numerical":
        _numeric(out, reference, column, p)
    elif isinstance(column, CategoricalProfile) and spec.type == "categorical":
        _categorical(out, reference, column, p)
    else:
        out.status = f"skipped: the profile of {spec.name!r} is not {spec.type}"
    return out


def _numeric(
    out: ColumnOutcome, reference: ReferenceProfile, column: NumericProfile, p: DriftParams
) -> None:
    ref = reference.numeric(out.spec.name)
    if not _counted(out, ref.n, column.count):
        return
    method = _method(out.spec, p, ref.n, ref.n_unique, numerical=True)
    if method is None or method.name not in NUMERIC_METHODS:
        out.status = SKIPPED_NEEDS_ROWS
        return

    def score(name: str, threshold: float | None) -> ProfileScore:
        return numeric_score(name, threshold, ref.sorted_values, ref.std, column)

    _record(out, method, score, p, ref.n, column.count, effect="wasserstein")
    if method.name == "ks":  # the statistic the p-value comes from, within ``bound``
        sample, _ = quantile_sample(column)
        out.details["statistic"] = ks_statistic_sorted(ref.sorted_values, sample)


def _categorical(
    out: ColumnOutcome, reference: ReferenceProfile, column: CategoricalProfile, p: DriftParams
) -> None:
    ref = reference.categorical(out.spec.name)
    if not _counted(out, ref.n, column.count):
        return
    union = set(map(str, ref.categories)) | set(column.counts())
    method = _method(out.spec, p, ref.n, len(union), numerical=False)
    if method is None or method.name not in CATEGORICAL_METHODS:
        out.status = SKIPPED_NEEDS_ROWS
        return

    def score(name: str, threshold: float | None) -> ProfileScore:
        return categorical_score(name, threshold, ref.categories, ref.counts, column)

    _record(out, method, score, p, ref.n, column.count, effect="jensenshannon")


def _counted(out: ColumnOutcome, n_ref: int, n_cur: int) -> bool:
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current"
        out.status = f"skipped: no non-missing values in the {side} window"
        return False
    return True


def _method(
    spec: ColumnSpec, p: DriftParams, n_ref: int, n_unique: int, numerical: bool
) -> Method | None:
    """The forced method, else Evidently's default (``methods.default_method``) from counts;
    None under the ``calibrated`` policy, whose tests need rows."""
    forced = choose_method(spec, p)
    if forced is not None:
        return forced
    if p.policy != "evidently":
        return None
    if n_ref <= 1000:
        if numerical and n_unique > 5:
            return METHODS["ks"]
        return METHODS["chisquare"] if n_unique > 2 else METHODS["z"]
    if numerical and n_unique > 5:
        return METHODS["wasserstein"]
    return METHODS["jensenshannon"] if not numerical else None  # few-valued numbers: rows


def _record(
    out: ColumnOutcome,
    method: Method,
    score: Callable[[str, float | None], ProfileScore],
    p: DriftParams,
    n_ref: int,
    n_cur: int,
    effect: str,
) -> None:
    threshold = threshold_for(out.spec, method, p)
    got: ProfileScore = score(method.name, threshold)
    out.method, out.score, out.threshold, out.drifted = method, got.score, threshold, got.drifted
    out.details = {
        "n_reference": n_ref,
        "n_current": n_cur,
        "data": "profiles",
        "bound": got.bound,
        "bound_of": got.bound_of,
    }
    if method.is_p_value:
        out.details["p_value"] = got.score
    size = got if method.name == effect else score(effect, None)
    out.effect_size, out.effect_size_method = size.score, effect
