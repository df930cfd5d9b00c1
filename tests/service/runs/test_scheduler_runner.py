"""Scheduling and running: APScheduler fire times, one run row per (monitor, time),
coalesced missed runs, leases that expire and hand a dead worker's run to another."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from dqm.service.clock import utcnow
from dqm.service.db.models import MetricValue, Monitor, Run
from dqm.service.db.session import transaction
from dqm.service.runs import runner, scheduler
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.server import running_server

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_interval_fire_times_are_anchored_at_creation() -> None:
    schedule = {"every": "10m"}
    assert scheduler.next_fire_time(schedule, T0, T0) == T0 + timedelta(minutes=10)
    later = T0 + timedelta(minutes=25)
    assert scheduler.next_fire_time(schedule, T0, later) == T0 + timedelta(minutes=30)


def test_cron_fire_times() -> None:
    schedule = {"cron": "*/5 * * * *"}
    assert scheduler.next_fire_time(schedule, T0, T0) == T0 + timedelta(minutes=5)
    at = T0 + timedelta(minutes=7, seconds=3)
    assert scheduler.next_fire_time(schedule, T0, at) == T0 + timedelta(minutes=10)
    daily = {"cron": "30 2 * * *"}
    assert scheduler.next_fire_time(daily, T0, T0) == datetime(2026, 1, 2, 2, 30, tzinfo=UTC)


def _create(client: httpx.Client, every: str = "1h") -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    assert client.put("/v1/datasets/d/reference", json=records(frame(300, 1))).status_code == 201
    assert client.post("/v1/datasets/d/batches", json=records(frame(100, 2))).status_code == 201
    monitor = client.post(
        "/v1/monitors",
        json={
            "name": "m",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": every},
            "window": {"last": "1d"},
        },
    )
    assert monitor.status_code == 201, monitor.text


@pytest.fixture
def api_only(settings: Settings) -> Settings:
    return settings.model_copy(update={"role": "api"})


def test_due_monitor_gets_exactly_one_run_per_time_and_missed_times_coalesce(
    api_only: Settings,
) -> None:
    with running_server(api_only) as client:
        _create(client)
    ctx_a, ctx_b = make_context(api_only, "a"), make_context(api_only, "b")
    with transaction(ctx_a.sessions) as session:
        due = utcnow() - timedelta(hours=5, minutes=1)  # five intervals were missed
        session.execute(update(Monitor).values(next_run_at=due))
    now = utcnow()
    created = scheduler.schedule_due_runs(ctx_a, now) + scheduler.schedule_due_runs(ctx_b, now)
    assert created == 1
    with ctx_a.sessions() as session:
        [run] = session.scalars(select(Run)).all()
        monitor = session.scalars(select(Monitor)).one()
    assert run.scheduled_for == due and run.trigger == "schedule"
    assert monitor.next_run_at is not None and now < monitor.next_run_at <= now + timedelta(hours=1)


def test_a_dead_workers_run_is_finished_by_another_after_its_lease(api_only: Settings) -> None:
    with running_server(api_only) as client:
        _create(client)
        run_id = client.post("/v1/monitors/m/run").json()["run_id"]
    dead, alive = make_context(api_only, "dead"), make_context(api_only, "alive")
    assert runner.claim(dead, utcnow()) == run_id  # ... and then it dies
    assert runner.claim(alive, utcnow()) is None  # its lease holds
    with transaction(alive.sessions) as session:
        session.execute(update(Run).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert runner.work_once(alive)
    assert not runner._finish(dead, run_id, "failed", "late")  # the dead worker is fenced off
    with alive.sessions() as session:
        run = session.get_one(Run, run_id)
        metrics = session.scalar(select(func.count()).where(MetricValue.run_id == run_id))
    assert (run.status, run.attempts, run.error) == ("succeeded", 2, None)
    assert metrics and metrics > 0


def test_an_expired_lease_of_a_live_sibling_is_spared(api_only: Settings) -> None:
    """A replica's worker processes do not take over each other's runs when a lease renewal is
    late: the replica knows which of them are alive. A dead sibling's run is taken over."""
    with running_server(api_only) as client:
        _create(client)
        run_id = client.post("/v1/monitors/m/run").json()["run_id"]
    sibling, other = make_context(api_only, "r.0.11"), make_context(api_only, "r.1.12")
    assert runner.claim(sibling, utcnow()) == run_id
    with transaction(other.sessions) as session:
        session.execute(update(Run).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert runner.claim(other, utcnow(), spare=[sibling.worker_id]) is None
    assert runner.claim(other, utcnow(), spare=["r.0.99"]) == run_id  # that sibling is gone


def test_a_run_abandoned_three_times_fails(api_only: Settings) -> None:
    with running_server(api_only) as client:
        _create(client)
        run_id = client.post("/v1/monitors/m/run").json()["run_id"]
    ctx = make_context(api_only, "w")
    for _ in range(runner.MAX_ATTEMPTS):
        assert runner.claim(ctx, utcnow()) == run_id
        with transaction(ctx.sessions) as session:
            session.execute(update(Run).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert runner.claim(ctx, utcnow()) is None
    with ctx.sessions() as session:
        run = session.get_one(Run, run_id)
    assert run.status == "failed" and "died 3 times" in (run.error or "")


def test_a_run_whose_window_has_no_batch_is_skipped(api_only: Settings) -> None:
    with running_server(api_only) as client:
        _create(client)
        later = {
            "name": "later",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1h"},
            "window": {"last": "1s"},
        }
        assert client.post("/v1/monitors", json=later).status_code == 201
        time.sleep(1.2)  # the only batch falls out of the one-second window
        skipped = client.post("/v1/monitors/later/run?wait=true").json()
        assert skipped["status"] == "skipped" and skipped["error"] == "no batches in the window"


def test_invalid_params_in_a_patch_are_a_422_naming_the_field(api_only: Settings) -> None:
    with running_server(api_only) as client:
        _create(client)
        bad = client.patch("/v1/monitors/m", json={"params": {"drift_share": 7}})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"].startswith("params")


def test_a_recreated_dataset_never_sees_the_old_reference(api_only: Settings) -> None:
    """A dataset deleted and created again under the same name is compared with its own
    reference, not with the cached profile of the deleted one."""
    with running_server(api_only) as client:
        for shift in (0.0, 3.0):
            client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
            reference = records(frame(500, 1, shift=shift))
            client.put("/v1/datasets/d/reference", json=reference).raise_for_status()
            batch = records(frame(300, 2, shift=shift))
            client.post("/v1/datasets/d/batches", json=batch).raise_for_status()
            client.post(
                "/v1/monitors",
                json={"name": "m", "dataset": "d", "kind": "drift", "schedule": {"every": "1h"}},
            ).raise_for_status()
            run = client.post("/v1/monitors/m/run?wait=true").json()
            share = next(m["value"] for m in run["metrics"] if m["name"] == "share_drifted_columns")
            assert share < 0.3, (shift, share)  # each batch is like its own reference
            assert client.delete("/v1/datasets/d").status_code == 204
