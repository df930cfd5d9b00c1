"""Parameters of the ``data_quality`` monitor (``dqm.monitors.integrity.monitor``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DataQualityParams(BaseModel):
    """Parameters of the ``data_quality`` monitor; ``{}`` gives the documented defaults."""

    model_config = ConfigDict(extra="forbid")

    domains: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Allowed values of categorical columns, by column name; "
        "`out_of_domain_share` is the share of present values outside the list. A "
        "categorical column not listed here is checked against the reference categories "
        "(those held at least `domain_min_support` times).",
        examples=[{"country": ["DE", "FR", "US"]}],
    )
    ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Allowed `[min, max]` (inclusive) of numerical columns, by column name, "
        "in the column's unit; `out_of_range_share` is reported for these columns. Other "
        "numerical columns get `out_of_learned_range_share` against the reference's range "
        "widened by `range_tolerance`.",
        examples=[{"age": [0, 120]}],
    )
    required_columns: list[str] | None = Field(
        None,
        description="Columns whose missing values make a row a finding. Default (null): "
        "the feature columns that have no missing values in the reference.",
        examples=[["user_id", "age"]],
    )
    learn_expectations: bool = Field(
        True,
        description="Learn what the user did not give from the reference: ranges of numerical "
        "columns not in `ranges` (`out_of_learned_range_share`) and expected missing shares "
        "(`missing_share_above_expected`). False reports neither.",
        examples=[False],
    )
    range_tolerance: float = Field(
        0.1,
        ge=0.0,
        description="Learned range of a numerical column: the reference `[min - t * IQR, "
        "max + t * IQR]` with t this tolerance (with an IQR of 0, `max - min` stands in). "
        "Data drawn from an n-row reference falls outside `[min, max]` at most 2 / (n + 1) "
        "of the time; the tolerance keeps it nearer 0.",
        examples=[0.5],
    )
    missing_tolerance: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="Expected missing share of a column: the reference share plus the larger "
        "of this tolerance and 3 binomial standard errors of the window's share; "
        "`missing_share_above_expected` is how far the window's share exceeds it.",
        examples=[0.05],
    )
    domain_min_support: int = Field(
        1,
        ge=1,
        description="A reference category belongs to the learned domain of its column "
        "(`out_of_domain_share` without `domains`) when the reference holds it at least this "
        "many times. Default 1: every category seen.",
        examples=[3],
    )
    max_findings: int = Field(
        1000,
        ge=0,
        description="Most rows with problems reported as findings (most problems first); 0 "
        "reports none.",
        examples=[100],
    )

    @model_validator(mode="after")
    def _ordered_ranges(self) -> DataQualityParams:
        for name, (lo, hi) in self.ranges.items():
            if lo > hi:
                raise ValueError(f"range of {name!r}: min {lo} is above max {hi}")
        return self
