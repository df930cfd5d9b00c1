"""A monitor's runs with their metric values, newest first, in keyset pages.

A finished run's values are also stored as one JSON document (``run_metrics_json``, written
with the values): a page of a thousand runs of a 25-column drift monitor is 80,000 values, and
reading them row by row costs more than the whole page may (about 90 ms on SQLite for the rows
alone). Runs without a document (finished before it existed) are read from their rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from dqm.monitors.errors import InvalidInputError
from dqm.service.db.models import MetricValue, Monitor, Run, RunMetricsJson
from dqm.service.db.session import is_postgres

#: The fields of one metric value in the API (``MetricOut``), in its order.
METRIC_FIELDS = ("name", "column", "value", "method", "threshold", "drifted", "status", "details")


@dataclass(frozen=True)
class ListedRun:
    """A run's fields as the API shows them, its metrics as one JSON array of MetricOut."""

    id: int
    status: str
    trigger: str
    scheduled_for: datetime
    started_at: datetime | None
    finished_at: datetime | None
    reference_version: int | None
    window: dict[str, Any] | None
    error: str | None
    metrics_json: bytes


_LISTED = (
    Run.id,
    Run.status,
    Run.trigger,
    Run.scheduled_for,
    Run.started_at,
    Run.finished_at,
    Run.reference_version,
    Run.window,
    Run.error,
)


def metrics_json(values: Iterable[MetricValue]) -> bytes:
    """The JSON array of ``values`` as the API shows them (``MetricOut`` objects)."""
    return to_json([{f: getattr(v, f) for f in METRIC_FIELDS} for v in values])


def metrics_document(run_id: int, values: Iterable[MetricValue]) -> RunMetricsJson:
    """The ``run_metrics_json`` row of a run's ``values``, to add in the same transaction."""
    return RunMetricsJson(run_id=run_id, body=metrics_json(values))


def _page(
    query: Select[Any], session: Session, monitor: Monitor, before_id: int | None
) -> Select[Any]:
    """``query`` on runs of ``monitor`` after the run ``before_id`` in the listing order."""
    query = query.where(Run.monitor_id == monitor.id)
    if before_id is None:
        return query
    anchor = session.scalar(
        select(Run.scheduled_for).where(Run.id == before_id, Run.monitor_id == monitor.id)
    )
    if anchor is None:
        raise InvalidInputError(
            f"run {before_id} is not a run of monitor {monitor.name!r} (it may have been "
            "deleted by retention); list again from the newest run",
            [{"field": "cursor", "run_id": before_id}],
        )
    return query.where(
        or_(Run.scheduled_for < anchor, and_(Run.scheduled_for == anchor, Run.id < before_id))
    )


def _newest_first(query: Select[Any], limit: int) -> Select[Any]:
    return query.order_by(Run.scheduled_for.desc(), Run.id.desc()).limit(limit)


def _values_by_run(session: Session, run_ids: list[int]) -> dict[int, list[MetricValue]]:
    by_run: dict[int, list[MetricValue]] = {r: [] for r in run_ids}
    if run_ids:
        values = session.scalars(
            select(MetricValue).where(MetricValue.run_id.in_(run_ids)).order_by(MetricValue.id)
        )
        for value in values:
            by_run[value.run_id].append(value)
    return by_run


def runs_with_metrics(
    session: Session, monitor: Monitor, limit: int, before_id: int | None = None
) -> list[tuple[Run, list[MetricValue]]]:
    """The newest ``limit`` runs of ``monitor`` (newest scheduled first, then highest id), each
    with its metric values in the order they were stored; with ``before_id``, the runs after
    that run in this order (keyset pagination: the next page after the run ``before_id``).
    Reads every value row: :func:`listed_runs` is the fast path for pages."""
    page = _page(select(Run), session, monitor, before_id)
    runs = list(session.scalars(_newest_first(page, limit)))
    by_run = _values_by_run(session, [r.id for r in runs])
    return [(r, by_run[r.id]) for r in runs]


def _documents(session: Session, run_ids: list[int]) -> dict[int, bytes]:
    """The stored JSON documents of ``run_ids`` (PostgreSQL: in binary, not as hex text)."""
    if not run_ids:
        return {}
    if is_postgres(session):
        raw: Any = session.connection().connection.driver_connection  # psycopg's
        with raw.cursor(binary=True) as cursor:
            cursor.execute(
                "SELECT run_id, body FROM run_metrics_json WHERE run_id = ANY(%s)", [run_ids]
            )
            return dict(cursor.fetchall())
    query = select(RunMetricsJson.run_id, RunMetricsJson.body)
    return dict(session.execute(query.where(RunMetricsJson.run_id.in_(run_ids))).all())


def listed_runs(
    session: Session, monitor: Monitor, limit: int, before_id: int | None = None
) -> list[ListedRun]:
    """The runs of :func:`runs_with_metrics`, each with its metrics as one JSON array: a query
    for the page, one for its documents, one more only for runs that have no document."""
    rows = session.execute(
        _newest_first(_page(select(*_LISTED), session, monitor, before_id), limit)
    ).all()
    documents = _documents(session, [row.id for row in rows])
    missing = _values_by_run(session, [row.id for row in rows if row.id not in documents])
    return [
        ListedRun(
            row.id,
            row.status,
            row.trigger,
            row.scheduled_for,
            row.started_at,
            row.finished_at,
            row.reference_version,
            row.window,
            row.error,
            documents.get(row.id) or metrics_json(missing[row.id]),
        )
        for row in rows
    ]
