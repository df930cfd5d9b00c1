"""Start lag and misfires under the default tick: a ``dqm serve`` process starts a run within a
fraction of a second of its due time, and a monitor slower than its schedule keeps a bounded
queue whose skipped times are recorded as ``skipped`` runs and counted."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from dqm.service.db.models import Monitor, Run
from dqm.service.db.session import make_engine, make_sessionmaker, transaction
from dqm.service.metrics import REGISTRY
from dqm.service.runs import runner, scheduler
from dqm.service.settings import Settings
from tests.service.data import monitor_every_second
from tests.service.helpers import make_context
from tests.support.process import dqm_process
from tests.support.server import running_server

RUNS = 12
DEFAULT_TICK = {"DQM_SCHEDULER_TICK_SECONDS": "5", "DQM_RUNNER_POLL_SECONDS": "1"}


def _monitor(client: httpx.Client, rows: int) -> None:
    monitor_every_second(client, batch_rows=rows)


def _wait_for(runs: Callable[[], list[Run]], done: Callable[[list[Run]], bool]) -> list[Run]:
    deadline = time.monotonic() + 120
    while not done(found := runs()):
        assert time.monotonic() < deadline, [(r.scheduled_for, r.status) for r in found]
        time.sleep(0.1)
    return found


@pytest.mark.slow
def test_runs_start_within_half_a_second_of_their_due_time(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)

    def runs() -> list[Run]:
        with sessions() as session:
            return list(session.scalars(select(Run).order_by(Run.scheduled_for)))

    try:
        with dqm_process(settings, **DEFAULT_TICK) as client:
            _monitor(client, 100)
            found = _wait_for(runs, lambda rs: sum(r.started_at is not None for r in rs) >= RUNS)
    finally:
        engine.dispose()
    lags = sorted(
        (r.started_at - r.scheduled_for).total_seconds() for r in found if r.started_at is not None
    )
    median = statistics.median(lags)
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
    print(f"start lag over {len(lags)} runs: median {median:.3f} s, p99 {p99:.3f} s")
    assert min(lags) >= 0
    assert median <= 0.5, lags


def _skipped(reason: str) -> float:
    labels = {"dataset": "d", "monitor": "m", "reason": reason}
    return REGISTRY.get_sample_value("dqm_runs_skipped_total", labels) or 0.0


def test_a_monitor_slower_than_its_schedule_keeps_one_run_queued(settings: Settings) -> None:
    """The first run stays running (a slow run) while ten more fire times pass, one tick each:
    each new run supersedes the one still queued, so the queue never grows."""
    with running_server(settings.model_copy(update={"role": "api"})) as client:
        _monitor(client, 100)
    ctx = make_context(settings, "slow")
    with ctx.sessions() as session:
        first = session.scalars(select(Monitor.next_run_at)).one()
    assert first is not None
    before = _skipped("superseded")
    assert scheduler.schedule_due_runs(ctx, first) == 1
    assert runner.claim(ctx, first) is not None  # the slow run, still running below
    for k in range(1, 11):
        assert scheduler.schedule_due_runs(ctx, first + timedelta(seconds=k)) == 1
        with ctx.sessions() as session:
            statuses = list(session.scalars(select(Run.status)))
        assert statuses.count("queued") == 1 and statuses.count("running") == 1, statuses
    with ctx.sessions() as session:
        runs = list(session.scalars(select(Run).order_by(Run.scheduled_for)))
    assert [r.scheduled_for - first for r in runs] == [timedelta(seconds=k) for k in range(11)]
    skipped = runs[1:-1]
    assert [r.status for r in skipped] == ["skipped"] * 9
    assert [r.error for r in skipped] == [
        f"skipped: coalesced into {later.scheduled_for.isoformat()}" for later in runs[2:]
    ]
    assert _skipped("superseded") - before == 9


def test_a_queued_run_older_than_one_interval_is_not_started(settings: Settings) -> None:
    """Once its monitor is due again, a run still queued is left for the scheduler to coalesce
    into the new one: a worker that frees up starts the fresh run, never one interval late."""
    with running_server(settings.model_copy(update={"role": "api"})) as client:
        _monitor(client, 100)
    ctx = make_context(settings, "w")
    with ctx.sessions() as session:
        due = session.scalars(select(Monitor.next_run_at)).one()
    assert due is not None
    assert scheduler.schedule_due_runs(ctx, due) == 1
    assert runner.claim(ctx, due + timedelta(seconds=1)) is None  # due again at + 1 s: stale
    assert scheduler.schedule_due_runs(ctx, due + timedelta(seconds=1)) == 1
    fresh = runner.claim(ctx, due + timedelta(seconds=1.2))
    with ctx.sessions() as session:
        runs = {r.id: r for r in session.scalars(select(Run))}
    assert fresh is not None and runs[fresh].scheduled_for == due + timedelta(seconds=1)
    assert sorted(r.status for r in runs.values()) == ["running", "skipped"]


def test_fire_times_missed_while_no_scheduler_ran_are_counted(settings: Settings) -> None:
    with running_server(settings.model_copy(update={"role": "api"})) as client:
        _monitor(client, 100)
    ctx = make_context(settings, "late")
    with ctx.sessions() as session:
        due = session.scalars(select(Monitor.next_run_at)).one()
    assert due is not None
    before = _skipped("missed")
    # Down from just before ``due`` until 5.5 s after it: fire times due + 1 s ... due + 5 s.
    assert scheduler.schedule_due_runs(ctx, due + timedelta(seconds=5.5)) == 1
    assert _skipped("missed") - before == 5
    with transaction(ctx.sessions) as session:
        [run] = session.scalars(select(Run)).all()
        following = session.scalars(select(Monitor.next_run_at)).one()
    assert run.scheduled_for == due and following == due + timedelta(seconds=6)


def test_missed_fire_times_are_those_after_the_due_time_up_to_now() -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    every = {"every": "5m"}
    # Fire times t0+10m, +15m, +20m fall in (t0+5m, t0+22m]; t0+20m is still counted at t0+20m.
    assert scheduler.missed_fire_times(every, t0, t0 + 5 * minute, t0 + 22 * minute) == 3
    assert scheduler.missed_fire_times(every, t0, t0 + 5 * minute, t0 + 20 * minute) == 3
    assert scheduler.missed_fire_times(every, t0, t0 + 5 * minute, t0 + 9 * minute) == 0
    # Off the grid (a schedule changed since): t0+5m and t0+10m follow t0+2m.
    assert scheduler.missed_fire_times(every, t0, t0 + 2 * minute, t0 + 12 * minute) == 2
    cron = {"cron": "*/5 * * * *"}
    assert scheduler.missed_fire_times(cron, t0, t0 + 5 * minute, t0 + 22 * minute) == 3
    assert scheduler.missed_fire_times(cron, t0, t0 + 5 * minute, t0 + 9 * minute) == 0
