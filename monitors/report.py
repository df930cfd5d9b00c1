"""Evidently's HTML data-drift report for a window: the one runtime import of Evidently.

The report is for a person to look at (``GET /v1/runs/{id}/report``); dqm's own numbers come
from :mod:`dqm.monitors.drift.monitor`, which reproduces the same per-column scores without
Evidently. :func:`render_run_report` draws a run's report with the run's own columns, methods
and thresholds (so Evidently's per-column scores are the run's), and notes at the top of the
page what it cannot show as the run decided it.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.drift.methods import MethodName
from dqm.monitors.drift.monitor import TESTED_ROLES
from dqm.monitors.drift.params import DriftParams
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema


def render_drift_report(
    reference: pa.Table,
    current: pa.Table,
    schema: Schema,
    params: DriftParams | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> str:
    """Evidently's DataDriftPreset report of ``current`` against ``reference`` as one HTML page.

    Tests the columns the drift monitor tests (numerical and categorical features, predictions,
    probabilities and targets); a column with no values in either window is left out, since
    Evidently refuses empty columns. ``params`` (the monitor's) carries over the options both
    share: columns, drift share, methods (see ``EVIDENTLY_METHOD``) and thresholds.

    Parameters
    ----------
    max_rows
        Most rows of each side to report on: a larger side is replaced by a uniform sample
        without replacement of ``max_rows`` rows (the page grows with the rows and Evidently's
        time with them), and the page says so at the top. None: every row.
    seed
        Seed of the sampling, so the same window gives the same page.
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
    ref_sample = sample_rows(reference, max_rows, seed)
    cur_sample = sample_rows(current, max_rows, seed + 1)
    page = _render(_frame(ref_sample, specs), _frame(cur_sample, specs), specs, _preset_options(p))
    sampled = (ref_sample.num_rows, reference.num_rows), (cur_sample.num_rows, current.num_rows)
    if any(kept < full for kept, full in sampled):
        page = _with_note(page, _sampling_note(*sampled, seed=seed))
    return page


@dataclass(frozen=True)
class RunColumn:
    """A column as a run measured it: its dqm method name and drift threshold."""

    name: str
    method: str
    threshold: float


def render_run_report(
    reference: pa.Table,
    current: pa.Table,
    schema: Schema,
    columns: Sequence[RunColumn],
    drift_share: float,
    notes: Sequence[str] = (),
    max_rows: int | None = None,
    seed: int = 0,
) -> str:
    """Evidently's DataDriftPreset over exactly ``columns``, each with its run's method and
    threshold, as one HTML page whose top lists ``notes`` (HTML) and what differs from the run.

    A column whose method Evidently cannot render (``EVIDENTLY_METHOD`` maps it to None) is
    left out and named in the notes. ``max_rows`` and ``seed``: as :func:`render_drift_report`;
    a sampled page says that its scores come from the samples.
    """
    if reference.num_rows == 0 or current.num_rows == 0:
        raise InvalidInputError(
            "a drift report needs a non-empty reference and current window",
            [{"reference_rows": reference.num_rows, "current_rows": current.num_rows}],
        )
    by_name = {c.name: c for c in schema.columns if c.type in ("numerical", "categorical")}
    shown = [c for c in columns if c.method in RENDERABLE and c.name in by_name]
    left_out = [c for c in columns if c not in shown]
    specs = [by_name[c.name] for c in shown]
    lines = list(notes)
    if left_out:
        names = ", ".join(f"{c.name} ({c.method})" for c in left_out)
        lines.append(f"Not in this view: {html.escape(names)}: Evidently has no such method.")
    if not specs:
        raise InvalidInputError(
            "no column of the run can be drawn by Evidently",
            [{"column": c.name, "method": c.method} for c in left_out],
        )
    options = {
        "columns": [s.name for s in specs],
        "drift_share": drift_share,
        "per_column_method": {
            c.name: _evidently_method(c.method)
            for c in shown
            if not _default_category_test(c, by_name[c.name])
        },
        "per_column_threshold": {c.name: c.threshold for c in shown},
    }
    ref_sample = sample_rows(reference, max_rows, seed)
    cur_sample = sample_rows(current, max_rows, seed + 1)
    page = _render(_frame(ref_sample, specs), _frame(cur_sample, specs), specs, options)
    sampled = (ref_sample.num_rows, reference.num_rows), (cur_sample.num_rows, current.num_rows)
    if any(kept < full for kept, full in sampled):
        lines.append(
            html.escape(_sampling_text(*sampled, seed=seed))
            + " Its scores are computed on the samples, so they can differ from the run's."
        )
    return _with_note(page, _note_box(lines)) if lines else page


def _default_category_test(column: RunColumn, spec: ColumnSpec) -> bool:
    """Whether the run tested a numerical column with chi-square or z: Evidently's default for
    at most 5 distinct values, which it refuses when asked for by name, so the report leaves
    the choice to its default (the same test: dqm reproduces that choice)."""
    return spec.type == "numerical" and column.method in ("chisquare", "z")


def sample_rows(table: pa.Table, max_rows: int | None, seed: int) -> pa.Table:
    """``table``, or a uniform sample of ``max_rows`` of its rows (without replacement, in
    their original order) when it has more.

    >>> sample_rows(pa.table({"x": list(range(10))}), 3, seed=0).num_rows
    3
    >>> sample_rows(pa.table({"x": [1, 2]}), 3, seed=0).num_rows
    2
    """
    if max_rows is None or table.num_rows <= max_rows:
        return table
    rows = np.random.default_rng(seed).choice(table.num_rows, size=max_rows, replace=False)
    return table.take(pa.array(np.sort(rows)))


def _sampling_text(reference: tuple[int, int], current: tuple[int, int], seed: int) -> str:
    return (
        f"Sampled report: reference {reference[0]:,} of {reference[1]:,} rows, current window "
        f"{current[0]:,} of {current[1]:,} rows (uniform random sample without replacement, "
        f"seed {seed})."
    )


NOTE_STYLE = "padding:8px 12px;margin:8px;border:1px solid #c9a400;background:#fff8d6;color:#222"


def _sampling_note(reference: tuple[int, int], current: tuple[int, int], seed: int) -> str:
    """The visible note at the top of a page drawn from samples."""
    text = html.escape(_sampling_text(reference, current, seed))
    return f'<div class="dqm-sampling-note" role="note" style="{NOTE_STYLE}">{text}</div>'


def _note_box(lines: Sequence[str]) -> str:
    """The notes (HTML) at the top of a run's report, one paragraph each."""
    body = "".join(f'<p style="margin:4px 0">{line}</p>' for line in lines)
    return f'<div class="dqm-run-note" role="note" style="{NOTE_STYLE}">{body}</div>'


def decision_differences(p: DriftParams) -> list[str]:
    """What in the run's decisions Evidently's view does not reproduce (text, one per line).

    >>> [line.split(";")[0] for line in decision_differences(DriftParams(column_weights={"a": 2}))]
    ['The run weighs columns in share_drifted_columns (column_weights)']
    >>> decision_differences(DriftParams())
    []
    """
    lines = []
    if p.multiple_testing != "none":
        lines.append(
            f"The run compared p-values adjusted across columns ({p.multiple_testing}) with "
            "the thresholds; Evidently compares the raw p-values, so its drift flags can differ."
        )
    if p.policy == "calibrated" or p.effect_size_floor is not None:
        lines.append(
            "The run counts a p-value test as drift only when effect_size also reaches its "
            "floor; Evidently does not, so its drift flags can differ."
        )
    if p.column_weights:
        lines.append(
            "The run weighs columns in share_drifted_columns (column_weights); Evidently "
            "counts each column once."
        )
    return lines


def _with_note(page: str, note: str) -> str:
    """``page`` with ``note`` first inside its body (or first of all without a body tag)."""
    start = page.lower().find("<body")
    end = page.find(">", start) + 1 if start >= 0 else 0
    return page[:end] + note + page[end:]


# dqm method names Evidently knows under another name; methods mapped to None have no
# Evidently counterpart that can render here (``tvd`` is a p-value in Evidently, its
# ``fisher_exact`` needs windows of equal size), so the report uses Evidently's default.
EVIDENTLY_METHOD: dict[str, str | None] = {
    "mmd": "empirical_mmd",
    "tvd": None,
    "fisher_exact": None,
}


# dqm's methods Evidently can draw; the policy's and the embedding methods are dqm's own.
RENDERABLE = frozenset(m for m in get_args(MethodName) if EVIDENTLY_METHOD.get(m, m) is not None)


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
