"""The Evidently HTML report of a window."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.drift.params import DriftParams
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.report import RunColumn, render_drift_report, render_run_report
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="row_id", type="numerical", role="id"),
        ColumnSpec(name="temperature_c", type="numerical"),
        ColumnSpec(name="weather_kind", type="categorical"),
        ColumnSpec(name="empty_sensor", type="numerical"),
    ]
)


def _table(seed: int, n: int, shift: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "row_id": np.arange(n, dtype=np.float64),
            "temperature_c": rng.normal(15 + shift, 5, n),
            "weather_kind": rng.choice(["sun", "rain", "snow"], n).tolist(),
            "empty_sensor": pa.nulls(n, pa.float64()),
        }
    )


def test_report_is_an_html_document_naming_the_columns() -> None:
    html = render_drift_report(_table(0, 300, 0.0), _table(1, 200, 3.0), SCHEMA)
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    assert "</html>" in html.lower()
    assert "temperature_c" in html
    assert "weather_kind" in html
    # An all-null column is left out instead of failing the whole report.
    assert "empty_sensor" not in html


def test_report_of_an_empty_window_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        render_drift_report(_table(0, 300, 0.0), _table(1, 0, 0.0), SCHEMA)


def test_report_follows_the_monitor_params() -> None:
    params = DriftParams(columns=["temperature_c"], stattest="psi", threshold=0.3)
    html = render_drift_report(_table(0, 300, 0.0), _table(1, 200, 3.0), SCHEMA, params)
    assert "temperature_c" in html
    assert "weather_kind" not in html
    assert "PSI" in html


def test_report_maps_dqm_only_methods_to_what_evidently_can_render() -> None:
    params = DriftParams(
        num_stattest="mmd", per_column_method={"weather_kind": "tvd"}, cat_stattest="fisher_exact"
    )
    html = render_drift_report(_table(0, 300, 0.0), _table(1, 200, 3.0), SCHEMA, params)
    assert "empirical_mmd" in html  # Evidently's name of dqm's mmd
    assert "weather_kind" in html  # rendered with Evidently's default method instead of failing


def test_run_report_leaves_out_what_evidently_cannot_draw_and_says_so() -> None:
    columns = [
        RunColumn("temperature_c", "psi", 0.2),
        RunColumn("weather_kind", "chi2_contingency", 0.05),  # the calibrated policy's test
    ]
    page = render_run_report(
        _table(0, 300, 0.0), _table(1, 200, 3.0), SCHEMA, columns, 0.5, notes=["<b>run 7</b>"]
    )
    note = page[page.index('<div class="dqm-run-note"') :]
    note = note[: note.index("</div>")]
    assert "<b>run 7</b>" in note
    assert "Not in this view: weather_kind (chi2_contingency)" in note
    assert '"column_name": "temperature_c"' in page and '"stattest_name": "PSI"' in page
    assert '"column_name": "weather_kind"' not in page
    with pytest.raises(InvalidInputError):
        render_run_report(_table(0, 300, 0.0), _table(1, 200, 3.0), SCHEMA, columns[1:], 0.5)
