"""APScheduler triggers turned into run rows: exactly one per (monitor, scheduled time).

Every replica may tick; the unique constraint on (monitor_id, scheduled_for) and a
compare-and-set on ``monitors.next_run_at`` make the outcome the same as one ticking. A tick
handles every due monitor in a few statements whatever their number (one multi-row insert, one
update of the superseded runs, one batch of compare-and-sets), so a scheduler that fell behind
catches up in one transaction; on PostgreSQL it locks the due monitors with ``SKIP LOCKED``, so
replicas ticking at once share the monitors instead of repeating each other's work.

Misfires never pile up. Fire times missed while no scheduler ran are coalesced into one run
(APScheduler's ``coalesce``) and counted. A scheduled run still queued when the next one of its
monitor is queued is not executed: it becomes ``skipped`` ("skipped: coalesced into <time>"),
so a monitor slower than its schedule has at most one run waiting; workers leave such a run
alone once its monitor is due again (``runner.claim``), so no run starts more than one interval
late.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dqm.service import metrics
from dqm.service.context import Context
from dqm.service.db.models import Dataset, Monitor, Run
from dqm.service.db.session import is_postgres, transaction
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


@dataclass(frozen=True)
class Due:
    monitor_id: int
    monitor: str
    dataset: str
    schedule: dict[str, Any]
    anchor: datetime
    due_at: datetime
    waiting: bool  # a scheduled run of the monitor is still queued


def _due(session: Session, now: datetime) -> list[Due]:
    """The monitors due at ``now``, locked for this transaction. On PostgreSQL, monitors
    another replica is scheduling right now are skipped rather than waited for."""
    waiting = (
        select(Run.id)
        .where(Run.monitor_id == Monitor.id, Run.status == "queued", Run.trigger == "schedule")
        .exists()
    )
    query = (
        select(
            Monitor.id,
            Monitor.name,
            Dataset.name,
            Monitor.schedule,
            Monitor.created_at,
            Monitor.next_run_at,
            waiting,
        )
        .join(Dataset, Dataset.id == Monitor.dataset_id)
        .where(Monitor.enabled.is_(True), Monitor.next_run_at <= now)
        .order_by(Monitor.id)  # one lock order for every replica
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Monitor)
    return [Due(*row) for row in session.execute(query).all()]


def _insert_runs(session: Session, due: list[Due], now: datetime) -> dict[int, int]:
    """One queued run per due monitor unless it exists; ``{monitor id: run id}`` inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {
            "monitor_id": d.monitor_id,
            "scheduled_for": d.due_at,
            "trigger": "schedule",
            "status": "queued",
            "attempts": 0,
            "created_at": now,
        }
        for d in due
    ]
    stmt = (
        insert(Run)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["monitor_id", "scheduled_for"])
        .returning(Run.monitor_id, Run.id)
    )
    return {int(row[0]): int(row[1]) for row in session.execute(stmt)}


def _supersede(
    session: Session, into: dict[int, tuple[int, datetime]], now: datetime
) -> Counter[int]:
    """Skip the scheduled runs still queued of the monitors in ``into`` ({monitor id: (the run
    just queued, its time)}) but those runs themselves; returns the count per monitor."""
    reasons = {m: f"skipped: coalesced into {t.isoformat()}" for m, (_, t) in into.items()}
    stmt = (
        update(Run)
        .where(
            Run.monitor_id.in_(into),
            Run.id.not_in([run_id for run_id, _ in into.values()]),
            Run.status == "queued",
            Run.trigger == "schedule",
        )
        .values(status="skipped", finished_at=now, error=case(reasons, value=Run.monitor_id))
        .returning(Run.monitor_id)
        .execution_options(synchronize_session=False)
    )
    return Counter(session.scalars(stmt).all())


def _advance(session: Session, due: list[Due], now: datetime) -> None:
    """Move each monitor's ``next_run_at`` past ``now``, unless another replica already did."""
    table, when = cast(Table, Monitor.__table__), Monitor.next_run_at.type
    stmt = (
        update(table)  # core: one executemany, fenced per row by the time it was due at
        .where(
            table.c.id == bindparam("monitor_id"),
            table.c.next_run_at == bindparam("due_at", type_=when),
        )
        .values(next_run_at=bindparam("following", type_=when))
    )
    params = [
        {
            "monitor_id": d.monitor_id,
            "due_at": d.due_at,
            "following": next_fire_time(d.schedule, d.anchor, max(now, d.due_at)),
        }
        for d in due
    ]
    session.connection().execute(stmt, params)


def schedule_due_runs(ctx: Context, now: datetime) -> int:
    """Create the run rows of every monitor that is due; returns how many were created.

    A handful of statements per call whatever the number of due monitors, so a scheduler that
    fell behind catches up in one transaction."""
    skips = []
    with transaction(ctx.sessions) as session:
        due = _due(session, now)
        if not due:
            return 0
        inserted = _insert_runs(session, due, now)
        into = {
            d.monitor_id: (inserted[d.monitor_id], d.due_at)
            for d in due
            if d.monitor_id in inserted and d.waiting
        }
        superseded = _supersede(session, into, now) if into else Counter()
        _advance(session, due, now)
        for d in due:
            if d.monitor_id in inserted:
                missed = missed_fire_times(d.schedule, d.anchor, d.due_at, now)
                skips.append((d.dataset, d.monitor, missed, superseded[d.monitor_id]))
    _count_skips(skips)
    if inserted:
        log.info("scheduled %d runs", len(inserted))
        RUN_QUEUED.wake()
    return len(inserted)


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
