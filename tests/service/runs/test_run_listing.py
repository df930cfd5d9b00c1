"""``GET /v1/monitors/{name}/runs``: a constant number of queries whatever the count, the same
JSON as RunOut models of the stored rows, keyset pages in schedule order."""

from __future__ import annotations

import json
import platform
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import DateTime, delete, event, select
from sqlalchemy.dialects import sqlite

import dqm.service.paging as paging
import dqm.service.runs.listing as listing
from dqm.service.api.monitors import run_view
from dqm.service.api.schemas import RunPage
from dqm.service.app import create_app
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import MetricValue, Monitor, Run, RunMetricsJson
from dqm.service.db.session import transaction
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor, frame, records
from tests.service.helpers import make_context
from tests.support.server import running_server

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
    # The API key check, the monitor, the page with its documents, the rows of runs without.
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


def _reference_page(ctx: Context, name: str) -> RunPage:
    """The listing built the slow, obvious way: ORM rows → RunOut models."""
    with ctx.sessions() as session:
        monitor = session.scalars(select(Monitor).where(Monitor.name == name)).one()
        rows = listing.runs_with_metrics(session, monitor, 1000)
        return RunPage(
            items=[run_view(run, name, values) for run, values in rows], next_cursor=None
        )


def _reference_listing(ctx: Context, name: str) -> list[dict[str, Any]]:
    """The reference page's runs as JSON."""
    return [run.model_dump(mode="json") for run in _reference_page(ctx, name).items]


def test_listing_matches_the_run_models_for_real_drift_runs(settings: Settings) -> None:
    """Real drift runs (succeeded with their stored JSON document, one from before documents
    existed, one skipped for want of batches) list exactly as RunOut models of their rows
    serialize."""
    with running_server(settings) as client:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).is_success
        assert client.put("/v1/datasets/d/reference", json=records(frame(300, 1))).is_success
        monitor = {**drift_monitor("m", "d", "h"), "actions": [], "enabled": False}
        assert client.post("/v1/monitors", json=monitor).status_code == 201
        assert client.post("/v1/monitors/m/run?wait=true").json()["status"] == "skipped"
        ids = []
        for seed, shift in ((2, 0.0), (3, 1.0), (4, 0.5)):
            batch = records(frame(200, seed, shift=shift, prefix=f"b{seed}-"))
            assert client.post("/v1/datasets/d/batches", json=batch).is_success
            run = client.post("/v1/monitors/m/run?wait=true").json()
            assert run["status"] == "succeeded", run
            ids.append(run["id"])
        ctx = make_context(settings, "test")
        with transaction(ctx.sessions) as session:
            documents = session.scalars(select(RunMetricsJson.run_id)).all()
            assert sorted(documents) == ids  # the runner wrote one per succeeded run
            session.execute(delete(RunMetricsJson).where(RunMetricsJson.run_id == ids[0]))
        response = client.get("/v1/monitors/m/runs", params={"limit": 1000})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        listed = response.json()
        expected = _reference_listing(ctx, "m")
        if not settings.database_url.startswith("postgresql"):
            # Byte for byte the RunPage model's JSON (the documented response_model). Not on
            # PostgreSQL: the reference reads each value's details back from JSONB, which
            # orders object keys its own way (shortest first); there they are equal as JSON.
            assert response.content == _reference_page(ctx, "m").model_dump_json().encode()
    assert listed == {"items": expected, "next_cursor": None}
    assert [r["id"] for r in expected[:3]] == ids[::-1]
    assert len(expected[0]["metrics"]) >= 10 and expected[-1]["metrics"] == []


def _add_runs(ctx: Context, monitor_id: int, hours: list[int]) -> list[int]:
    """Runs scheduled ``hours`` after a fixed start, in the order given (ids follow it)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with transaction(ctx.sessions) as session:
        rows = [
            Run(
                monitor_id=monitor_id,
                scheduled_for=start + timedelta(hours=h),
                trigger="schedule",
                status="succeeded",
                attempts=1,
                created_at=start,
            )
            for h in hours
        ]
        session.add_all(rows)
        session.flush()
        session.add_all(
            RunMetricsJson(run_id=r.id, body=f'[{{"name":"h","value":{h}}}]'.encode())
            for r, h in zip(rows, hours, strict=True)
        )
        return [r.id for r in rows]


def _walk(client: TestClient, limit: int, added: Any = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        body = client.get("/v1/monitors/m/runs", params=params).json()
        seen.extend(body["items"])
        if added is not None:
            added()
            added = None
        if body["next_cursor"] is None:
            return seen
        params["cursor"] = body["next_cursor"]


def test_keyset_pages_follow_the_schedule_not_the_ids(api: tuple[TestClient, Context]) -> None:
    client, ctx = api
    _monitor_with_runs(client, ctx, 0)
    with ctx.sessions() as session:
        monitor_id = session.scalars(select(Monitor.id).where(Monitor.name == "m")).one()
    hours = [5, 1, 9, 3, 7, 0, 8, 2, 6, 4] * 1  # ids out of schedule order
    hours += [h + 10 for h in hours] + [h + 20 for h in hours]
    _add_runs(ctx, monitor_id, hours)
    expected = sorted(hours, reverse=True)
    for limit in (1, 4, 7, 30, 1000):
        walked = _walk(client, limit)
        assert [r["metrics"][0]["value"] for r in walked] == expected, limit
    # Newer runs arriving between pages do not shift the pages after the cursor.
    walked = _walk(client, 8, added=lambda: _add_runs(ctx, monitor_id, [100, 101]))
    assert [r["metrics"][0]["value"] for r in walked] == expected


def test_a_cursor_of_a_deleted_or_foreign_run_is_a_422(api: tuple[TestClient, Context]) -> None:
    client, ctx = api
    _monitor_with_runs(client, ctx, 5)
    first = client.get("/v1/monitors/m/runs", params={"limit": 2}).json()
    anchor = first["items"][-1]["id"]
    assert client.get("/v1/monitors/m/runs", params={"cursor": first["next_cursor"]}).is_success
    with transaction(ctx.sessions) as session:
        session.execute(delete(Run).where(Run.id == anchor))
    for cursor in (first["next_cursor"], paging.encode("runs", (10**9,))):
        response = client.get("/v1/monitors/m/runs", params={"cursor": cursor})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_input" and "list again" in error["message"]


def test_timestamps_are_written_as_pydantic_writes_the_aware_datetimes() -> None:
    """utc_iso on what each driver returns (PostgreSQL: a naive UTC datetime; SQLite: the
    text SQLAlchemy stored, or any other ISO text) against pydantic's JSON of the aware value."""
    rng = random.Random(12)
    dialect = sqlite.dialect()
    stored = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert stored is not None
    span = (datetime(9999, 12, 31) - datetime(1, 1, 1)) // timedelta(microseconds=1)
    moments = [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]
    moments += [
        datetime(1, 1, 1) + timedelta(microseconds=rng.randrange(span)) for _ in range(3000)
    ]
    moments += [m.replace(microsecond=0) for m in moments[:1000]]
    moments += [m.replace(microsecond=rng.choice([1, 10, 100000, 120])) for m in moments[:50]]
    for moment in moments:
        expected = TypeAdapter(datetime).dump_json(moment.replace(tzinfo=UTC)).decode()
        for given in (moment, stored(moment), moment.isoformat(" "), moment.isoformat()):
            assert f'"{listing.utc_iso(given)}"' == expected, given
    assert listing.utc_iso(None) is None


def test_a_page_of_json_texts_parses_as_each_text_alone() -> None:
    texts = [
        '{"rows": 2000, "batches": ["b1", "b2"]}',
        None,
        "null",
        '{"s": "a,b]\\",[", "n": {"x": [1.5, -2e-300, null]}, "u": "\\u00e9\\u2603"}',
        "[]",
        '{"big": 123456789012345678901234567890}',
    ]
    assert listing._json_texts(texts) == [None if t is None else json.loads(t) for t in texts]
    assert listing._json_texts([]) == []


_FAULTS = """
import resource, sys
from dqm.service.runs.listing import retain_freed_memory
if sys.argv[1] == "retain":
    assert retain_freed_memory()
def page():  # a page's short-lived buffers: 26 MB in 13 kB pieces, written, then freed
    return [bytes(13_000) for _ in range(2_000)]
page()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    page()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt"
)
def test_freed_memory_is_reused_without_page_faults() -> None:
    """Without retain_freed_memory glibc returns a freed page's buffers to the kernel and the
    next page faults them back in (26 MB: some 6,000 faults a page); with it, it reuses them."""

    def faults(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True
        )
        return int(run.stdout.split()[-1])

    assert faults("default") > 5 * 4_000
    assert faults("retain") < 500
