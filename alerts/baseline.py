"""Dynamic thresholds: bounds learned from past runs or from the reference.

A rule with a baseline breaches when its metric leaves ``mean ± sigma * std`` of some earlier
values of the same metric:

- ``{"baseline": "history", "runs": 20, "sigma": 3}``: the metric's values in the previous
  ``runs`` successful runs of the monitor (the service passes them to ``rules.evaluate``);
- ``{"baseline": "reference", "sigma": 3}``: the metric's values over chunks of the reference
  (the service computes them once per reference version by running the monitor on chunks).

``std`` is the sample standard deviation (``ddof=1``), the usual estimator of a spread from a
handful of runs; this is the same band as NannyML's standard-deviation thresholds and a
Shewhart control chart's ``k``-sigma limits.

>>> bounds_from_values([1.0, 2.0, 3.0], sigma=2)
(0.0, 4.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dqm.monitors.errors import InvalidInputError

#: Fewest finite values a spread is estimated from; fewer means "no data" (no decision).
MIN_VALUES = 2


class Baseline(BaseModel):
    """Where a rule's bounds come from.

    Parameters
    ----------
    baseline
        ``"history"``: the previous ``runs`` values of the metric in this monitor;
        ``"reference"``: the metric's values over chunks of the reference.
    sigma
        Half-width of the band in standard deviations (> 0).
    runs
        History only: how many previous runs to learn from (default 20, at least 2).
    min_runs
        History only: fewer usable previous values than this means no decision yet
        (default 5, at least 2, at most ``runs``).
    """

    model_config = ConfigDict(extra="forbid")

    baseline: Literal["history", "reference"]
    sigma: float = Field(3.0, gt=0, allow_inf_nan=False)
    runs: int | None = Field(None, ge=MIN_VALUES)
    min_runs: int | None = Field(None, ge=MIN_VALUES)

    @model_validator(mode="after")
    def _history_only_fields(self) -> Baseline:
        if self.baseline == "reference":
            if self.runs is not None or self.min_runs is not None:
                raise ValueError("'runs' and 'min_runs' apply to a history baseline only")
            return self
        if self.runs is None:
            self.runs = 20
        if self.min_runs is None:
            self.min_runs = min(5, self.runs)
        if self.min_runs > self.runs:
            raise ValueError("'min_runs' must not exceed 'runs'")
        return self

    def describe(self) -> str:
        """Short text used in derived rule names, e.g. ``history(runs=20,sigma=3)``."""
        if self.baseline == "history":
            return f"history(runs={self.runs},sigma={self.sigma:g})"
        return f"reference(sigma={self.sigma:g})"


def bounds_from_values(values: Sequence[float], sigma: float) -> tuple[float, float]:
    """``(mean - sigma * std, mean + sigma * std)`` of the finite ``values`` (``std`` with ddof=1).

    Non-finite values (NaN, ±inf: runs whose metric could not be computed) are ignored.

    Raises
    ------
    InvalidInputError
        If fewer than two finite values remain, or ``sigma`` is not a positive number.

    Examples
    --------
    Mean 5, sample standard deviation 2.138..., three sigma:

    >>> lo, hi = bounds_from_values([2, 4, 4, 4, 5, 5, 7, 9], sigma=3)
    >>> round(lo, 4), round(hi, 4)
    (-1.4143, 11.4143)
    >>> bounds_from_values([0.5, float("nan"), 0.5], sigma=3)
    (0.5, 0.5)
    """
    if not (sigma > 0 and math.isfinite(sigma)):
        raise InvalidInputError(f"sigma must be a positive number, got {sigma!r}")
    finite = [float(v) for v in values if math.isfinite(v)]
    if len(finite) < MIN_VALUES:
        raise InvalidInputError(
            f"a baseline needs at least {MIN_VALUES} finite values, got {len(finite)}"
        )
    mean = math.fsum(finite) / len(finite)
    var = math.fsum((v - mean) ** 2 for v in finite) / (len(finite) - 1)
    half = sigma * math.sqrt(var)
    return (mean - half, mean + half)


def baseline_bounds(
    baseline: Baseline, values: Sequence[float] | None
) -> tuple[float, float] | None:
    """Bounds of ``baseline`` over ``values``, or None when there is too little data to decide.

    For a history baseline only the last ``runs`` values count (``values`` oldest first), and
    fewer than ``min_runs`` finite ones mean no decision yet.

    >>> b = Baseline(baseline="history", runs=3, min_runs=3)
    >>> baseline_bounds(b, [100.0, 1.0, 2.0, 3.0])
    (-1.0, 5.0)
    >>> baseline_bounds(b, [1.0, 2.0]) is None
    True
    """
    if values is None:
        return None
    window = list(values)
    needed = MIN_VALUES
    if baseline.baseline == "history":
        assert baseline.runs is not None and baseline.min_runs is not None  # set by validator
        window = window[-baseline.runs :]
        needed = baseline.min_runs
    if sum(1 for v in window if math.isfinite(v)) < needed:
        return None
    return bounds_from_values(window, baseline.sigma)
