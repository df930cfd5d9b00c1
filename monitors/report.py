"""Evidently's HTML data-drift report for a window: the one runtime import of Evidently.

The report is for a person to look at (``GET /v1/runs/{id}/report``); dqm's own numbers come
from :mod:`dqm.monitors.drift.monitor`, which reproduces the same per-column scores without
Evidently.
"""

from __future__ import annotations

import warnings
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.drift.monitor import TESTED_ROLES
from dqm.monitors.drift.params import DriftParams
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema


def render_drift_report(
    reference: pa.Table, current: pa.Table, schema: Schema, params: DriftParams | None = None
) -> str:
    """Evidently's DataDriftPreset report of ``current`` against ``reference`` as one HTML page.

    Tests the columns the drift monitor tests (numerical and categorical features, predictions,
    probabilities and targets); a column with no values in either window is left out, since
    Evidently refuses empty columns. ``params`` (the monitor's) carries over the options both
    share: columns, drift share, methods (see ``EVIDENTLY_METHOD``) and thresholds.
    """
    if reference.num_rows == 0 or current.num_rows == 0:
        raise InvalidInputError(
            "a drift report needs a non-empty reference and current window",
            [{"reference_rows": reference.num_rows, "current_rows": current.num_rows}],
        )
    p = params or DriftParams()
    wanted = set(p.columns) if p.columns is not None else None
    specs = [
        s
        for s in _reportable(schema)
        if (wanted is None or s.name in wanted)
        and _has_values(reference, s)
        and _has_values(current, s)
    ]
    if not specs:
        raise InvalidInputError("no numerical or categorical column with values to report on")
    return _render(_frame(reference, specs), _frame(current, specs), specs, _preset_options(p))


# dqm method names Evidently knows under another name; methods mapped to None have no
# Evidently counterpart that can render here (``tvd`` is a p-value in Evidently, its
# ``fisher_exact`` needs windows of equal size), so the report uses Evidently's default.
EVIDENTLY_METHOD: dict[str, str | None] = {
    "mmd": "empirical_mmd",
    "tvd": None,
    "fisher_exact": None,
}


def _evidently_method(name: str | None) -> str | None:
    return EVIDENTLY_METHOD.get(name, name) if name is not None else None


def _preset_options(p: DriftParams) -> dict[str, Any]:
    """DataDriftPreset keyword arguments equivalent to the monitor's params."""
    per_column = {
        column: evidently
        for column, name in p.per_column_method.items()
        if (evidently := _evidently_method(name)) is not None
    }
    options: dict[str, Any] = {
        "drift_share": p.drift_share,
        "method": _evidently_method(p.stattest),
        "num_method": _evidently_method(p.num_stattest),
        "cat_method": _evidently_method(p.cat_stattest),
        "per_column_method": per_column or None,
        "threshold": p.threshold,
        "num_threshold": p.num_threshold,
        "cat_threshold": p.cat_threshold,
        "per_column_threshold": dict(p.per_column_threshold) or None,
    }
    return {k: v for k, v in options.items() if v is not None}


def _reportable(schema: Schema) -> list[ColumnSpec]:
    return [
        c
        for c in schema.columns
        if c.role in TESTED_ROLES and c.type in ("numerical", "categorical")
    ]


def _has_values(table: pa.Table, spec: ColumnSpec) -> bool:
    if spec.name not in table.column_names:
        return False
    column = table.column(spec.name)
    if spec.type == "numerical":
        column = pc.cast(column, pa.float64())
        return bool(pc.any(pc.is_finite(column)).as_py())
    return bool(column.null_count < len(column))


def _frame(table: pa.Table, specs: list[ColumnSpec]) -> Any:
    arrays = [
        pc.cast(table.column(s.name), pa.float64() if s.type == "numerical" else pa.string())
        for s in specs
    ]
    return pa.table(arrays, names=[s.name for s in specs]).to_pandas()


def _render(reference: Any, current: Any, specs: list[ColumnSpec], options: dict[str, Any]) -> str:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[s.name for s in specs if s.type == "numerical"],
        categorical_columns=[s.name for s in specs if s.type == "categorical"],
    )
    with warnings.catch_warnings():
        # Evidently and scipy warn about zero expected counts; the report shows them anyway.
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset(**options)]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        html: str = snapshot.get_html_str(as_iframe=False)
    return html
