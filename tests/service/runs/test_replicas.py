"""Two ``dqm serve`` replicas on one PostgreSQL database, both scheduling and both running:
every scheduled time gets one run, claimed once, by one worker.

PostgreSQL only: two processes sharing a SQLite file is not a supported deployment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.db.models import MetricValue, Run
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from tests.service.data import monitor_every_second
from tests.support.process import dqm_process

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DQM_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="two replicas on one database need PostgreSQL (set DQM_TEST_DATABASE_URL)",
    ),
]
INTERVAL = timedelta(seconds=1)
ENOUGH_RUNS = 6


def succeeded_runs(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        count = session.scalar(select(func.count()).where(Run.status == "succeeded"))
    return count or 0


def wait_for_runs(sessions: sessionmaker[Session], count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while succeeded_runs(sessions) < count:
        assert time.monotonic() < deadline, f"fewer than {count} runs within {timeout}s"
        time.sleep(0.2)


def split_finished_and_pending(runs: Sequence[Run]) -> tuple[list[Run], list[Run]]:
    """Runs in scheduled order are finished ones, then runs still queued when the replicas
    stopped; a queued run before a finished one would be a run the workers skipped."""
    finished = [r for r in runs if r.status != "queued"]
    pending = runs[len(finished) :]
    assert list(runs[: len(finished)]) == finished, [(r.scheduled_for, r.status) for r in runs]
    assert all(r.attempts == 0 for r in pending)
    return finished, list(pending)


def assert_no_fire_time_lost(runs: Sequence[Run]) -> None:
    """Every fire time (a whole number of intervals after the first) between the first and the
    last run has its run, except fire times already past when the previous run was scheduled:
    those are coalesced into one run by design (a tick that came late)."""
    for earlier, later in zip(runs, runs[1:], strict=False):
        gap = later.scheduled_for - earlier.scheduled_for
        assert gap >= INTERVAL and gap % INTERVAL == timedelta(0), (earlier, later)
        skipped_up_to = later.scheduled_for - INTERVAL
        assert gap == INTERVAL or skipped_up_to <= earlier.created_at, (
            f"fire times after {earlier.scheduled_for} up to {skipped_up_to} have no run, "
            f"but the run before them was scheduled at {earlier.created_at}"
        )


def test_two_replicas_run_each_scheduled_time_exactly_once(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        with dqm_process(settings) as a, dqm_process(settings) as b:
            monitor_every_second(a, b)
            wait_for_runs(sessions, ENOUGH_RUNS, timeout=120)
        with sessions() as session:
            runs = session.scalars(select(Run).order_by(Run.scheduled_for)).all()
            metrics_per_run = dict(
                session.execute(
                    select(MetricValue.run_id, func.count()).group_by(MetricValue.run_id)
                ).all()
            )
    finally:
        engine.dispose()

    times = [r.scheduled_for for r in runs]
    assert len(set(times)) == len(times)
    finished, _ = split_finished_and_pending(runs)
    assert len(finished) >= ENOUGH_RUNS
    # A run still queued when a newer one of its monitor is queued is skipped by design (the
    # workers fell an interval behind); it was never claimed, and a newer run exists.
    succeeded = [r for r in finished if r.status == "succeeded"]
    superseded = [r for r in finished if r.status == "skipped"]
    assert len(succeeded) + len(superseded) == len(finished), [r.error for r in runs]
    assert all((r.error or "").startswith("skipped: coalesced into") for r in superseded)
    assert all(r.attempts == 0 and r is not runs[-1] for r in superseded)
    assert len(superseded) <= len(finished) // 2, [r.error for r in superseded]
    assert [r.attempts for r in succeeded] == [1] * len(succeeded)  # nobody ran a run twice
    assert all(r.trigger == "schedule" for r in runs)
    # Every run stored its metrics, and as many as the others (same batch, same monitor).
    assert set(metrics_per_run) == {r.id for r in succeeded}
    assert len(set(metrics_per_run.values())) == 1 and min(metrics_per_run.values()) > 0
    assert_no_fire_time_lost(runs)
