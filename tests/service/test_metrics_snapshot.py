"""/metrics' database families come from a snapshot (service/metrics_snapshot.py): after real
drift runs it holds what the API says about them, its incremental refresh agrees with a full
read, deletes and retention reach it, two replicas on one database converge within the
documented bound, and a scrape runs no query."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, select

import dqm.service.metrics_families as fam
import dqm.service.runs.retention as retention
from dqm.service.app import create_app
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Monitor, Run
from dqm.service.db.session import transaction
from dqm.service.metrics_snapshot import OVERLAP_SECONDS, MetricsSnapshot
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.process import dqm_process
from tests.support.server import running_server

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]
MONITOR_FAMILIES = {fam.RUNS + "_total", fam.LAST_SUCCESS, fam.METRIC, fam.COLUMN_METRIC}
DB_FAMILIES = MONITOR_FAMILIES | {
    fam.ALERTS,
    fam.ALERT_FIRING,
    fam.DELIVERIES,
    fam.OUTBOX_DEPTH,
}


def series(text: str, families: set[str] = DB_FAMILIES) -> Series:
    """``{(sample name, labels): value}`` of the given families on a /metrics page."""
    found: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in families:
                found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def expected(client: httpx.Client, monitor: str, max_features: int) -> Series:
    """An independent statement of a monitor's families, from the API: finished runs by
    outcome, the latest successful run's finish time and values (the first ``max_features``
    columns of each metric, in the run's order)."""
    runs = client.get(f"/v1/monitors/{monitor}/runs", params={"limit": 1000}).json()["items"]
    dataset = client.get(f"/v1/monitors/{monitor}").json()["dataset"]
    found: Series = {}
    base = {("dataset", dataset), ("monitor", monitor)}
    for outcome in ("succeeded", "failed"):
        n = sum(1 for r in runs if r["status"] == outcome)
        if n:
            found[(fam.RUNS + "_total", frozenset(base | {("outcome", outcome)}))] = n
    succeeded = [r for r in runs if r["status"] == "succeeded"]
    if not succeeded:
        return found
    finished = max(httpx_time(r["finished_at"]) for r in succeeded)
    found[(fam.LAST_SUCCESS, frozenset(base))] = finished
    latest = max(succeeded, key=lambda r: r["id"])
    columns: dict[str, list[str]] = {}
    for m in latest["metrics"]:
        if m["value"] is None:
            continue
        if m["column"] is None:
            found[(fam.METRIC, frozenset(base | {("metric", m["name"])}))] = m["value"]
            continue
        kept = columns.setdefault(m["name"], [])
        if m["column"] in kept or len(kept) < max_features:
            kept.append(m["column"])
            labels = base | {("metric", m["name"]), ("feature", m["column"])}
            found[(fam.COLUMN_METRIC, frozenset(labels))] = m["value"]
    return found


def httpx_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def of_monitor(found: Series, monitor: str) -> Series:
    return {
        k: v for k, v in found.items() if k[0] in MONITOR_FAMILIES and ("monitor", monitor) in k[1]
    }


def _dataset_and_monitors(client: httpx.Client, *names: str) -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    assert client.put("/v1/datasets/d/reference", json=records(frame(300, 1))).is_success
    for name in names:
        monitor = {
            "name": name,
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "enabled": False,
        }
        assert client.post("/v1/monitors", json=monitor).status_code == 201


def _run(client: httpx.Client, monitor: str, seed: int, shift: float) -> dict[str, Any]:
    batch = records(frame(150, seed, shift=shift, prefix=f"s{seed}-"))
    assert client.post("/v1/datasets/d/batches", json=batch).is_success
    run: dict[str, Any] = client.post(f"/v1/monitors/{monitor}/run?wait=true").json()
    assert run["status"] == "succeeded", run
    return run


def _text(snapshot: MetricsSnapshot) -> Series:
    return series(snapshot.exposition().decode())


def _add_run(ctx: Context, monitor: str, status: str, finished_ago: float) -> int:
    """A finished run of ``monitor`` committed now, stamped ``finished_ago`` seconds ago (as a
    late commit or a slower clock would), without metric values."""
    now = utcnow()
    with transaction(ctx.sessions) as session:
        monitor_id = session.scalars(select(Monitor.id).where(Monitor.name == monitor)).one()
        run = Run(
            monitor_id=monitor_id,
            scheduled_for=now - timedelta(days=1, seconds=finished_ago),
            trigger="manual",
            status=status,
            attempts=1,
            started_at=now,
            finished_at=now - timedelta(seconds=finished_ago),
            created_at=now,
        )
        session.add(run)
        session.flush()
        return run.id


def test_the_snapshot_holds_what_the_api_says_after_each_run(settings: Settings) -> None:
    """Real drift runs on two monitors; after each, one incremental refresh equals the API's
    account of the runs (cap of 2 features) and a snapshot read afresh."""
    with running_server(settings) as client:
        _dataset_and_monitors(client, "m1", "m2")
        ctx = make_context(settings, "test")
        snapshot = MetricsSnapshot(ctx.sessions, 2, refresh_seconds=3600, resync_seconds=3600)
        snapshot.refresh()
        assert of_monitor(_text(snapshot), "m1") == {}
        for step, (seed, shift) in enumerate([(2, 0.0), (3, 1.5), (4, 0.3)]):
            _run(client, "m1", seed, shift)
            if step != 1:
                _run(client, "m2", seed + 10, shift)
            if step == 1:
                _add_run(ctx, "m2", "failed", 0)
            snapshot.refresh()
            scraped = _text(snapshot)
            for monitor in ("m1", "m2"):
                assert of_monitor(scraped, monitor) == expected(client, monitor, 2), (step, monitor)
            fresh = MetricsSnapshot(ctx.sessions, 2)
            assert _text(fresh) == scraped
        assert (
            scraped[
                (
                    fam.RUNS + "_total",
                    frozenset({("dataset", "d"), ("monitor", "m2"), ("outcome", "failed")}),
                )
            ]
            == 1
        )


def test_deletes_and_retention_reach_the_snapshot(settings: Settings) -> None:
    with running_server(settings) as client:
        _dataset_and_monitors(client, "m1", "m2")
        ctx = make_context(settings, "test")
        snapshot = MetricsSnapshot(ctx.sessions, 50, refresh_seconds=3600, resync_seconds=3600)
        for seed in (2, 3):
            _run(client, "m1", seed, 0.0)
            _run(client, "m2", seed + 10, 1.0)
        snapshot.refresh()
        assert of_monitor(_text(snapshot), "m2") == expected(client, "m2", 50) != {}
        assert client.delete("/v1/monitors/m2").status_code == 204
        snapshot.refresh()  # a deleted monitor goes at the next refresh
        assert of_monitor(_text(snapshot), "m2") == {}
        assert of_monitor(_text(snapshot), "m1") == expected(client, "m1", 50)
        deleted = retention.purge(ctx, utcnow() + timedelta(days=8))
        assert deleted["runs"] == 2
        snapshot.refresh(full=True)  # runs deleted by retention go at the next resync
        assert of_monitor(_text(snapshot), "m1") == expected(client, "m1", 50) == {}


def test_late_commits_count_once_within_the_overlap_and_at_the_resync_beyond(
    settings: Settings,
) -> None:
    with running_server(settings) as client:
        _dataset_and_monitors(client, "m1")
        _run(client, "m1", 2, 0.0)
        ctx = make_context(settings, "test")
        snapshot = MetricsSnapshot(ctx.sessions, 50, refresh_seconds=3600, resync_seconds=3600)
        snapshot.refresh()
        key = (
            fam.RUNS + "_total",
            frozenset({("dataset", "d"), ("monitor", "m1"), ("outcome", "succeeded")}),
        )
        assert _text(snapshot)[key] == 1
        _add_run(ctx, "m1", "succeeded", OVERLAP_SECONDS / 3)  # committed late, within
        for _ in range(3):
            snapshot.refresh()
            assert _text(snapshot)[key] == 2  # counted once, however often it is read again
        assert of_monitor(_text(snapshot), "m1") == expected(client, "m1", 50)
        _add_run(ctx, "m1", "succeeded", OVERLAP_SECONDS * 4)  # beyond the overlap
        snapshot.refresh()
        assert _text(snapshot)[key] == 2  # the documented limit: only the resync sees it
        snapshot.refresh(full=True)
        assert _text(snapshot)[key] == 3
        assert of_monitor(_text(snapshot), "m1") == expected(client, "m1", 50)


@pytest.fixture
def statements_by_thread(settings: Settings) -> Iterator[tuple[TestClient, list[str]]]:
    api = settings.model_copy(update={"role": "api", "metrics_refresh_seconds": 0.05})
    ctx = Context.create(api)
    threads: list[str] = []
    event.listen(
        ctx.engine,
        "before_cursor_execute",
        lambda *_: threads.append(threading.current_thread().name),
    )
    with TestClient(create_app(api, ctx)) as client:
        yield client, threads


def test_a_scrape_runs_no_query(statements_by_thread: tuple[TestClient, list[str]]) -> None:
    client, threads = statements_by_thread
    _dataset_and_monitors(client, "m1")
    _run(client, "m1", 2, 0.0)
    deadline = time.monotonic() + 20
    while 'outcome="succeeded"} 1.0' not in client.get("/metrics").text:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    threads.clear()
    for _ in range(30):
        assert client.get("/metrics").status_code == 200
    assert set(threads) <= {"dqm-metrics"}, set(threads)
    assert "dqm-metrics" in threads  # the refresher kept reading meanwhile


@pytest.mark.slow
def test_two_replicas_converge_within_the_bound(settings: Settings) -> None:
    """Runs on replica A reach replica B's /metrics within one refresh interval (plus slack
    for a loaded machine); both then show the same database families; a monitor deleted on B
    leaves A's. The resync is an hour away: only the incremental refresh can do this."""
    refresh = 0.5
    env = {"DQM_METRICS_REFRESH_SECONDS": str(refresh), "DQM_METRICS_RESYNC_SECONDS": "3600"}
    with dqm_process(settings, **env) as a, dqm_process(settings, DQM_ROLE="api", **env) as b:
        _dataset_and_monitors(a, "m1", "m2")
        for seed, shift in ((2, 0.0), (3, 1.5)):
            for monitor in ("m1", "m2"):
                _run(a, monitor, seed + (10 if monitor == "m2" else 0), shift)
                done = time.monotonic()
                want = expected(a, monitor, 50)
                _until(b, lambda page, m=monitor, w=want: of_monitor(series(page), m) == w)
                # One refresh interval, plus slack for a loaded machine (2 cores, 8 sessions).
                assert time.monotonic() - done <= refresh + 5.0
        _until(a, lambda page: series(page) == series(b.get("/metrics").text))
        assert b.delete("/v1/monitors/m2").status_code == 204
        _until(a, lambda page: of_monitor(series(page), "m2") == {})
        assert of_monitor(series(a.get("/metrics").text), "m1") == expected(b, "m1", 50)


def _until(client: httpx.Client, condition: Any, seconds: float = 30.0) -> None:
    """Poll ``client``'s /metrics until ``condition(page)`` holds."""
    started = time.monotonic()
    while not condition(client.get("/metrics").text):
        assert time.monotonic() - started < seconds, "the condition never held"
        time.sleep(0.02)
