"""A monitor's runs with their metric values, newest first, in keyset pages.

A finished run's values are also stored as one JSON document (``run_metrics_json``, written
with the values): a page of a thousand runs of a 25-column drift monitor is 80,000 values, and
reading them row by row costs more than the whole page may (about 90 ms on SQLite for the rows
alone). Runs without a document (finished before it existed) are read from their rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic_core import to_json
from sqlalchemy import Select, and_, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from dqm.monitors.errors import InvalidInputError
from dqm.service.db.models import MetricValue, Monitor, Run, RunMetricsJson
from dqm.service.db.session import is_postgres

#: The fields of one metric value in the API (``MetricOut``), in its order.
METRIC_FIELDS = ("name", "column", "value", "method", "threshold", "drifted", "status", "details")


class ListedRun(NamedTuple):
    """A run's fields as the API shows them, its metrics as one JSON array of MetricOut (a
    tuple: a thousand frozen dataclasses cost milliseconds to build)."""

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


def _utc(value: datetime | str | None) -> datetime | None:
    """A ``UTCDateTime`` value as the driver returns it (SQLite: naive text) made aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _driver_rows(session: Session, query: Select[Any]) -> list[Any]:
    """The rows of ``query`` as the driver returns them: SQLAlchemy's per-value processing
    (datetimes, JSON) costs more than the query for a page of a thousand runs. PostgreSQL:
    through a binary cursor (bytea as text is hex: twice the bytes and a decode)."""
    if is_postgres(session):
        compiled = query.compile(dialect=session.get_bind().dialect)
        raw: Any = session.connection().connection.driver_connection  # psycopg's
        with raw.cursor(binary=True) as cursor:
            cursor.execute(str(compiled), compiled.params)
            return list(cursor.fetchall())
    # The columns typed NullType: no result processors; the binds are still processed.
    raw_columns = [type_coerce(c, NullType()) for c in query.selected_columns]
    return list(session.execute(query.with_only_columns(*raw_columns)).all())


def listed_runs(
    session: Session, monitor: Monitor, limit: int, before_id: int | None = None
) -> list[ListedRun]:
    """The runs of :func:`runs_with_metrics`, each with its metrics as one JSON array: one
    query for the page with its documents, one more only for runs that have no document."""
    query = select(*_LISTED, RunMetricsJson.body).outerjoin(
        RunMetricsJson, RunMetricsJson.run_id == Run.id
    )
    rows = _driver_rows(session, _newest_first(_page(query, session, monitor, before_id), limit))
    missing = _values_by_run(session, [row[0] for row in rows if row[-1] is None])
    text_json = not is_postgres(session)  # SQLite's JSON columns are text; psycopg loads them
    return [
        ListedRun(
            id_,
            status,
            trigger,
            _utc(scheduled),  # type: ignore[arg-type]  # never NULL
            _utc(started),
            _utc(finished),
            version,
            json.loads(window) if text_json and window is not None else window,
            error,
            body if body is not None else metrics_json(missing[id_]),
        )
        for id_, status, trigger, scheduled, started, finished, version, window, error, body in rows
    ]
