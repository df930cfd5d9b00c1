"""SIGTERM with runs queued: ``dqm serve`` stops claiming, gives the runs in progress (one per
worker process) the grace period, hands them back to the queue, and exits in time with its
worker processes; another process completes the rest."""

from __future__ import annotations

import os
import signal
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.clock import utcnow
from dqm.service.db.models import Monitor, Run
from dqm.service.db.session import make_engine, make_sessionmaker, transaction
from dqm.service.runs.scheduler import insert_run
from dqm.service.settings import Settings
from tests.service.data import SCHEMA
from tests.service.runs.test_kill_replica import PARQUET, big_parquet
from tests.support.process import dqm_process

QUEUED = 40
ROWS = 300_000  # about 0.3 s per run: the queue takes far longer than the grace period
GRACE = 0.1  # shorter than a run: the run in progress is released
EXIT_MARGIN = 6.0  # uvicorn's own shutdown, the scheduler's threads, interpreter exit
PROCESSES = 2


def _setup(settings: Settings) -> None:
    """A disabled drift monitor on a big batch, through an API-only process."""
    with dqm_process(settings, DQM_ROLE="api") as client:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        ref = client.put(
            "/v1/datasets/d/reference", content=big_parquet(ROWS, 1, 0), headers=PARQUET
        )
        assert ref.status_code == 201, ref.text
        batch = client.post(
            "/v1/datasets/d/batches?batch_id=b1", content=big_parquet(ROWS, 2, 1.0), headers=PARQUET
        )
        assert batch.status_code == 201, batch.text
        monitor = {
            "name": "m",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "enabled": False,
        }
        assert client.post("/v1/monitors", json=monitor).status_code == 201


def _queue_runs(sessions: sessionmaker[Session], count: int) -> None:
    start = utcnow()  # after the batch arrived: each run's window holds it
    with transaction(sessions) as session:
        monitor_id = session.scalars(select(Monitor.id).where(Monitor.name == "m")).one()
        for i in range(count):
            assert insert_run(session, monitor_id, start + timedelta(milliseconds=i), "manual")


def _runs(sessions: sessionmaker[Session]) -> list[Run]:
    with sessions() as session:
        return list(session.scalars(select(Run).order_by(Run.id)))


def _wait_until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _exited(pid: int) -> bool:
    """Whether the child ``pid`` has exited (a zombie until its parent reaps it)."""
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigterm_exits_within_the_grace_period(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    grace = {"DQM_SHUTDOWN_GRACE_SECONDS": str(GRACE), "DQM_WORKER_PROCESSES": str(PROCESSES)}
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        _setup(settings)
        _queue_runs(sessions, QUEUED)
        stack.enter_context(dqm_process(settings, **grace))
        _wait_until(lambda: any(r.status == "running" for r in _runs(sessions)), 60)
        owners = {r.lease_owner for r in _runs(sessions) if r.status == "running"}
        assert None not in owners and 1 <= len(owners) <= PROCESSES
        # "<host>-<pid>-<random>.<slot>.<worker pid>": the replica's pid, then its worker's.
        [pid] = {int(str(owner).rsplit("-", 2)[1]) for owner in owners}
        workers = {int(str(owner).rsplit(".", 1)[1]) for owner in owners}
        signalled = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        _wait_until(lambda: _exited(pid), GRACE + EXIT_MARGIN + 30)
        shutdown_seconds = time.monotonic() - signalled
        left = _runs(sessions)
        queued_left = sum(r.status == "queued" for r in left)
        print(f"SIGTERM to exit: {shutdown_seconds:.2f} s; {queued_left} of {QUEUED} runs queued")
        assert shutdown_seconds < GRACE + EXIT_MARGIN
        assert all(_exited(worker) for worker in workers)
        assert {r.status for r in left} <= {"queued", "succeeded"}
        assert all(r.lease_owner is None for r in left)
        queued = [r for r in left if r.status == "queued"]
        assert len(queued) >= QUEUED - 2 * PROCESSES  # at most the runs in progress finished
        assert all(r.attempts == 0 for r in queued)  # a released run is not a failed attempt

        stack.enter_context(dqm_process(settings))
        done = lambda: all(r.status == "succeeded" for r in _runs(sessions))  # noqa: E731
        _wait_until(done, 180)
    assert [r.attempts for r in _runs(sessions)].count(1) == QUEUED
