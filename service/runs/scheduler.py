"""APScheduler triggers turned into run rows: exactly one per (monitor, scheduled time).

Every replica may tick; the unique constraint on (monitor_id, scheduled_for) and a
compare-and-set on ``monitors.next_run_at`` make the outcome the same as one ticking.

Misfires never pile up. Fire times missed while no scheduler ran are coalesced into one run
(APScheduler's ``coalesce``) and counted. A scheduled run still queued when the next one of its
monitor is queued is not executed: it becomes ``skipped`` ("skipped: coalesced into <time>"),
so a monitor slower than its schedule has at most one run waiting.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dqm.service import metrics
from dqm.service.context import Context
from dqm.service.db.models import Dataset, Monitor, Run
from dqm.service.db.session import rowcount, transaction
from dqm.service.durations import duration_seconds

log = logging.getLogger(__name__)
TICK = timedelta(microseconds=1)


def trigger_for(schedule: dict[str, Any], anchor: datetime) -> BaseTrigger:
    """The APScheduler trigger of a monitor's schedule; intervals are anchored at creation."""
    if schedule.get("every"):
        seconds = duration_seconds(schedule["every"])
        return IntervalTrigger(seconds=seconds, start_date=anchor, timezone=UTC)
    return CronTrigger.from_crontab(schedule["cron"], timezone=UTC)


def next_fire_time(schedule: dict[str, Any], anchor: datetime, after: datetime) -> datetime:
    """The first fire time strictly after ``after``."""
    fire: datetime | None = trigger_for(schedule, anchor).get_next_fire_time(None, after + TICK)
    if fire is None:  # triggers without an end always have a next time
        raise ValueError(f"schedule {schedule} has no future fire time")
    return fire.astimezone(UTC)


def insert_run(
    session: Session, monitor_id: int, scheduled_for: datetime, trigger: str
) -> int | None:
    """Insert a queued run unless one exists for that time; returns its id when inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Run)
        .values(
            monitor_id=monitor_id,
            scheduled_for=scheduled_for,
            trigger=trigger,
            status="queued",
            attempts=0,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["monitor_id", "scheduled_for"])
        .returning(Run.id)
    )
    return session.scalar(stmt)


class Wakeups:
    """A signal that wakes every worker loop of this process listening for it.

    Each listener has its own event, so one loop consuming a wake-up never hides it from
    another (several workers may share a process in tests).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: set[threading.Event] = set()

    def listen(self) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._listeners.add(event)
        return event

    def forget(self, event: threading.Event) -> None:
        with self._lock:
            self._listeners.discard(event)

    def wake(self) -> None:
        with self._lock:
            for event in self._listeners:
                event.set()


SCHEDULE_CHANGED = Wakeups()  # a monitor was created or its schedule changed
RUN_QUEUED = Wakeups()  # a run was queued: runners need not wait for their next poll

MAX_COUNTED_MISSES = 10_000  # bounds the walk over a cron schedule after a long outage


def missed_fire_times(
    schedule: dict[str, Any], anchor: datetime, due_at: datetime, now: datetime
) -> int:
    """How many fire times fall in ``(due_at, now]``: the ones coalesced into ``due_at``'s run."""
    if schedule.get("every"):
        period = timedelta(seconds=duration_seconds(schedule["every"]))
        return max(0, (now - anchor) // period - (due_at - anchor) // period)
    missed, fire = 0, next_fire_time(schedule, anchor, due_at)
    while fire <= now and missed < MAX_COUNTED_MISSES:
        missed, fire = missed + 1, next_fire_time(schedule, anchor, fire)
    return missed


def coalesce_queued(session: Session, monitor_id: int, into: datetime, now: datetime) -> int:
    """Skip the monitor's scheduled runs still queued before ``into``; returns how many."""
    skipped = session.execute(
        update(Run)
        .where(
            Run.monitor_id == monitor_id,
            Run.status == "queued",
            Run.trigger == "schedule",
            Run.scheduled_for < into,
        )
        .values(
            status="skipped", finished_at=now, error=f"skipped: coalesced into {into.isoformat()}"
        )
    )
    return rowcount(skipped)


def schedule_due_runs(ctx: Context, now: datetime) -> int:
    """Create the run rows of every monitor that is due; returns how many were created."""
    created, skips = 0, []
    with transaction(ctx.sessions) as session:
        due = session.execute(
            select(
                Monitor.id,
                Monitor.name,
                Dataset.name,
                Monitor.schedule,
                Monitor.created_at,
                Monitor.next_run_at,
            )
            .join(Dataset, Dataset.id == Monitor.dataset_id)
            .where(Monitor.enabled.is_(True), Monitor.next_run_at <= now)
            .order_by(Monitor.id)  # one lock order for every replica
        ).all()
        for monitor_id, name, dataset, schedule, created_at, due_at in due:
            if insert_run(session, monitor_id, due_at, "schedule") is not None:
                created += 1
                missed = missed_fire_times(schedule, created_at, due_at, now)
                superseded = coalesce_queued(session, monitor_id, due_at, now)
                skips.append((dataset, name, missed, superseded))
            following = next_fire_time(schedule, created_at, max(now, due_at))
            session.execute(
                update(Monitor)
                .where(Monitor.id == monitor_id, Monitor.next_run_at == due_at)
                .values(next_run_at=following)
            )
    _count_skips(skips)
    if created:
        log.info("scheduled %d runs", created)
        RUN_QUEUED.wake()
    return created


def _count_skips(skips: list[tuple[str, str, int, int]]) -> None:
    """Count, after the commit, the fire times that will not get a run of their own."""
    for dataset, monitor, missed, superseded in skips:
        if missed:
            log.warning("monitor %s: %d missed fire times coalesced into one run", monitor, missed)
            metrics.RUNS_SKIPPED.labels(dataset, monitor, "missed").inc(missed)
        if superseded:
            metrics.RUNS_SKIPPED.labels(dataset, monitor, "superseded").inc(superseded)


def next_due(ctx: Context) -> datetime | None:
    """The earliest time an enabled monitor is due, if any."""
    with ctx.sessions() as session:
        earliest: datetime | None = session.scalar(
            select(func.min(Monitor.next_run_at)).where(Monitor.enabled.is_(True))
        )
    return earliest
