"""The queries behind the /metrics snapshot (``metrics_snapshot``): each one bounded by what
changed (a watermark, a set of run ids) or by the number of monitors, except the resync's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from dqm.service.db.models import Dataset, MetricValue, Monitor, Run
from dqm.service.db.session import is_postgres

FINISHED = ("succeeded", "failed")
Value = tuple[str, str | None, float]  # metric, column (None: dataset level), value
CHUNK = 500  # run ids per IN list


class Finished(NamedTuple):
    id: int
    monitor_id: int
    status: str
    finished_at: datetime


def consistent(session: Session) -> None:
    """Make the session's reads one snapshot (SQLite's read transactions already are)."""
    if is_postgres(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def monitor_names(session: Session) -> dict[int, tuple[str, str]]:
    """``{monitor id: (dataset name, monitor name)}``."""
    query = select(Monitor.id, Dataset.name, Monitor.name).join(
        Dataset, Dataset.id == Monitor.dataset_id
    )
    return {m: (d, n) for m, d, n in session.execute(query)}


def run_counts(session: Session) -> list[tuple[int, str, int, datetime | None]]:
    """(monitor id, status, finished runs, latest finish) per monitor and final status."""
    query = (
        select(Run.monitor_id, Run.status, func.count(), func.max(Run.finished_at))
        .where(Run.status.in_(FINISHED))
        .group_by(Run.monitor_id, Run.status)
    )
    return list(session.execute(query))


def latest_successes(session: Session) -> dict[int, int]:
    """``{monitor id: id of its latest successful run}``."""
    query = (
        select(Run.monitor_id, func.max(Run.id))
        .where(Run.status == "succeeded")
        .group_by(Run.monitor_id)
    )
    return dict(session.execute(query).all())


def last_finished(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Run.finished_at)).where(Run.status.in_(FINISHED)))


def _finished(since: datetime | None) -> list[ColumnElement[bool]]:
    status = Run.status.in_(FINISHED)
    return [status] if since is None else [status, Run.finished_at >= since]


def finished_since(session: Session, since: datetime | None) -> list[Finished]:
    """Runs finished at ``since`` or later (every finished run when None), oldest first."""
    query = select(Run.id, Run.monitor_id, Run.status, Run.finished_at).where(*_finished(since))
    rows = session.execute(query.order_by(Run.finished_at, Run.id))
    return [Finished(i, m, s, at) for i, m, s, at in rows if at is not None]


def finished_ids_since(session: Session, since: datetime | None) -> dict[int, datetime]:
    """``{id: finished_at}`` of the runs finished at ``since`` or later."""
    query = select(Run.id, Run.finished_at).where(*_finished(since))
    return {i: at for i, at in session.execute(query) if at is not None}


def values_of(session: Session, run_ids: Iterable[int]) -> dict[int, list[Value]]:
    """The non-null metric values of ``run_ids`` by run, by metric name then stored order."""
    ids = sorted(set(run_ids))
    found: dict[int, list[Value]] = {}
    for start in range(0, len(ids), CHUNK):
        query = (
            select(MetricValue.run_id, MetricValue.name, MetricValue.column, MetricValue.value)
            .where(MetricValue.run_id.in_(ids[start : start + CHUNK]))
            .where(MetricValue.value.is_not(None))
            .order_by(MetricValue.run_id, MetricValue.name, MetricValue.id)
        )
        for run_id, name, column, value in session.execute(query):
            if value is not None:  # excluded by the query; narrows the type
                found.setdefault(run_id, []).append((name, column, value))
    return found
