"""APScheduler triggers turned into run rows: exactly one per (monitor, scheduled time).

Every replica may tick; the unique constraint on (monitor_id, scheduled_for) and a
compare-and-set on ``monitors.next_run_at`` make the outcome the same as one ticking.
Missed fire times while no worker ran are coalesced into one run (APScheduler's ``coalesce``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dqm.service.context import Context
from dqm.service.db.models import Monitor, Run
from dqm.service.db.session import transaction
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


def schedule_due_runs(ctx: Context, now: datetime) -> int:
    """Create the run rows of every monitor that is due; returns how many were created."""
    created = 0
    with transaction(ctx.sessions) as session:
        due = session.execute(
            select(Monitor.id, Monitor.schedule, Monitor.created_at, Monitor.next_run_at).where(
                Monitor.enabled.is_(True), Monitor.next_run_at <= now
            )
        ).all()
        for monitor_id, schedule, created_at, due_at in due:
            if insert_run(session, monitor_id, due_at, "schedule") is not None:
                created += 1
            following = next_fire_time(schedule, created_at, max(now, due_at))
            session.execute(
                update(Monitor)
                .where(Monitor.id == monitor_id, Monitor.next_run_at == due_at)
                .values(next_run_at=following)
            )
    if created:
        log.info("scheduled %d runs", created)
    return created
