"""``GET /v1/monitors/{name}/runs`` reads every listed run with a constant number of queries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from dqm.service.app import create_app
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import MetricValue, Monitor, Run
from dqm.service.db.session import transaction
from dqm.service.settings import Settings
from tests.service.data import SCHEMA

METRICS_PER_RUN = 6


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, Context]]:
    api_only = settings.model_copy(update={"role": "api"})
    ctx = Context.create(api_only)
    with TestClient(create_app(api_only, ctx)) as client:
        yield client, ctx


def _monitor_with_runs(client: TestClient, ctx: Context, runs: int) -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    monitor = {
        "name": "m",
        "dataset": "d",
        "kind": "drift",
        "schedule": {"every": "1h"},
        "window": {"last_batches": 1},
        "enabled": False,
    }
    response = client.post("/v1/monitors", json=monitor)
    assert response.status_code == 201, response.text
    start = utcnow() - timedelta(hours=runs)
    with transaction(ctx.sessions) as session:
        monitor_id = session.scalars(select(Monitor.id).where(Monitor.name == "m")).one()
        rows = [
            Run(
                monitor_id=monitor_id,
                scheduled_for=start + timedelta(hours=i),
                trigger="schedule",
                status="succeeded",
                attempts=1,
                created_at=start,
            )
            for i in range(runs)
        ]
        session.add_all(rows)
        session.flush()
        session.add_all(
            MetricValue(
                run_id=run.id,
                monitor_id=monitor_id,
                name="drift_score",
                column=f"c{k}",
                value=run.id + k / 10,
                status="ok",
                measured_at=start,
            )
            for run in rows
            for k in range(METRICS_PER_RUN)
        )


def _count_statements(ctx: Context) -> list[str]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(ctx.engine, "before_cursor_execute", record)
    return statements


@pytest.mark.parametrize("runs", [3, 40])
def test_listing_runs_takes_the_same_number_of_queries_for_any_count(
    api: tuple[TestClient, Context], runs: int
) -> None:
    client, ctx = api
    _monitor_with_runs(client, ctx, runs)
    statements = _count_statements(ctx)
    response = client.get("/v1/monitors/m/runs", params={"limit": 1000})
    assert response.status_code == 200
    listed = response.json()["items"]
    assert len(listed) == runs
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 4, selects
    newest = listed[0]
    assert [m["column"] for m in newest["metrics"]] == [f"c{k}" for k in range(METRICS_PER_RUN)]
    assert [m["value"] for m in newest["metrics"]] == [
        newest["id"] + k / 10 for k in range(METRICS_PER_RUN)
    ]
    assert all(r["monitor"] == "m" for r in listed)


def test_thousand_runs_latency(api: tuple[TestClient, Context]) -> None:
    """Prints the latency of listing 1,000 runs (the number the docs quote)."""
    client, ctx = api
    _monitor_with_runs(client, ctx, 1000)
    started = time.perf_counter()
    response = client.get("/v1/monitors/m/runs", params={"limit": 1000})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and len(response.json()["items"]) == 1000
    print(f"GET /v1/monitors/m/runs?limit=1000: {elapsed:.3f} s")
