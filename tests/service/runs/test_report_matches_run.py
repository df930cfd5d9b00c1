"""A drift run's Evidently report shows the run's own columns, methods, thresholds, scores and
verdicts (read from the rendered page), over the run's window with the late labels the run saw;
runs of other kinds are sent to their console page."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import numpy as np
import pytest
from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
from evidently.legacy.core import ColumnType

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server

PSI = {"stattest": "psi"}
MIXED = {
    "per_column_method": {"age": "ks", "income": "wasserstein", "city": "jensenshannon"},
    "per_column_threshold": {"age": 0.01, "city": 0.05},
    "drift_share": 0.3,
}


def _evidently_rows(page: str) -> tuple[str, list[dict[str, Any]]]:
    """The per-column table Evidently rendered: its title and rows (column, test, score)."""
    title_at = page.find("Drift is detected for")
    assert title_at > 0
    start = page.rfind('{"type": "big_table"', 0, title_at)
    table, _ = json.JSONDecoder().raw_decode(page[start:])
    return table["title"], table["params"]["data"]


def _display_name(method: str, column_type: str) -> str:
    kind = ColumnType.Numerical if column_type == "num" else ColumnType.Categorical
    return str(_registered_stat_tests[method][kind].display_name)


def _setup(client: httpx.Client) -> None:
    client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
    client.put("/v1/datasets/d/reference", json=records(frame(600, 1))).raise_for_status()
    batch = frame(400, 2, shift=0.4, prefix="b")
    batch["label"] = [None] * 400
    client.post("/v1/datasets/d/batches", json=records(batch)).raise_for_status()
    # Late labels, all "yes": the target drifts only if they are joined.
    late = [{"id": f"b{i}", "label": "yes"} for i in range(0, 400, 2)]
    client.post("/v1/datasets/d/labels", json={"labels": late}).raise_for_status()


@pytest.mark.slow
@pytest.mark.parametrize("params", [PSI, MIXED], ids=["psi", "mixed"])
def test_report_shows_the_runs_methods_scores_and_verdicts(
    settings: Settings, params: dict[str, Any]
) -> None:
    with running_server(settings) as client:
        _setup(client)
        monitor = {"name": "m", "dataset": "d", "kind": "drift", "params": params}
        client.post("/v1/monitors", json={**monitor, "schedule": {"every": "1h"}})
        run = client.post("/v1/monitors/m/run?wait=true").json()
        assert run["status"] == "succeeded", run
        # Labels posted after the run are not the run's: the report leaves them out too.
        later = [{"id": f"b{i}", "label": "no"} for i in range(1, 400, 2)]
        client.post("/v1/datasets/d/labels", json={"labels": later}).raise_for_status()
        report = client.get(f"/v1/runs/{run['id']}/report")
    assert report.status_code == 200, report.text
    scored = {m["column"]: m for m in run["metrics"] if m["name"] == "drift_score" and m["method"]}
    assert set(scored) == {"age", "income", "city", "label"}
    title, rows = _evidently_rows(report.text)
    assert {r["column_name"] for r in rows} == set(scored)
    for row in rows:
        mine = scored[row["column_name"]]
        assert row["stattest_name"] == _display_name(mine["method"], row["column_type"]), row
        assert row["drift_score"] == pytest.approx(round(mine["value"], 6), abs=1.5e-6), row
        assert (row["data_drift"] == "Detected") == mine["drifted"], row
    if params is PSI:
        assert {m["method"] for m in scored.values()} == {"psi"}
    drifted = next(m for m in run["metrics"] if m["name"] == "number_drifted_columns")
    assert f"({int(drifted['value'])} out of {len(scored)})" in title
    assert re.search(r'class="dqm-run-note"', report.text)
    assert f'href="../../../runs/{run["id"]}"' in report.text


@pytest.mark.slow
def test_other_kinds_are_sent_to_their_run_page(settings: Settings) -> None:
    with running_server(settings) as client:
        _setup(client)
        monitor = {"name": "c", "dataset": "d", "kind": "coverage", "schedule": {"every": "1h"}}
        client.post("/v1/monitors", json=monitor).raise_for_status()
        run = client.post("/v1/monitors/c/run?wait=true").json()
        assert run["status"] == "succeeded", run
        report = client.get(f"/v1/runs/{run['id']}/report")
        assert report.status_code == 303
        assert report.headers["location"] == f"/runs/{run['id']}"
        prefixed = client.get(
            f"/v1/runs/{run['id']}/report", headers={"X-Forwarded-Prefix": "/team/dqm"}
        )
        assert prefixed.headers["location"] == f"/team/dqm/runs/{run['id']}"
        assert client.get(report.headers["location"]).status_code == 200


@pytest.mark.slow
def test_a_numerical_column_with_few_values_keeps_evidentlys_default_test(
    settings: Settings,
) -> None:
    """Up to 5 distinct values, a numerical column gets chi-square or z by default, which
    Evidently refuses when asked for by name: the report lets Evidently's default choose it,
    and shows the run's score."""
    schema = {
        "columns": [{"name": "rooms", "type": "numerical"}, {"name": "x", "type": "numerical"}]
    }
    rng = np.random.default_rng(4)
    reference = [
        {"rooms": int(r), "x": float(x)}
        for r, x in zip(rng.choice([1, 2, 3], 500), rng.normal(size=500), strict=True)
    ]
    batch = [
        {"rooms": int(r), "x": float(x)}
        for r, x in zip(
            rng.choice([1, 2, 3], 300, p=[0.6, 0.3, 0.1]), rng.normal(size=300), strict=True
        )
    ]
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "h", "schema": schema}).raise_for_status()
        client.put("/v1/datasets/h/reference", json=reference).raise_for_status()
        client.post("/v1/datasets/h/batches", json=batch).raise_for_status()
        monitor = {"name": "m", "dataset": "h", "kind": "drift", "schedule": {"every": "1h"}}
        client.post("/v1/monitors", json=monitor).raise_for_status()
        run = client.post("/v1/monitors/m/run?wait=true").json()
        report = client.get(f"/v1/runs/{run['id']}/report")
    assert report.status_code == 200, report.text
    scored = {m["column"]: m for m in run["metrics"] if m["name"] == "drift_score" and m["method"]}
    assert scored["rooms"]["method"] == "chisquare" and scored["x"]["method"] == "ks"
    _, rows = _evidently_rows(report.text)
    assert {r["column_name"] for r in rows} == {"rooms", "x"}
    for row in rows:
        mine = scored[row["column_name"]]
        # Evidently registers chi-square for categories only, and applies it to "num" anyway.
        tests = _registered_stat_tests[mine["method"]].values()
        assert row["stattest_name"] in {t.display_name for t in tests}, row
        assert row["drift_score"] == pytest.approx(round(mine["value"], 6), abs=1.5e-6), row
        assert (row["data_drift"] == "Detected") == mine["drifted"], row
