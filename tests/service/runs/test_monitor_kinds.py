"""Every monitor kind runs from the API; its metrics appear in the run, in /metrics, and
can drive rules."""

from __future__ import annotations

from typing import Any

import pytest

from dqm.service.settings import Settings
from tests.service.scrape import scrape_until
from tests.support.pets import SCHEMA, rows
from tests.support.server import running_server


def _unseen(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, row in enumerate(batch):
        if i % 2 == 0:
            row["segment"] = "zzz-new"
    return batch


@pytest.mark.parametrize(
    ("kind", "rule", "metric_names"),
    [
        (
            "coverage",
            {"metric": "category_row_coverage", "column": "segment", "op": "<", "value": 0.9},
            {
                "category_row_coverage",
                "numeric_range_coverage",
                "knn_ood_share",
                "slice_uncovered_share",
                "reference_category_coverage",
            },
        ),
        (
            "data_quality",
            {"metric": "out_of_domain_share", "column": "*", "op": ">", "value": 0.1},
            {
                "missing_share",
                "duplicate_row_share",
                "out_of_domain_share",
                "rows_with_any_problem_share",
                "new_columns",
            },
        ),
        (
            "label_quality",
            {"metric": "label_coverage", "op": "<", "value": 0.5},
            {
                "label_coverage",
                "accuracy",
                "estimated_accuracy",
                "label_issue_share",
                "label_drift_score",
            },
        ),
    ],
)
def test_kind_runs_reports_and_alerts(
    settings: Settings, kind: str, rule: dict[str, Any], metric_names: set[str]
) -> None:
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "pets", "schema": SCHEMA}).raise_for_status()
        client.put("/v1/datasets/pets/reference", json=rows(400, 1, "r")).raise_for_status()
        created = client.post(
            "/v1/monitors",
            json={
                "name": kind,
                "dataset": "pets",
                "kind": kind,
                "schedule": {"cron": "0 * * * *"},
                "window": {"last_batches": 1},
                "rules": [rule],
            },
        )
        assert created.status_code == 201, created.text
        batch = _unseen(rows(200, 2, "p"))
        for row in batch[:150]:
            row["label"] = None  # labels have not arrived for most rows yet
        client.post("/v1/datasets/pets/batches", json=batch).raise_for_status()
        run = client.post(f"/v1/monitors/{kind}/run?wait=true").json()
        assert run["status"] == "succeeded", run
        names = {m["name"] for m in run["metrics"]}
        assert metric_names <= names, metric_names - names
        firing = client.get("/v1/alerts?state=firing").json()["items"]
        assert [a["metric"] for a in firing] == [rule["metric"]]
        scrape_until(client, *(f'metric="{name}"' for name in metric_names))
