"""The alert rule model: what a user writes in a monitor's ``rules``.

See :mod:`dqm.alerts.rules` for how rules are evaluated; everything here is re-exported there.

>>> Rule.model_validate({"metric": "drift_score", "column": "*", "op": ">", "value": 0.1}).name
'drift_score[*]>0.1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dqm.alerts.baseline import Baseline
from dqm.monitors.errors import InvalidInputError

Op = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["info", "warning", "critical"]


class Rule(BaseModel):
    """When a metric of a monitor's result is a problem.

    Parameters
    ----------
    metric
        Metric name in the monitor's result, e.g. ``share_drifted_columns`` or ``drift_score``.
    column
        None for a dataset-level metric; a column name; a list of column names; or ``"*"`` for
        every column that has this metric in the run's result.
    op
        Comparison ``metric <op> value``. With a baseline: ``>``/``>=`` breach above the upper
        bound, ``<``/``<=`` below the lower bound, ``!=`` (the default there) outside either.
    value, baseline
        Exactly one: a fixed threshold, or learned bounds (see :mod:`alerts.baseline`);
        ``"baseline": "history"`` is short for ``{"baseline": "history"}``.
    for_
        Consecutive breaching runs before firing (JSON key ``for``); 1 fires at once.
    keep_firing_for
        Extra clean runs a firing alert waits before resolving; 0 resolves on the first.
    severity
        ``info``, ``warning`` or ``critical``.
    name
        Identifies the rule in alerts and fingerprints; derived when omitted, e.g.
        ``drift_score[*]>0.1``.
    repeat_every
        While firing, remind every this many runs (None: never).
    """

    # serialize_by_alias (pydantic >= 2.11) makes plain model_dump() write "for", not "for_".
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    metric: str = Field(min_length=1)
    column: str | list[str] | None = None
    op: Op
    value: float | None = Field(None, allow_inf_nan=False)
    baseline: Baseline | None = None
    for_: int = Field(1, alias="for", ge=1)
    keep_firing_for: int = Field(0, ge=0)
    severity: Severity = "warning"
    name: str | None = Field(None, min_length=1)
    repeat_every: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("baseline") is not None:
            data = dict(data)
            if isinstance(data["baseline"], str):
                data["baseline"] = {"baseline": data["baseline"]}
            data.setdefault("op", "!=")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if (self.value is None) == (self.baseline is None):
            raise ValueError("give exactly one of 'value' and 'baseline'")
        if self.baseline is not None and self.op == "==":
            raise ValueError("op '==' has no meaning with a baseline; use '!=' for outside bounds")
        if isinstance(self.column, list):
            if not self.column or len(set(self.column)) != len(self.column):
                raise ValueError("'column' list must be non-empty and without duplicates")
            if any(c in ("", "*") for c in self.column):
                raise ValueError("'column' list entries must be column names ('*' stands alone)")
        elif self.column == "":
            raise ValueError("'column' must not be empty")
        if self.name is None:
            self.name = _derived_name(self)
        return self


def _derived_name(rule: Rule) -> str:
    where = ""
    if isinstance(rule.column, list):
        where = "[" + ",".join(rule.column) + "]"
    elif rule.column is not None:
        where = f"[{rule.column}]"
    if rule.baseline is not None:
        return f"{rule.metric}{where}{rule.op}{rule.baseline.describe()}"
    return f"{rule.metric}{where}{rule.op}{_short(rule.value)}"


def _short(value: float | None) -> str:
    """``0.3`` and ``2`` rather than ``0.3`` and ``2.0``, without ``:g``'s rounding."""
    text = f"{value:g}"
    return text if float(text) == value else repr(value)


def rule_name(rule: Rule) -> str:
    """The rule's name (given or derived)."""
    return rule.name if rule.name is not None else _derived_name(rule)


def parse_rules(data: Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Validate a monitor's ``rules``; errors name the field (``rules.0.op``) and duplicates.

    Two rules with the same name would share alerts, so names must be unique.

    >>> [r.name for r in parse_rules([{"metric": "m", "op": ">", "value": 1}])]
    ['m>1']
    """
    rules: dict[int, Rule] = {}
    details: list[dict[str, Any]] = []
    for i, item in enumerate(data):
        try:
            rules[i] = Rule.model_validate(item)
        except ValidationError as exc:
            details += [
                {"field": ".".join(map(str, ("rules", i, *e["loc"]))), "message": e["msg"]}
                for e in exc.errors()
            ]
    seen: set[str] = set()
    for i, rule in rules.items():
        if rule_name(rule) in seen:
            msg = f"duplicate rule name {rule_name(rule)!r}; give one rule a 'name'"
            details.append({"field": f"rules.{i}.name", "message": msg})
        seen.add(rule_name(rule))
    if details:
        raise InvalidInputError("invalid alert rules", details)
    return list(rules.values())
