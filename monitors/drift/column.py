"""One column's drift verdict from its pair of samples, and the correction across columns.

:func:`measure_pair` picks the method (forced by the params, else by the ``policy``), scores
the pair, applies the threshold and the effect-size floor, and records the effect size;
:func:`apply_multiple_testing` then adjusts the p-values of all columns of a run together.

>>> import numpy as np
>>> from dqm.monitors.drift.methods import CategoricalPair
>>> from dqm.monitors.schema import ColumnSpec
>>> keys = np.array(["a", "b", "c"], dtype=object)
>>> pair = CategoricalPair.from_counts(
...     keys, np.array([340, 330, 330]), keys, np.array([300, 350, 350]))
>>> spec = ColumnSpec(name="c", type="categorical")
>>> evidently = measure_pair(pair, spec, DriftParams())
>>> calibrated = measure_pair(pair, spec, DriftParams(policy="calibrated"))
>>> evidently.drifted, calibrated.drifted, round(calibrated.effect_size or 0.0, 4)
(True, False, 0.0303)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dqm.monitors.base import Metric
from dqm.monitors.drift.methods import Method, Pair, default_method
from dqm.monitors.drift.params import DriftParams, choose_method, threshold_for
from dqm.monitors.drift.policy import calibrated_method, default_floor, effect_size
from dqm.monitors.schema import ColumnSpec
from dqm.monitors.stats.multiple_testing import adjust_p_values

# Errors a method can raise on a degenerate column (e.g. a rank test on a constant column
# divides by a zero variance); they skip that column, and the other columns are still measured.
METHOD_ERRORS = (ArithmeticError, ValueError)


@dataclass
class ColumnOutcome:
    """Result of one column before dataset-level corrections."""

    spec: ColumnSpec
    missing_share: float | None = None
    method: Method | None = None
    score: float | None = None
    threshold: float | None = None
    drifted: bool | None = None
    status: str = "ok"
    effect_size: float | None = None
    effect_size_method: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    extra: list[Metric] = field(default_factory=list)


def measure_pair(
    pair: Pair, spec: ColumnSpec, p: DriftParams, missing_share: float | None = None
) -> ColumnOutcome:
    """Score one column pair and decide whether it drifted (before multiple testing)."""
    out = ColumnOutcome(spec=spec, missing_share=missing_share)
    if pair.n_ref == 0 or pair.n_cur == 0:
        side = "reference" if pair.n_ref == 0 else "current"
        out.status = f"skipped: no non-missing values in the {side} window"
        return out
    forced = choose_method(spec, p)
    by_policy = calibrated_method(pair) if p.policy == "calibrated" else default_method(pair)
    method = forced or by_policy
    reason = method.skip_reason(pair, by_default=forced is None)
    if reason is not None:
        out.status = f"skipped: {reason}"
        return out
    try:
        score = method.score(pair)
    except METHOD_ERRORS as exc:
        out.status = f"skipped: {method.name} failed: {type(exc).__name__}: {exc}"[:200]
        return out
    if math.isnan(score):
        out.status = f"skipped: {method.name} is undefined here (e.g. a single value)"
        return out
    out.method, out.score = method, score
    out.threshold = threshold_for(spec, method, p)
    out.drifted = method.drifted(score, out.threshold)
    out.details = {"n_reference": pair.n_ref, "n_current": pair.n_cur}
    out.effect_size, out.effect_size_method = effect_size(pair, known=(method.name, score))
    floor = default_floor(pair, p)
    if method.is_p_value:
        out.details["p_value"] = score
        if floor is not None:
            _apply_floor(out, floor)
    return out


def _apply_floor(out: ColumnOutcome, floor: float) -> None:
    """A p-value test counts as drift only if the effect size also reaches the floor."""
    size = out.effect_size if out.effect_size is not None else 0.0
    out.details.update(
        effect_size=size, effect_size_method=out.effect_size_method, effect_size_floor=floor
    )
    out.drifted = bool(out.drifted) and size >= floor


def apply_multiple_testing(outcomes: Sequence[ColumnOutcome], p: DriftParams) -> None:
    """Adjust the p-values of the columns tested by p-value methods together (``bh`` or
    ``bonferroni``) and decide again with the adjusted p-value and the floor."""
    if p.multiple_testing == "none":
        return
    tested = [o for o in outcomes if o.method is not None and o.method.is_p_value]
    if not tested:
        return
    raw = [float(o.score) for o in tested if o.score is not None]
    adjusted = adjust_p_values(raw, p.multiple_testing)
    for o, adj in zip(tested, adjusted, strict=True):
        assert o.method is not None and o.threshold is not None
        o.details.update(p_value_adjusted=float(adj), multiple_testing=p.multiple_testing)
        significant = o.method.drifted(float(adj), o.threshold)
        floor_ok = o.details.get("effect_size", 0.0) >= o.details.get("effect_size_floor", 0.0)
        o.drifted = significant and floor_ok


def effect_size_metric(o: ColumnOutcome) -> Metric | None:
    """The ``effect_size`` metric of a measured column (None when it was not measured)."""
    if o.effect_size is None:
        return None
    floor = o.details.get("effect_size_floor")
    return Metric(
        "effect_size",
        o.effect_size,
        column=o.spec.name,
        method=o.effect_size_method,
        threshold=floor,
        details={"drift_method": o.method.name if o.method else None},
    )
