"""A monitor's recent runs with their metric values, read in two queries whatever the count."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dqm.service.db.models import MetricValue, Monitor, Run


def runs_with_metrics(
    session: Session, monitor: Monitor, limit: int
) -> list[tuple[Run, list[MetricValue]]]:
    """The newest ``limit`` runs of ``monitor`` (newest first), each with its metric values
    in the order they were stored."""
    runs = list(
        session.scalars(
            select(Run)
            .where(Run.monitor_id == monitor.id)
            .order_by(Run.scheduled_for.desc(), Run.id.desc())
            .limit(limit)
        )
    )
    by_run: dict[int, list[MetricValue]] = {r.id: [] for r in runs}
    if runs:
        values = session.scalars(
            select(MetricValue).where(MetricValue.run_id.in_(by_run)).order_by(MetricValue.id)
        )
        for value in values:
            by_run[value.run_id].append(value)
    return [(r, by_run[r.id]) for r in runs]
