"""The metric names each monitor kind reports, dataset-level and per column, for its params.

Rules and series name metrics; a name the kind never reports would never fire or plot, so
the service checks names against this catalogue (``tests/monitors/test_metric_names.py``
runs every kind and checks that what it reports is exactly what is declared here).

>>> from dqm.monitors.kinds import parse_params
>>> names = metric_names("drift", parse_params("drift", {}))
>>> "share_drifted_columns" in names.dataset, "drift_score" in names.column
(True, True)
>>> names.level("drift_score"), names.level("accuracy")
('column', None)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel


@dataclass(frozen=True)
class MetricNames:
    """Dataset-level names (``column`` is null) and per-column names (``column`` is a column)."""

    dataset: frozenset[str]
    column: frozenset[str]
    # columns per-column metrics may name beyond the schema's (e.g. labeling functions' votes)
    extra_columns: frozenset[str] = frozenset()

    def level(self, name: str) -> Literal["dataset", "column"] | None:
        if name in self.dataset:
            return "dataset"
        return "column" if name in self.column else None

    def listing(self) -> dict[str, list[str]]:
        """The names sorted, for error details."""
        return {"dataset": sorted(self.dataset), "column": sorted(self.column)}


def _names(dataset: set[str], column: set[str]) -> MetricNames:
    return MetricNames(frozenset(dataset), frozenset(column))


def _drift(p: Any) -> MetricNames:
    dataset = {
        "share_drifted_columns",
        "number_drifted_columns",
        "dataset_drift",
        "prediction_drift",
        "target_drift",
    }
    if p.domain_classifier:
        dataset.add("domain_classifier_auc")
    column = {"drift_score", "effect_size", "missing_share"}
    # embedding columns (type "embedding") add two per-column metrics
    column |= {"embedding_mean_distance", "embedding_drifted_components_share"}
    return _names(dataset, column)


def _coverage(p: Any) -> MetricNames:
    return _names(
        {"knn_ood_share", "slice_uncovered_share"},
        {
            "category_row_coverage",
            "reference_category_coverage",
            "reference_category_mass_coverage",
            "numeric_range_coverage",
        },
    )


def _data_quality(p: Any) -> MetricNames:
    return _names(
        {
            "duplicate_row_share",
            "duplicate_id_share",
            "missing_columns",
            "new_columns",
            "rows_with_any_problem_share",
        },
        {
            "missing_share",
            "missing_share_change",
            "missing_share_above_expected",
            "constant_column",
            "out_of_domain_share",
            "out_of_range_share",
            "out_of_learned_range_share",
        },
    )


CLASSIFICATION = {
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "roc_auc",
    "estimated_accuracy",
    "estimated_precision",
    "estimated_recall",
    "estimated_f1",
    "estimated_roc_auc",
}
REGRESSION = {"mae", "rmse", "estimated_mae", "estimated_rmse"}


def _label_quality(p: Any) -> MetricNames:
    dataset = {
        "label_coverage",
        "label_delay_p50_seconds",
        "label_delay_p95_seconds",
        "label_drift_score",
        "prediction_drift_score",
        "label_issue_share",
        "label_health_score",
    }
    if p.task in ("auto", "classification"):
        dataset |= CLASSIFICATION
    if p.task in ("auto", "regression"):
        dataset |= REGRESSION
    if p.annotator_columns:
        dataset |= {"cohen_kappa", "fleiss_kappa", "krippendorff_alpha"}
        if p.agreement_level != "nominal":
            dataset |= {"cohen_kappa_linear", "cohen_kappa_quadratic"}
    if not p.labeling_function_columns:
        return _names(dataset, set())
    dataset.add("lf_label_coverage")
    column = {"lf_coverage", "lf_overlaps", "lf_conflicts"}
    return MetricNames(
        frozenset(dataset), frozenset(column), frozenset(p.labeling_function_columns)
    )


CATALOGUE: dict[str, Callable[[Any], MetricNames]] = {
    "coverage": _coverage,
    "data_quality": _data_quality,
    "drift": _drift,
    "label_quality": _label_quality,
}


def metric_names(kind: str, params: BaseModel) -> MetricNames | None:
    """The names ``kind`` reports with ``params``; None for a kind without a catalogue
    (a plugin kind: its names are not checked)."""
    names = CATALOGUE.get(kind)
    return None if names is None else names(params)
