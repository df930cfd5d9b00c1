"""``DQM_ROLE`` and ``DQM_RUN_LEASE_SECONDS`` over a real server: an ``api`` process serves
HTTP and runs nothing in the background, a ``worker`` runs the schedule, and a run whose worker
died is taken again once its lease has run out."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from dqm.service.clock import utcnow
from dqm.service.db.models import Run
from dqm.service.runs import runner
from dqm.service.settings import Settings
from tests.service.data import monitor_every_second
from tests.service.helpers import make_context
from tests.support.server import running_server

# The scheduler ticks and the runner polls every 0.2 s (the settings fixture): a process with a
# worker would have scheduled and run a due monitor many times over within this margin.
WORKER_MARGIN = timedelta(seconds=2)


def _monitor_every_second(client: httpx.Client) -> datetime:
    """A dataset, its reference, a batch and a drift monitor due every second; returns the
    monitor's first fire time."""
    return datetime.fromisoformat(monitor_every_second(client)["next_run_at"])


def _runs(client: httpx.Client) -> list[dict[str, object]]:
    listed = client.get("/v1/monitors/m/runs", params={"limit": 1000})
    assert listed.status_code == 200, listed.text
    runs: list[dict[str, object]] = listed.json()["items"]
    return runs


def _wait_for_runs(client: httpx.Client, done: set[int], scheduled: int) -> list[dict[str, object]]:
    """Poll until the runs ``done`` and ``scheduled`` scheduled runs have succeeded."""
    deadline = time.monotonic() + 60
    while True:
        runs = _runs(client)
        succeeded = [r for r in runs if r["status"] == "succeeded"]
        on_schedule = [r for r in succeeded if r["trigger"] == "schedule"]
        if done <= {r["id"] for r in succeeded} and len(on_schedule) >= scheduled:
            return runs
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)


def _serves_probes_and_metrics(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    scrape = client.get("/metrics")
    assert scrape.status_code == 200 and "dqm_runs" in scrape.text


def test_api_role_serves_http_and_leaves_runs_to_a_worker(settings: Settings) -> None:
    api = settings.model_copy(update={"role": "api"})
    with running_server(api) as client:
        first_fire = _monitor_every_second(client)
        queued = client.post("/v1/monitors/m/run")
        assert queued.status_code == 202, queued.text
        queued_id = queued.json()["run_id"]
        while utcnow() < first_fire + WORKER_MARGIN:
            time.sleep(0.1)
        # Nothing scheduled the monitor and nothing took the queued run.
        assert [(r["id"], r["status"]) for r in _runs(client)] == [(queued_id, "queued")]
        _serves_probes_and_metrics(client)
        # A run asked for with ?wait=true runs in the request, whatever the role.
        waited = client.post("/v1/monitors/m/run?wait=true")
        assert waited.status_code == 200 and waited.json()["status"] == "succeeded"

    worker = settings.model_copy(update={"role": "worker"})
    with running_server(worker) as client:
        runs = _wait_for_runs(client, {queued_id}, scheduled=1)
    assert {r["trigger"] for r in runs} == {"manual", "schedule"}


def test_worker_role_runs_the_schedule_and_serves_probes_metrics_and_the_api(
    settings: Settings,
) -> None:
    worker = settings.model_copy(update={"role": "worker"})
    with running_server(worker) as client:
        _monitor_every_second(client)  # the worker's HTTP is the whole application
        runs = _wait_for_runs(client, set(), scheduled=2)
        _serves_probes_and_metrics(client)
        scrape = client.get("/metrics").text
    assert all(r["metrics"] for r in runs if r["status"] == "succeeded")
    assert 'dqm_runs_total{dataset="d",monitor="m",outcome="succeeded"}' in scrape


def test_an_abandoned_run_is_taken_again_after_the_lease(settings: Settings) -> None:
    lease = timedelta(seconds=1)
    short = settings.model_copy(update={"run_lease_seconds": lease.total_seconds()})
    with running_server(short.model_copy(update={"role": "api"})) as client:
        _monitor_every_second(client)
        client.patch("/v1/monitors/m", json={"enabled": False}).raise_for_status()
        run_id = client.post("/v1/monitors/m/run").json()["run_id"]
    dead = make_context(short, "dead")
    assert runner.claim(dead, utcnow()) == run_id  # ... and then its worker dies
    with dead.sessions() as session:
        claimed = session.get_one(Run, run_id)
    assert claimed.lease_expires_at is not None and claimed.started_at is not None
    assert claimed.lease_expires_at - claimed.started_at == lease

    with running_server(short.model_copy(update={"role": "worker"})) as client:
        deadline = time.monotonic() + 60
        while client.get(f"/v1/runs/{run_id}").json()["status"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    with dead.sessions() as session:
        [run] = session.scalars(select(Run)).all()
    assert run.id == run_id and run.attempts == 2 and run.lease_owner is None
    assert run.started_at is not None and run.started_at >= claimed.lease_expires_at
