"""Every console page rendered by a real server from real data, its numbers checked against
what the HTTP API answers for the same things (the API is the oracle, not the page's code)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dqm.service.console.filters import num
from tests.service.console import scenario
from tests.service.console.html import table
from tests.support.receiver import running_receiver
from tests.support.server import running_server


@pytest.fixture(scope="module")
def console(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, scenario.Scenario]]:
    """One server and scenario for the whole module: these tests only read."""
    settings = scenario.module_settings(tmp_path_factory.mktemp("console"))
    with running_receiver() as receiver, running_server(settings) as client:
        built = scenario.build(client, receiver.url)
        receiver.secrets.append(built.hook_secret)
        receiver.wait_for(1, "alert.firing")
        yield client, built


def page(client: httpx.Client, path: str, **params: Any) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, (path, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_overview_shows_monitors_alerts_datasets_and_health(
    console: tuple[httpx.Client, scenario.Scenario],
) -> None:
    client, built = console
    html = page(client, "/")
    firing = scenario.items(client.get("/v1/alerts", params={"state": "firing"}))
    assert {a["monitor"] for a in firing} == {"churn-drift", "pets-labels"}
    monitors = {row["Monitor"]: row for row in table(html, "monitor-table")}
    assert set(monitors) == {"churn-drift", "pets-labels"}
    for name, row in monitors.items():
        [last] = scenario.items(client.get(f"/v1/monitors/{name}/runs", params={"limit": 1}))
        assert row["Last run"] == f"{last['status']} run {last['id']}"
        assert row["Alerts"] == "firing 1"
    drift = built.drift_runs[-1]
    share = next(m for m in drift["metrics"] if m["name"] == "share_drifted_columns")
    assert monitors["churn-drift"]["Key metric"] == "share_drifted_columns"
    assert monitors["churn-drift"]["Latest"] == num(share["value"])
    open_alerts = table(html, "open-alerts-table")
    assert {(r["Monitor"], r["Rule"]) for r in open_alerts} == {
        (a["monitor"], a["rule"]) for a in firing
    }
    assert html.count('data-spec="spec-spark-') == 2  # a sparkline per monitor

    datasets = {row["Dataset"]: row for row in table(html, "dataset-table")}
    for name in ("churn", "pets"):
        batches = scenario.items(client.get(f"/v1/datasets/{name}/batches"))
        assert datasets[name]["Batches"] == str(len(batches))
        assert datasets[name]["Rows"] == str(sum(b["rows"] for b in batches))
    assert datasets["churn"]["Labels"] == "10"
    assert 'id="firing-count">2<' in html


def test_dataset_page_shows_schema_references_batches_and_label_coverage(
    console: tuple[httpx.Client, scenario.Scenario],
) -> None:
    client, _ = console
    html = page(client, "/datasets/churn")
    schema = client.get("/v1/datasets/churn").json()["schema"]["columns"]
    assert [(r["Column"], r["Type"], r["Role"]) for r in table(html, "schema-table")] == [
        (c["name"], c["type"], c["role"]) for c in schema
    ]
    references = scenario.items(client.get("/v1/datasets/churn/references"))
    assert [(r["Version"], r["Rows"]) for r in table(html, "reference-table")] == [
        (str(r["version"]), str(r["rows"])) for r in references
    ]
    rows = {r["Batch"]: r for r in table(html, "batch-table")}
    batches = scenario.items(client.get("/v1/datasets/churn/batches"))
    expected = {b["batch_id"]: str(b["rows"]) for b in batches}
    assert {k: r["Rows"] for k, r in rows.items()} == expected
    # b1 and b2 carry their target column; b3 came without it and got 10 labels later.
    assert [rows["b3"][k] for k in ("Labeled in batch", "Labeled later", "Label coverage")] == [
        "0",
        "10",
        "5.0%",
    ]
    assert rows["b1"]["Label coverage"] == "100.0%"
    assert 'id="coverage-share">68.3%<' in html  # (200 + 200 + 10) / 600 rows


def test_monitor_page_draws_series_thresholds_alerts_heatmap_and_runs(
    console: tuple[httpx.Client, scenario.Scenario],
) -> None:
    client, built = console
    html = page(client, "/monitors/churn-drift")
    series = client.get(
        "/v1/monitors/churn-drift/series", params={"metric": "share_drifted_columns"}
    ).json()["points"]
    assert [(r["Run"], r["Value"]) for r in table(html, "series-table")] == [
        (str(p["run_id"]), num(p["value"])) for p in series
    ]
    assert '"y0": 0.3, "y1": 0.3' in html  # the rule's threshold line
    assert '"type": "rect"' in html  # the firing alert's period
    runs = scenario.items(client.get("/v1/monitors/churn-drift/runs"))
    assert [(r["Run"], r["Status"]) for r in table(html, "run-table")] == [
        (str(r["id"]), r["status"]) for r in runs
    ]
    heat = table(html, "heatmap-table")
    for run in built.drift_runs:
        effect = {m["column"]: m["value"] for m in run["metrics"] if m["name"] == "effect_size"}
        assert {r["Column"]: r[f"run {run['id']}"] for r in heat} == {
            c: num(v) for c, v in effect.items()
        }

    column = page(
        client, "/monitors/churn-drift", metric="drift_score", column="age", heat="drift_score"
    )
    age = client.get(
        "/v1/monitors/churn-drift/series", params={"metric": "drift_score", "column": "age"}
    ).json()["points"]
    assert [r["Value"] for r in table(column, "series-table")] == [num(p["value"]) for p in age]
    assert "selected>drift_score</option>" in column
    # The rule's own series stays on the page beside the selected one, with its threshold.
    assert [r["Value"] for r in table(column, "series-table-1")] == [
        num(p["value"]) for p in series
    ]
    assert column.count('"y0": 0.3, "y1": 0.3') == 1


def test_alerts_hooks_and_retrain_pages_list_what_the_api_lists(
    console: tuple[httpx.Client, scenario.Scenario],
) -> None:
    client, built = console
    alerts = scenario.items(client.get("/v1/alerts"))
    rows = table(page(client, "/alerts"), "alert-table")
    assert [(r["Monitor"], r["Rule"], r["State"]) for r in rows] == [
        (a["monitor"], a["rule"], a["state"]) for a in alerts
    ]
    only = table(page(client, "/alerts", monitor="pets-labels", state="firing"), "alert-table")
    assert [r["Monitor"] for r in only] == ["pets-labels"]
    assert "0 alert episodes" in page(client, "/alerts", severity="critical")
    bad = client.get("/alerts", params={"state": "exploded"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]

    deliveries = scenario.items(client.get("/v1/hooks/trainer/deliveries"))
    hook_html = page(client, "/hooks/trainer")
    shown = table(hook_html, "delivery-table")
    assert [r["Event"] for r in shown] == [d["event_type"] for d in deliveries]
    log = next(k for k in shown[0] if k.startswith("Attempt log"))
    for row, delivery in zip(shown, deliveries, strict=True):
        assert row["Attempts"] == str(delivery["attempts"])
        codes = [str(a["status_code"]) for a in delivery["attempt_log"]]
        assert codes and all(code in row[log] for code in codes)
    [hook_row] = table(page(client, "/hooks"), "hook-table")
    delivered = sum(d["status"] == "delivered" for d in deliveries)
    assert hook_row["Delivered"] == str(delivered)
    assert built.hook_secret not in hook_html

    requests = scenario.items(client.get("/v1/retrain-requests"))
    assert requests, "the drift alert asked for a retrain"
    rows = table(page(client, "/retrain"), "retrain-table")
    assert [(r["Request"], r["Status"], r["Monitor"]) for r in rows] == [
        (q["id"], q["status"], q["monitor"]) for q in requests
    ]


def test_relabel_queue_matches_the_api_sorts_and_exports(
    console: tuple[httpx.Client, scenario.Scenario],
) -> None:
    client, _ = console
    api = client.get("/v1/datasets/pets/relabel-queue", params={"limit": 1000})
    queue = scenario.items(api)
    html = page(client, "/relabel/pets")
    rows = table(html, "queue-table")
    assert [r["Row"] for r in rows] == [q["row_id"] for q in queue]
    assert [r["Priority"] for r in rows] == [num(q["priority"]) for q in queue]
    assert f"{api.headers['x-total-count']} rows in the queue" in html
    assert rows[0]["Data"].startswith("6 values")  # the row's data, in a <details>

    first = page(client, "/relabel/pets", limit=5)
    assert [r["Row"] for r in table(first, "queue-table")] == [q["row_id"] for q in queue[:5]]
    assert f"show {len(queue)}</a>" in first

    by_id = page(client, "/relabel/pets", sort="row_id", order="asc")
    assert [r["Row"] for r in table(by_id, "queue-table")] == sorted(q["row_id"] for q in queue)

    exported = client.get("/relabel/pets/export.csv")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    api_csv = client.get("/v1/datasets/pets/relabel-queue", params={"format": "csv", "limit": 1000})
    assert list(csv.DictReader(io.StringIO(exported.text))) == list(
        csv.DictReader(io.StringIO(api_csv.text))
    )
    parquet = client.get("/relabel/pets/export.parquet")
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    index = {r["Dataset"]: r for r in table(page(client, "/relabel"), "queue-index")}
    assert index["pets"]["Rows in the queue"] == api.headers["x-total-count"]
