"""``DQM_WORKER_PROCESSES`` over a real ``dqm serve``: N worker processes execute queued runs in
parallel, each run exactly once; 0 executes them one at a time in the serving process; worker
processes die with their parent, even when it is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.clock import utcnow
from dqm.service.db.models import MetricValue, Monitor, Run
from dqm.service.db.session import make_engine, make_sessionmaker, transaction
from dqm.service.runs import pool
from dqm.service.runs.scheduler import insert_run
from dqm.service.settings import Settings
from tests.service.data import SCHEMA
from tests.service.helpers import make_context
from tests.service.runs.test_kill_replica import PARQUET, big_parquet
from tests.support.process import dqm_process

pytestmark = pytest.mark.slow
MONITORS = 4
RUNS_EACH = 6
ROWS = 60_000  # a run of a few tenths of a second: runs overlap when executed in parallel


def _setup(settings: Settings) -> None:
    """Disabled drift monitors on one dataset, through an API-only process."""
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
        for i in range(MONITORS):
            monitor = {
                "name": f"m{i}",
                "dataset": "d",
                "kind": "drift",
                "schedule": {"every": "1h"},
                "window": {"last_batches": 1},
                "enabled": False,
            }
            assert client.post("/v1/monitors", json=monitor).status_code == 201


def _queue(sessions: sessionmaker[Session]) -> set[int]:
    """RUNS_EACH scheduled runs of every monitor, all due now; returns their ids."""
    start, ids = utcnow(), set()
    with transaction(sessions) as session:
        for monitor_id in session.scalars(select(Monitor.id)):
            for i in range(RUNS_EACH):
                run_id = insert_run(
                    session, monitor_id, start + timedelta(milliseconds=i), "schedule"
                )
                assert run_id is not None
                ids.add(run_id)
    return ids


def _runs(sessions: sessionmaker[Session]) -> list[Run]:
    with sessions() as session:
        return list(session.scalars(select(Run).order_by(Run.id)))


def _wait_until(condition: Callable[[], bool], timeout: float, each: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        each()
        time.sleep(0.01)


def _most_at_once(runs: list[Run]) -> int:
    """The most runs whose [started_at, finished_at] intervals overlap at one instant."""
    events = sorted(
        [(r.started_at, 1) for r in runs if r.started_at and r.finished_at]
        + [(r.finished_at, -1) for r in runs if r.started_at and r.finished_at],
        key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
    )
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.timeout(300)
@pytest.mark.parametrize("processes", [3, 0])
def test_runs_execute_in_parallel_each_exactly_once(settings: Settings, processes: int) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    owners: set[str] = set()

    def sample_owners() -> None:
        owners.update(r.lease_owner for r in _runs(sessions) if r.lease_owner)

    with ExitStack() as stack:
        stack.callback(engine.dispose)
        _setup(settings)
        queued = _queue(sessions)
        stack.enter_context(dqm_process(settings, DQM_WORKER_PROCESSES=str(processes)))
        done = lambda: all(r.status == "succeeded" for r in _runs(sessions))  # noqa: E731
        _wait_until(done, 240, sample_owners)
        runs = _runs(sessions)
        with sessions() as session:
            values = dict(
                session.execute(
                    select(MetricValue.run_id, func.count()).group_by(MetricValue.run_id)
                ).all()
            )
    assert {r.id for r in runs} == queued  # no run was added, none lost
    assert all(r.attempts == 1 and r.lease_owner is None for r in runs)  # each claimed once
    assert len(set(values.values())) == 1 and set(values) == queued  # each persisted once
    replicas = {int(o.split(".")[0].rsplit("-", 2)[1]) for o in owners}
    assert len(replicas) == 1  # one dqm serve
    workers = {o.split(".", 1)[1] for o in owners if "." in o}
    most = _most_at_once(runs)
    print(f"{processes} processes: {len(workers)} workers seen, at most {most} runs at once")
    if processes == 0:  # in the serving process, one run at a time
        assert workers == set() and most == 1
    else:  # every worker process took runs (its lease names it), and they ran side by side
        assert len(workers) == processes
        assert len({w.split(".")[1] for w in workers}) == processes  # distinct pids
        assert most >= 2


@pytest.mark.timeout(240)
def test_worker_processes_die_with_their_parent(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        _setup(settings)
        _queue(sessions)
        stack.enter_context(dqm_process(settings, DQM_WORKER_PROCESSES="2"))
        owners: set[str] = set()

        def two_workers_seen() -> bool:
            owners.update(r.lease_owner for r in _runs(sessions) if r.lease_owner)
            return len(owners) >= 2

        _wait_until(two_workers_seen, 120, lambda: None)
        replica = int(next(iter(owners)).split(".")[0].rsplit("-", 2)[1])
        workers = {int(o.rsplit(".", 1)[1]) for o in owners}
        assert _parent(replica) == os.getpid()
        assert all(_parent(_parent(w)) == replica for w in workers if not _gone(w))
        os.kill(replica, signal.SIGKILL)
        _wait_until(lambda: all(_gone(w) for w in workers), 10, lambda: None)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("nice", [7, 0])
def test_worker_processes_run_at_the_configured_lower_priority(
    settings: Settings, nice: int
) -> None:
    """``DQM_WORKER_NICE``: a worker process runs that much below its serving process."""
    executor = pool.InProcess(
        make_context(settings.model_copy(update={"worker_nice": nice}), "t"), 0
    )
    try:
        assert executor.ready() is not None
        pid = executor.pid
        assert pid is not None
        # A round trip (a run id that does not exist: it answers None) proves the worker is
        # past its start-up, where it lowers its priority, and in its loop.
        executor.start(10**9)
        assert executor.wait(60)
        assert executor.outcome() is None
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + nice)
    finally:
        executor.close()
