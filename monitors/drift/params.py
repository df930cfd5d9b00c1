"""Parameters of the drift monitor and how they pick each column's method and threshold.

Precedence follows Evidently's DataDriftOptions: per column, then per type (numerical or
categorical), then for all columns, then (dqm only) per method, then the method's default.

A method forced on a column by name or type must fit the column's type (Evidently's
``allowed_feature_types``): ``chisquare`` or ``z`` on a numerical column, or ``ks`` on a
categorical one, is an :class:`~dqm.monitors.errors.InvalidInputError` naming the methods that
fit. The method for all columns (``stattest``) skips the columns it does not fit.

>>> from dqm.monitors.schema import ColumnSpec
>>> p = DriftParams(num_stattest="psi", per_column_threshold={"age": 0.2})
>>> spec = ColumnSpec(name="age", type="numerical")
>>> method = choose_method(spec, p)
>>> method.name if method else None, threshold_for(spec, METHODS["psi"], p)
('psi', 0.2)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dqm.monitors.drift.methods import METHODS, Method, MethodName, methods_for
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec


class DriftParams(BaseModel):
    """Parameters of the drift monitor; the defaults reproduce Evidently's DataDriftPreset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str] | None = Field(
        default=None,
        description="Columns to test, by name, among those with role feature, prediction, "
        "prediction_probability or target (Evidently: `columns`). Default (null): all of them.",
        examples=[["age", "country"]],
    )
    drift_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="`dataset_drift` is 1 when the (weighted) share of drifted columns is at "
        "least this (Evidently: `drift_share`). A fraction in (0, 1]; 0.5 is Evidently's default.",
        examples=[0.3],
    )
    stattest: MethodName | None = Field(
        default=None,
        description="Drift method for all columns (Evidently: `stattest`). Default (null): "
        "Evidently's choice by column type, size and number of distinct values.",
        examples=["psi"],
    )
    num_stattest: MethodName | None = Field(
        default=None,
        description="Drift method for numerical columns; overrides `stattest` "
        "(Evidently: `num_stattest`).",
        examples=["wasserstein"],
    )
    cat_stattest: MethodName | None = Field(
        default=None,
        description="Drift method for categorical columns; overrides `stattest` "
        "(Evidently: `cat_stattest`).",
        examples=["jensenshannon"],
    )
    per_column_method: dict[str, MethodName] = Field(
        default_factory=dict,
        description="Drift method by column name; overrides the type and global methods "
        "(Evidently: `per_column_stattest`).",
        examples=[{"age": "psi"}],
    )
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        description="Drift threshold for all columns (Evidently: `stattest_threshold`): "
        "p-value methods flag drift when p is under it, distance methods when the distance "
        "reaches it (each method compares as Evidently's does, e.g. `ks` p <= t, `chisquare` "
        "p < t). Default (null): the method's default threshold.",
        examples=[0.05],
    )
    num_threshold: float | None = Field(
        default=None,
        ge=0.0,
        description="Drift threshold for numerical columns; overrides `threshold` "
        "(Evidently: `num_stattest_threshold`).",
        examples=[0.1],
    )
    cat_threshold: float | None = Field(
        default=None,
        ge=0.0,
        description="Drift threshold for categorical columns; overrides `threshold` "
        "(Evidently: `cat_stattest_threshold`).",
        examples=[0.1],
    )
    method_threshold: dict[MethodName, float] = Field(
        default_factory=dict,
        description="Drift threshold by method name, used when no column, type or global "
        "threshold is given (dqm only; Evidently has no such option).",
        examples=[{"psi": 0.2, "ks": 0.01}],
    )
    per_column_threshold: dict[str, float] = Field(
        default_factory=dict,
        description="Drift threshold by column name; overrides every other threshold "
        "(Evidently: `per_column_stattest_threshold`).",
        examples=[{"age": 0.2}],
    )
    policy: Literal["evidently", "calibrated"] = Field(
        default="evidently",
        description="How columns without a forced method are tested. `evidently`: "
        "Evidently's choice and verdicts (its `chisquare` takes reference counts as fixed, so "
        "with nothing drifting it flags about 23-75% of 3-20-category columns at 1,000 rows). "
        "`calibrated` (dqm only): two-sample tests at every size, the contingency chi-square "
        "for categories and Kolmogorov-Smirnov for numbers, counted as drift only when the "
        "`effect_size` also reaches `effect_size_floor` (default 0.05 numerical, 0.018 "
        "categorical); with nothing drifting at most `threshold` (0.05) of columns are flagged "
        "at any size. Methods forced by name keep their own test.",
        examples=["calibrated"],
    )
    effect_size_floor: float | None = Field(
        default=None,
        ge=0.0,
        description="A p-value test counts as drift only if the effect size (normed "
        "Wasserstein distance for numerical columns, Jensen-Shannon distance for categorical "
        "ones, reported as the `effect_size` metric) is at least this, so large samples do not "
        "flag negligible shifts. Default (null): no floor under `policy` `evidently`, as in "
        "Evidently; 0.05 (numerical) and 0.018 (categorical) under `calibrated`.",
        examples=[0.1],
    )
    multiple_testing: Literal["none", "bonferroni", "bh"] = Field(
        default="none",
        description="Correction of p-values across the columns tested with p-value methods: "
        "`bonferroni` (family-wise error) or `bh` (Benjamini-Hochberg false discovery rate); "
        "the adjusted p-value is compared with the threshold. Default `none`, as in Evidently.",
        examples=["bh"],
    )
    column_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight of a column in `share_drifted_columns` by name; unlisted "
        "columns weigh 1. Default: every column weighs 1, as in Evidently.",
        examples=[{"age": 2.0, "zip_code": 0.5}],
    )
    data: Literal["rows", "profiles", "auto"] = Field(
        default="rows",
        description="What the window is read as. `rows` (default): the batches' rows, exact "
        "and Evidently-identical (batches sent as profiles are left out). `profiles`: the "
        "merge of the batches' profiles (every batch has one), each score within its stated "
        "`bound` (docs/profiles.md); methods and columns that need rows are skipped. `auto`: "
        "rows when every batch of the window has rows and they number at most "
        "DQM_ROWS_WINDOW_MAX_ROWS, else profiles. The run's window says which was used.",
        examples=["auto"],
    )
    domain_classifier: bool = Field(
        default=False,
        description="Also report `domain_classifier_auc`: the out-of-fold ROC AUC of a "
        "classifier telling current rows from reference rows over the tested numerical and "
        "categorical columns (multivariate drift, including changed correlations).",
        examples=[True],
    )
    domain_classifier_threshold: float = Field(
        default=0.55,
        gt=0.5,
        le=1.0,
        description="`domain_classifier_auc` at or above this is drift. An ROC AUC in "
        "(0.5, 1]; 0.5 means the windows cannot be told apart.",
        examples=[0.6],
    )

    @model_validator(mode="after")
    def _methods_fit_their_type(self) -> DriftParams:
        for field_name, column_type in (
            ("num_stattest", "numerical"),
            ("cat_stattest", "categorical"),
        ):
            name = getattr(self, field_name)
            if name is not None and not METHODS[name].applies_to(column_type):
                raise ValueError(_misfit_message(name, column_type, f"`{field_name}`"))
        return self


def _misfit_message(name: str, column_type: str, where: str) -> str:
    return (
        f"method {name} ({where}) does not apply to {column_type} columns; "
        f"methods for {column_type} columns: {', '.join(methods_for(column_type))}"
    )


def choose_method(spec: ColumnSpec, p: DriftParams) -> Method | None:
    """The method the params force on this column, or None for Evidently's default choice.

    Raises ``InvalidInputError`` when a method forced by column name or by type does not fit
    the column's type; the method for all columns is returned as is (the column is skipped).
    """
    by_type = p.num_stattest if spec.type == "numerical" else p.cat_stattest
    forced = p.per_column_method.get(spec.name, by_type)
    if forced is not None and not METHODS[forced].applies_to(spec.type):
        where = f"column {spec.name!r}"
        raise InvalidInputError(
            _misfit_message(forced, spec.type, where),
            [{"column": spec.name, "method": forced, "allowed": methods_for(spec.type)}],
        )
    name = forced or p.stattest
    return METHODS[name] if name is not None else None


def threshold_for(spec: ColumnSpec, method: Method, p: DriftParams) -> float:
    """The drift threshold of this column under this method."""
    by_type = {"numerical": p.num_threshold, "categorical": p.cat_threshold}.get(spec.type)
    # Keyed by the names params accept; the embedding and policy methods have none.
    by_name: dict[str, float] = {str(k): v for k, v in p.method_threshold.items()}
    by_method = by_name.get(method.name)
    for candidate in (p.per_column_threshold.get(spec.name), by_type, p.threshold, by_method):
        if candidate is not None:
            return candidate
    return method.default_threshold
