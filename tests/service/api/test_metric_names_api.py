"""Rules and series name metrics the monitor's kind reports, at their level, on columns of the
dataset: anything else is a 422 that lists the valid names, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server


def monitor(rules: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    return {
        "name": "m",
        "dataset": "d",
        "kind": "drift",
        "params": params,
        "schedule": {"every": "1h"},
        "rules": rules,
    }


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    with running_server(settings) as c:
        assert c.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        assert c.put("/v1/datasets/d/reference", json=records(frame(200, 1))).status_code == 201
        yield c


def refused(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"][0]["field"] == field
    return error


@pytest.mark.parametrize(
    ("rule", "field", "says"),
    [
        (
            {"metric": "share_drifted_column", "op": ">", "value": 0.3},
            "rules[0].metric",
            "did you mean 'share_drifted_columns'",
        ),
        ({"metric": "accuracy", "op": "<", "value": 0.8}, "rules[0].metric", "no metric"),
        (
            {"metric": "drift_score", "column": "nope", "op": "<", "value": 0.05},
            "rules[0].column",
            "not in the dataset's schema",
        ),
        (
            {"metric": "drift_score", "column": ["age", "nope"], "op": "<", "value": 0.05},
            "rules[0].column",
            "['nope']",
        ),
        ({"metric": "drift_score", "op": "<", "value": 0.05}, "rules[0].column", "per column"),
        (
            {"metric": "share_drifted_columns", "column": "age", "op": ">", "value": 0.3},
            "rules[0].column",
            "dataset-level",
        ),
        (
            {"metric": "domain_classifier_auc", "op": ">", "value": 0.6},
            "rules[0].metric",
            "no metric",
        ),
    ],
)
def test_rules_on_metrics_the_kind_cannot_report_are_refused(
    client: httpx.Client, rule: dict[str, Any], field: str, says: str
) -> None:
    error = refused(client.post("/v1/monitors", json=monitor([rule])), field)
    assert says in error["message"]
    if field.endswith("metric"):
        allowed = error["details"][0]["allowed"]
        assert "share_drifted_columns" in allowed["dataset"] and "drift_score" in allowed["column"]
    assert client.get("/v1/monitors").json()["items"] == []


def test_valid_rules_and_patches(client: httpx.Client) -> None:
    rules = [
        {"metric": "share_drifted_columns", "op": ">=", "value": 0.3},
        {"metric": "drift_score", "column": "*", "op": "<", "value": 0.05},
        {"metric": "effect_size", "column": ["age", "income"], "op": ">", "value": 0.2},
        {"metric": "domain_classifier_auc", "op": ">", "value": 0.6},
    ]
    created = client.post("/v1/monitors", json=monitor(rules, domain_classifier=True))
    assert created.status_code == 201, created.text
    # turning the classifier off would orphan the rule on its metric
    off = client.patch("/v1/monitors/m", json={"params": {"domain_classifier": False}})
    assert "domain_classifier_auc" in refused(off, "rules[3].metric")["message"]
    assert client.get("/v1/monitors/m").json()["params"]["domain_classifier"] is True
    typo = client.patch(
        "/v1/monitors/m", json={"rules": [{"metric": "acuracy", "op": "<", "value": 1}]}
    )
    refused(typo, "rules[0].metric")
    assert len(client.get("/v1/monitors/m").json()["rules"]) == 4
    both = client.patch(
        "/v1/monitors/m", json={"params": {"domain_classifier": False}, "rules": rules[:3]}
    )
    assert both.status_code == 200, both.text


def test_series_says_why_it_would_be_empty(client: httpx.Client) -> None:
    assert client.post("/v1/monitors", json=monitor([])).status_code == 201
    client.post("/v1/datasets/d/batches", json=records(frame(100, 2)))
    assert client.post("/v1/monitors/m/run?wait=true").json()["status"] == "succeeded"
    series = "/v1/monitors/m/series"
    refused(client.get(series, params={"metric": "share_drifted_column"}), "metric")
    refused(client.get(series, params={"metric": "drift_score"}), "column")
    refused(client.get(series, params={"metric": "drift_score", "column": "nope"}), "column")
    refused(client.get(series, params={"metric": "dataset_drift", "column": "age"}), "column")
    ok = client.get(series, params={"metric": "drift_score", "column": "age"})
    assert ok.status_code == 200 and len(ok.json()["points"]) == 1
    ok = client.get(series, params={"metric": "share_drifted_columns"})
    assert ok.status_code == 200 and len(ok.json()["points"]) == 1
    missing = client.get("/v1/monitors/nope/series", params={"metric": "drift_score"})
    assert missing.status_code == 404
