"""The API documents itself: /docs, /openapi.json, and monitor examples that stay valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.monitors.kinds import parse_params
from dqm.service.api.examples import MONITOR_EXAMPLES
from dqm.service.api.schemas import MonitorCreate
from dqm.service.db.models import Dataset
from dqm.service.runs.metric_checks import check_rules
from dqm.service.settings import Settings
from tests.support.server import running_server


@pytest.mark.parametrize("name", sorted(MONITOR_EXAMPLES))
def test_every_documented_monitor_example_is_valid(name: str) -> None:
    spec = MonitorCreate.model_validate(MONITOR_EXAMPLES[name].get("value"))
    params = parse_params(spec.kind, spec.params)
    # the rules name metrics the kind reports, at their level (raises otherwise)
    check_rules(Dataset(name="churn", schema_json=None), spec.kind, params, spec.rules)


def test_docs_and_openapi_are_served(settings: Settings) -> None:
    with running_server(settings) as client:
        assert "swagger-ui" in client.get("/docs").text
        spec = client.get("/openapi.json").json()
        for path in (
            "/v1/datasets/{name}/batches",
            "/v1/monitors/{name}/run",
            "/v1/hooks",
            "/v1/datasets/{name}/relabel-queue",
            "/v1/retrain-requests",
        ):
            assert path in spec["paths"], path
        body = spec["paths"]["/v1/datasets/{name}/batches"]["post"]["requestBody"]["content"]
        assert {
            "application/json",
            "text/csv",
            "application/vnd.apache.parquet",
            "application/vnd.apache.arrow.stream",
        } <= set(body)
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        missing = client.get("/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_readyz_is_503_until_migrations_are_applied(settings: Settings, tmp_path: Path) -> None:
    fresh = settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'new.db'}", "role": "api"}
    )
    with running_server(fresh) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["migrations"] == "not current"
        assert client.get("/healthz").status_code == 200
