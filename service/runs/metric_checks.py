"""Rules and series name metrics the monitor's kind reports, on columns its dataset has.

A rule on a name the kind never reports would never fire; a series of one would stay empty.
Both are refused with a 422 listing the valid names (``dqm.monitors.metric_names``). A
dataset without a schema yet (no reference) has its columns checked once it has one: until
then only the names and levels are.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dqm.alerts.spec import Rule
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.metric_names import MetricNames, metric_names
from dqm.monitors.schema import Schema
from dqm.service.db.models import Dataset, MetricValue, Monitor


def _schema(dataset: Dataset) -> Schema | None:
    return Schema.model_validate(dataset.schema_json) if dataset.schema_json else None


def _unknown(field: str, metric: str, kind: str, names: MetricNames) -> InvalidInputError:
    known = sorted(names.dataset | names.column)
    close = difflib.get_close_matches(metric, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return InvalidInputError(
        f"{kind} monitors report no metric {metric!r}{hint}",
        [{"field": field, "value": metric, "allowed": names.listing()}],
    )


def _columns_of(rule: Rule) -> list[str]:
    if rule.column is None or rule.column == "*":
        return []
    return [rule.column] if isinstance(rule.column, str) else list(rule.column)


def _check_rule(i: int, rule: Rule, kind: str, names: MetricNames, schema: Schema | None) -> None:
    field = f"rules[{i}]"
    level = names.level(rule.metric)
    if level is None:
        raise _unknown(f"{field}.metric", rule.metric, kind, names)
    if level == "dataset" and rule.column is not None:
        raise InvalidInputError(
            f"{rule.metric!r} is a dataset-level metric: leave out column",
            [{"field": f"{field}.column", "value": rule.column, "allowed": None}],
        )
    if level == "column" and rule.column is None:
        raise InvalidInputError(
            f"{rule.metric!r} is reported per column: set column to a column, a list of "
            'columns or "*" (every column)',
            [{"field": f"{field}.column", "value": None}],
        )
    if schema is None:
        return
    allowed = [*schema.names, *sorted(names.extra_columns - set(schema.names))]
    missing = [c for c in _columns_of(rule) if c not in allowed]
    if missing:
        raise InvalidInputError(
            f"rule on {rule.metric!r} names columns not in the dataset's schema: {missing}",
            [{"field": f"{field}.column", "value": missing, "allowed": allowed}],
        )


def check_rules(dataset: Dataset, kind: str, params: BaseModel, rules: Sequence[Rule]) -> None:
    """Refuse rules on metrics ``kind`` does not report, at the wrong level or on unknown
    columns (``InvalidInputError`` naming the rule and the valid names)."""
    names = metric_names(kind, params)
    if names is None:
        return
    schema = _schema(dataset)
    for i, rule in enumerate(rules):
        _check_rule(i, rule, kind, names, schema)


def check_series(
    session: Session, monitor: Monitor, params: BaseModel, metric: str, column: str | None
) -> None:
    """Refuse a series request that can only be empty: a metric the kind does not report (and
    that was never stored, e.g. before a params change), a per-column metric without
    ``column``, a dataset-level metric with one, or a column not in the schema."""
    names = metric_names(monitor.kind, params)
    if names is None:
        return
    level = names.level(metric)
    if level is None:
        stored = select(MetricValue.id).where(
            MetricValue.monitor_id == monitor.id, MetricValue.name == metric
        )
        if session.scalar(stored.limit(1)) is None:
            raise _unknown("metric", metric, monitor.kind, names)
        return
    details: list[dict[str, Any]] = [{"field": "column", "value": column}]
    if level == "column" and column is None:
        raise InvalidInputError(f"{metric!r} is reported per column: pass ?column=", details)
    if level == "dataset" and column is not None:
        raise InvalidInputError(f"{metric!r} is a dataset-level metric: leave out column", details)
    schema = _schema(session.get_one(Dataset, monitor.dataset_id))
    if column is None or schema is None:
        return
    allowed = [*schema.names, *sorted(names.extra_columns - set(schema.names))]
    if column not in allowed:
        raise InvalidInputError(
            f"column {column!r} is not in the dataset's schema",
            [{"field": "column", "value": column, "allowed": allowed}],
        )
