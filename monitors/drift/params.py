"""Parameters of the drift monitor and how they pick each column's method and threshold.

Precedence follows Evidently's DataDriftOptions: per column, then per type (numerical or
categorical), then for all columns, then (dqm only) per method, then the method's default.

>>> from dqm.monitors.schema import ColumnSpec
>>> p = DriftParams(num_stattest="psi", per_column_threshold={"age": 0.2})
>>> spec = ColumnSpec(name="age", type="numerical")
>>> method = choose_method(spec, p)
>>> method.name if method else None, threshold_for(spec, METHODS["psi"], p)
('psi', 0.2)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dqm.monitors.drift.methods import METHODS, Method, MethodName
from dqm.monitors.schema import ColumnSpec


class DriftParams(BaseModel):
    """Parameters of the drift monitor; the defaults reproduce Evidently's DataDriftPreset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str] | None = Field(default=None, description="subset of columns to test")
    drift_share: float = Field(default=0.5, gt=0.0, le=1.0)
    stattest: MethodName | None = None
    num_stattest: MethodName | None = None
    cat_stattest: MethodName | None = None
    per_column_method: dict[str, MethodName] = Field(default_factory=dict)
    threshold: float | None = Field(default=None, ge=0.0)
    num_threshold: float | None = Field(default=None, ge=0.0)
    cat_threshold: float | None = Field(default=None, ge=0.0)
    method_threshold: dict[MethodName, float] = Field(default_factory=dict)
    per_column_threshold: dict[str, float] = Field(default_factory=dict)
    effect_size_floor: float | None = Field(
        default=None,
        ge=0.0,
        description="a p-value test counts as drift only if the effect size (normed "
        "Wasserstein for numerical, Jensen-Shannon for categorical) is at least this",
    )
    multiple_testing: Literal["none", "bonferroni", "bh"] = Field(
        default="none", description="correction of p-values across the tested columns"
    )
    column_weights: dict[str, float] = Field(
        default_factory=dict, description="weight of a column in the drifted share (default 1)"
    )
    domain_classifier: bool = Field(
        default=False, description="also report domain_classifier_auc (multivariate drift)"
    )
    domain_classifier_threshold: float = Field(default=0.55, gt=0.5, le=1.0)


def choose_method(spec: ColumnSpec, p: DriftParams) -> Method | None:
    """The method the params force on this column, or None for Evidently's default choice."""
    by_type = p.num_stattest if spec.type == "numerical" else p.cat_stattest
    name = p.per_column_method.get(spec.name, by_type or p.stattest)
    return METHODS[name] if name is not None else None


def threshold_for(spec: ColumnSpec, method: Method, p: DriftParams) -> float:
    """The drift threshold of this column under this method."""
    by_type = {"numerical": p.num_threshold, "categorical": p.cat_threshold}.get(spec.type)
    for candidate in (
        p.per_column_threshold.get(spec.name),
        by_type,
        p.threshold,
        p.method_threshold.get(method.name),  # type: ignore[call-overload]
    ):
        if candidate is not None:
            return candidate
    return method.default_threshold
