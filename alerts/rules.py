"""Alert rules: thresholds (fixed or learned), ``for``, keep-firing, severities -> transitions.

A rule compares one metric of a monitor's result with a threshold::

    {"metric": "share_drifted_columns", "op": ">=", "value": 0.3, "for": 2}
    {"metric": "drift_score", "column": "*", "op": ">", "value": 0.1, "severity": "critical"}
    {"metric": "missing_share", "column": ["age", "income"], "baseline": {"baseline": "history"}}

``evaluate`` turns one successful run's result into one :class:`Transition` per (rule, column),
driving the state machine of :mod:`dqm.alerts.state`. Only successful runs are evaluated: the
service skips ``evaluate`` for a failed run, so a failure neither fires nor resolves anything.

>>> from datetime import UTC
>>> from dqm.monitors.base import Metric, MonitorResult
>>> rule = Rule(metric="share_drifted_columns", op=">=", value=0.3)
>>> rule.name
'share_drifted_columns>=0.3'
>>> result = MonitorResult(metrics=(Metric("share_drifted_columns", 0.5),))
>>> [t] = evaluate("drift", [rule], result, {}, datetime(2026, 1, 1, tzinfo=UTC))
>>> t.event, t.current.state, t.value, t.threshold
('firing', 'firing', 0.5, 0.3)
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dqm.alerts.baseline import Baseline, baseline_bounds, bounds_from_values
from dqm.alerts.spec import Op, Rule, Severity, parse_rules, rule_name
from dqm.alerts.state import AlertState, Event, as_utc, step
from dqm.monitors.base import MonitorResult

__all__ = [
    "AlertState",
    "Baseline",
    "Op",
    "Rule",
    "SeriesKey",
    "Severity",
    "Transition",
    "bounds_from_values",
    "evaluate",
    "fingerprint",
    "parse_rules",
    "rule_name",
]

SeriesKey = tuple[str, str | None]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def fingerprint(monitor: str, rule: Rule, column: str | None) -> str:
    """Stable id of one alert: 16 hex digits of SHA-256 over (monitor, rule name, column).

    >>> r = Rule(metric="drift_score", column="*", op=">", value=0.1)
    >>> fingerprint("m", r, "age") == fingerprint("m", r.model_copy(), "age")
    True
    >>> fingerprint("m", r, "age") == fingerprint("m", r, "income")
    False
    """
    key = json.dumps([monitor, rule_name(rule), column], separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Transition:
    """What one run did to one (rule, column) alert.

    ``value`` is the metric's value (None: missing from the result or not computed);
    ``threshold`` the fixed value, or with a baseline the bound that applies (the crossed one
    when breaching); ``bounds`` the baseline's ``(lower, upper)``. ``no_data`` runs leave the
    state untouched. ``event`` is what to notify: ``"firing"``, ``"resolved"``, ``"repeat"`` or
    None.
    """

    fingerprint: str
    rule: Rule
    column: str | None
    previous: AlertState
    current: AlertState
    value: float | None
    threshold: float | None
    event: Event | None
    bounds: tuple[float, float] | None = None
    no_data: bool = False

    @property
    def changed(self) -> bool:
        """Whether the stored state must be updated."""
        return self.previous != self.current


def evaluate(
    monitor: str,
    rules: Sequence[Rule],
    result: MonitorResult,
    previous: Mapping[str, AlertState],
    now: datetime,
    history: Mapping[SeriesKey, Sequence[float]] | None = None,
    reference_bounds: Mapping[SeriesKey, Sequence[float]] | None = None,
) -> list[Transition]:
    """Apply ``rules`` to one successful run's ``result``; one transition per (rule, column).

    Parameters
    ----------
    monitor
        Monitor name (part of every fingerprint).
    previous
        Alert states by fingerprint; a missing fingerprint is ``ok``.
    now
        The run's time (naive means UTC); stamps ``started_at`` / ``firing_since``.
    history
        For history baselines: the metric's values in previous successful runs, oldest first,
        keyed by ``(metric, column)`` (``column`` None for dataset-level metrics).
    reference_bounds
        For reference baselines: the metric's values over chunks of the reference, keyed the
        same way; bounds are derived with each rule's ``sigma`` (see ``bounds_from_values``).

    Notes
    -----
    "No data" — the metric is missing from the result, its value is None or NaN, or a
    baseline has too few values — neither fires nor resolves: the state is kept as it was
    (counters do not move) and the transition has ``no_data=True`` and no event. ``"*"``
    expands to the columns that have the metric in this result; listed columns absent from it
    are no data. States of fingerprints not evaluated in this run are left to the caller.
    """
    moment = as_utc(now)
    out: list[Transition] = []
    for rule in rules:
        for column, value in _targets(rule, result):
            fp = fingerprint(monitor, rule, column)
            prev = previous.get(fp, AlertState())
            values = _baseline_values(rule, column, history, reference_bounds)
            out.append(_transition(fp, rule, column, prev, value, values, moment))
    return out


def _targets(rule: Rule, result: MonitorResult) -> list[tuple[str | None, float | None]]:
    found: dict[str | None, float | None] = {}
    for m in result.metrics:
        if m.name == rule.metric:
            found.setdefault(m.column, m.value)
    if rule.column == "*":
        return [(c, v) for c, v in found.items() if c is not None]
    columns = rule.column if isinstance(rule.column, list) else [rule.column]
    return [(c, found.get(c)) for c in columns]


def _baseline_values(
    rule: Rule,
    column: str | None,
    history: Mapping[SeriesKey, Sequence[float]] | None,
    reference: Mapping[SeriesKey, Sequence[float]] | None,
) -> Sequence[float] | None:
    if rule.baseline is None:
        return None
    source = history if rule.baseline.baseline == "history" else reference
    return None if source is None else source.get((rule.metric, column))


def _transition(
    fp: str,
    rule: Rule,
    column: str | None,
    prev: AlertState,
    value: float | None,
    baseline_values: Sequence[float] | None,
    now: datetime,
) -> Transition:
    def unchanged(threshold: float | None, bounds: tuple[float, float] | None) -> Transition:
        return Transition(fp, rule, column, prev, prev, value, threshold, None, bounds, True)

    bounds = None
    if rule.baseline is not None:
        bounds = baseline_bounds(rule.baseline, baseline_values)
        if bounds is None:
            return unchanged(None, None)
    if value is None or math.isnan(value):
        threshold = rule.value if bounds is None else None
        return unchanged(threshold, bounds)
    breach, threshold = _judge(rule, value, bounds)
    current, event = step(
        prev,
        breach,
        now,
        for_=rule.for_,
        keep_firing_for=rule.keep_firing_for,
        repeat_every=rule.repeat_every,
    )
    return Transition(fp, rule, column, prev, current, value, threshold, event, bounds)


def _judge(rule: Rule, value: float, bounds: tuple[float, float] | None) -> tuple[bool, float]:
    """Whether ``value`` breaches the rule, and the threshold that applies."""
    if bounds is None:
        assert rule.value is not None  # a rule has a value or a baseline
        return _COMPARE[rule.op](value, rule.value), rule.value
    lower, upper = bounds
    if rule.op in (">", ">="):
        return _COMPARE[rule.op](value, upper), upper
    if rule.op in ("<", "<="):
        return _COMPARE[rule.op](value, lower), lower
    nearer = upper if value >= (lower + upper) / 2 else lower
    return (value < lower or value > upper), nearer
