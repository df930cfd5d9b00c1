"""The ``data_quality`` monitor: missing values, constant columns, domains, ranges, duplicates.

Per column: ``missing_share`` and ``missing_share_change`` (current minus reference),
``missing_share_above_expected`` (how far the missing share exceeds the reference share plus a
tolerance), ``constant_column`` (1.0 when the window has at most one distinct value and the
reference had more), ``out_of_domain_share`` (categoricals: values outside ``domains[column]``
or, without it, outside the reference categories held at least ``domain_min_support`` times),
``out_of_range_share`` (numericals named in ``ranges``) and ``out_of_learned_range_share``
(other numericals: values outside the range learned from the reference, see
``dqm.monitors.integrity.learned``).
Dataset level: ``duplicate_row_share``, ``duplicate_id_share`` (with an id column),
``missing_columns``, ``new_columns`` and ``rows_with_any_problem_share``.

A row's problems are: a missing value in a required column (``required_columns``, by default
the feature columns without missing values in the reference), each out-of-domain or
out-of-range (given or learned) value, being a duplicate row, having a duplicate id. Findings
are those rows, reason ``"integrity"``, score = number of problems, most problems first.

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="c", type="categorical")])
>>> ref, cur = pa.table({"c": ["a", "b"]}), pa.table({"c": ["a", None, "z", "a"]})
>>> r = DataQualityMonitor().run(ref, cur, schema, DataQualityMonitor.Params())
>>> r.value("missing_share", "c"), r.value("out_of_domain_share", "c")
(0.25, 0.3333333333333333)
>>> r.value("duplicate_row_share"), r.value("rows_with_any_problem_share")
(0.25, 0.75)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from dqm.monitors.base import BaseMonitor, Finding, Metric, MonitorResult
from dqm.monitors.columns import IntArray, data_columns
from dqm.monitors.coverage.monitor import row_ids
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.integrity.checks import (
    BoolArray,
    duplicate_mask,
    is_constant,
    missing_mask,
    out_of_domain_mask,
    out_of_range_mask,
)
from dqm.monitors.integrity.learned import learned_range, missing_bound
from dqm.monitors.integrity.params import DataQualityParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.registry import register
from dqm.monitors.schema import ColumnSpec, Schema

__all__ = ["DataQualityMonitor", "DataQualityParams"]

CONSTANT_TYPES = ("numerical", "categorical", "text", "datetime")
SKIP_ROLES = ("id", "timestamp")  # unique by nature: no constant or reference-domain check


@register
class DataQualityMonitor(BaseMonitor[DataQualityParams]):
    """Integrity of the window: missing values, constant columns, values outside their domain
    or range, duplicate rows and ids, missing or unexpected columns."""

    kind: ClassVar[str] = "data_quality"
    Params: ClassVar[type[BaseModel]] = DataQualityParams

    def measure(
        self, profile: ReferenceProfile, current: pa.Table, schema: Schema, p: DataQualityParams
    ) -> MonitorResult:
        ref = profile.table
        _check_columns(schema, p)
        metrics: list[Metric] = []
        flags: list[tuple[str, BoolArray]] = []  # (problem label, rows having it)
        required = _required(ref, schema, p)
        for spec in schema.columns:
            miss = missing_mask(current, spec)
            metrics += _missing_metrics(ref, current, spec, miss)
            if p.learn_expectations and spec.name in ref.column_names:
                metrics += _missing_excess(profile, spec, miss, p)
            if spec.name in required:
                flags.append((f"missing:{spec.name}", miss))
            if spec.name not in current.column_names:
                continue
            metrics += _constant_metric(ref, current, spec, miss)
            for metric, mask in _value_checks(profile, current, spec, p, miss):
                metrics.append(metric)
                flags.append((f"{metric.name.removesuffix('_share')}:{spec.name}", mask))
        dataset_metrics, dataset_flags = _dataset_checks(current, schema)
        metrics += dataset_metrics
        flags += dataset_flags
        problems = np.zeros(current.num_rows, dtype=np.int64)
        for _, mask in flags:
            problems += mask
        metrics.append(Metric("rows_with_any_problem_share", float(np.mean(problems > 0))))
        return MonitorResult(tuple(metrics), _findings(current, schema, problems, flags, p))


def _check_columns(schema: Schema, p: DataQualityParams) -> None:
    schema.require([*p.domains, *p.ranges, *(p.required_columns or [])])
    wrong = [(n, "categorical") for n in p.domains if schema.column(n).type != "categorical"]
    wrong += [(n, "numerical") for n in p.ranges if schema.column(n).type != "numerical"]
    if wrong:
        raise InvalidInputError(
            "domains apply to categorical columns and ranges to numerical ones",
            [{"column": n, "expected_type": t} for n, t in wrong],
        )


def _required(ref: pa.Table, schema: Schema, p: DataQualityParams) -> set[str]:
    if p.required_columns is not None:
        return set(p.required_columns)
    return {
        c.name
        for c in schema.with_role("feature")
        if c.name in ref.column_names and not missing_mask(ref, c).any()
    }


def _missing_metrics(
    ref: pa.Table, current: pa.Table, spec: ColumnSpec, miss: BoolArray
) -> list[Metric]:
    share = float(miss.mean())
    details = {} if spec.name in current.column_names else {"absent": True}
    out = [Metric("missing_share", share, spec.name, details=details)]
    if spec.name in ref.column_names and ref.num_rows:
        change = share - float(missing_mask(ref, spec).mean())
        out.append(Metric("missing_share_change", change, spec.name))
    else:
        out.append(Metric("missing_share_change", None, spec.name, status="skipped: no reference"))
    return out


def _constant_metric(
    ref: pa.Table, current: pa.Table, spec: ColumnSpec, miss: BoolArray
) -> list[Metric]:
    if spec.type not in CONSTANT_TYPES or spec.role in SKIP_ROLES:
        return []
    if spec.name not in ref.column_names:
        return []
    if spec.role == "target" and miss.all():
        # Labels arrive late: an unlabelled window is not a constant column.
        return [Metric("constant_column", None, spec.name, status="skipped: no labels yet")]
    became = is_constant(current, spec) and not is_constant(ref, spec)
    return [Metric("constant_column", 1.0 if became else 0.0, spec.name)]


def _value_checks(
    profile: ReferenceProfile,
    current: pa.Table,
    spec: ColumnSpec,
    p: DataQualityParams,
    miss: BoolArray,
) -> list[tuple[Metric, BoolArray]]:
    n_present = int((~miss).sum())
    out: list[tuple[Metric, BoolArray]] = []
    by_reference = spec.name in profile.table.column_names and spec.role not in SKIP_ROLES
    if spec.type == "categorical" and (spec.name in p.domains or by_reference):
        source = "param" if spec.name in p.domains else "reference"
        domain = p.domains.get(spec.name) or _reference_domain(profile, spec.name, p)
        mask = out_of_domain_mask(current, spec.name, domain)
        details = {"domain_source": source, "domain_size": len(domain)}
        out.append((_share("out_of_domain_share", mask, n_present, spec.name, details), mask))
    if spec.name in p.ranges:
        lo, hi = p.ranges[spec.name]
        mask = out_of_range_mask(current, spec.name, lo, hi)
        details = {"min": lo, "max": hi}
        out.append((_share("out_of_range_share", mask, n_present, spec.name, details), mask))
    elif spec.type == "numerical" and by_reference and p.learn_expectations:
        out += _learned_range_check(profile, current, spec.name, p, n_present)
    return out


def _learned_range_check(
    profile: ReferenceProfile, current: pa.Table, column: str, p: DataQualityParams, n: int
) -> list[tuple[Metric, BoolArray]]:
    bounds = profile.bounds(column)
    if np.isnan(bounds.min):
        return []  # no reference values to learn from
    lo, hi = learned_range(bounds, p.range_tolerance)
    mask = out_of_range_mask(current, column, lo, hi)
    details = {"min": lo, "max": hi, "range_source": "reference", "tolerance": p.range_tolerance}
    return [(_share("out_of_learned_range_share", mask, n, column, details), mask)]


def _reference_domain(profile: ReferenceProfile, column: str, p: DataQualityParams) -> list[str]:
    ref = profile.categorical(column)  # sorted, non-null
    keep = ref.counts >= p.domain_min_support
    return [str(c) for c in ref.categories[keep]]


def _missing_excess(
    profile: ReferenceProfile, spec: ColumnSpec, miss: BoolArray, p: DataQualityParams
) -> list[Metric]:
    name = "missing_share_above_expected"
    if spec.role == "target" and miss.all():
        return [Metric(name, None, spec.name, status="skipped: no labels yet")]
    reference_share = float(missing_mask(profile.table, spec).mean())
    bound = missing_bound(reference_share, int(miss.size), p.missing_tolerance)
    details = {"reference_share": reference_share, "expected_at_most": bound}
    return [Metric(name, max(0.0, float(miss.mean()) - bound), spec.name, details=details)]


def _share(
    name: str, mask: BoolArray, n: int, column: str | None, details: dict[str, Any]
) -> Metric:
    if n == 0:
        return Metric(name, None, column, status="skipped: no values", details=details)
    return Metric(name, float(mask.sum() / n), column, details=details)


def _dataset_checks(
    current: pa.Table, schema: Schema
) -> tuple[list[Metric], list[tuple[str, BoolArray]]]:
    names = data_columns(current)
    dup_rows = duplicate_mask(current, names)
    metrics = [Metric("duplicate_row_share", float(dup_rows.mean()))]
    flags = [("duplicate_row", dup_rows)]
    id_col = schema.role_column("id")
    if id_col is not None and id_col.name in names:
        present = ~missing_mask(current, id_col)
        dup_ids = duplicate_mask(current, [id_col.name]) & present
        metrics.append(_share("duplicate_id_share", dup_ids, int(present.sum()), None, {}))
        flags.append(("duplicate_id", dup_ids))
    missing = [n for n in schema.names if n not in names]
    new = [n for n in names if n not in schema.names]
    metrics.append(Metric("missing_columns", float(len(missing)), details={"columns": missing}))
    metrics.append(Metric("new_columns", float(len(new)), details={"columns": new}))
    return metrics, flags


def _findings(
    current: pa.Table,
    schema: Schema,
    problems: IntArray,
    flags: list[tuple[str, BoolArray]],
    p: DataQualityParams,
) -> tuple[Finding, ...]:
    rows = np.flatnonzero(problems > 0)
    order = rows[np.argsort(-problems[rows], kind="stable")][: p.max_findings].tolist()
    ids = row_ids(current, schema, order)
    return tuple(
        Finding(
            row_id=rid,
            score=float(problems[i]),
            reason="integrity",
            details={"problems": [label for label, mask in flags if mask[i]]},
        )
        for rid, i in zip(ids, order, strict=True)
    )
