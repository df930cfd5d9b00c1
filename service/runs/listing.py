"""A monitor's runs with their metric values, newest first, in keyset pages.

A finished run's values are also stored as one JSON document (``run_metrics_json``, written
with the values): a page of a thousand runs of a 25-column drift monitor is 80,000 values, and
reading them row by row costs more than the whole page may (about 90 ms on SQLite for the rows
alone). Runs without a document (finished before it existed) are read from their rows.
"""

from __future__ import annotations

import ctypes
import functools
import json
import platform
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from pydantic_core import to_json
from sqlalchemy import Select, Text, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from dqm.monitors.errors import InvalidInputError
from dqm.service.db.models import MetricValue, Monitor, Run, RunMetricsJson
from dqm.service.db.session import is_postgres

#: The fields of one metric value in the API (``MetricOut``), in its order.
METRIC_FIELDS = ("name", "column", "value", "method", "threshold", "drifted", "status", "details")


class ListedRun(NamedTuple):
    """A run's fields as the API shows them: its timestamps as the JSON strings of ``RunOut``
    (:func:`utc_iso`), its metrics as one JSON array of MetricOut (a tuple: a thousand frozen
    dataclasses cost milliseconds to build)."""

    id: int
    status: str
    trigger: str
    scheduled_for: str
    started_at: str | None
    finished_at: str | None
    reference_version: int | None
    window: dict[str, Any] | None
    error: str | None
    metrics_json: bytes


def _listed(postgres: bool) -> tuple[Any, ...]:
    """The columns of a :class:`ListedRun` but its metrics, read as the driver returns them
    (:func:`_driver_rows`). On PostgreSQL, the timestamps as naive UTC (``timestamp``): psycopg
    gives ``timestamptz`` values in the session's zone, a ``ZoneInfo`` whose conversions cost
    more than the rest of the row; the window as JSONB's text, parsed with the page's others
    in one call (SQLite's JSON is text already) rather than by psycopg's loader per row."""
    stamps: tuple[Any, ...] = (Run.scheduled_for, Run.started_at, Run.finished_at)
    window: Any = Run.window
    if postgres:
        stamps = tuple(func.timezone("UTC", c).label(c.key) for c in stamps)
        window = cast(Run.window, Text).label("window")
    return (Run.id, Run.status, Run.trigger, *stamps, Run.reference_version, window, Run.error)


def _json_texts(texts: list[str | None]) -> list[Any]:
    """Each JSON text parsed (None for SQL NULL): one parse of them all as an array, a third
    of the time of a ``json.loads`` each for a page of small objects."""
    return list(json.loads("[" + ",".join("null" if t is None else t for t in texts) + "]"))


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


def utc_iso(value: datetime | str | None) -> str | None:
    """A naive UTC timestamp as the driver returns it (SQLite: text) as pydantic writes the
    aware datetime in JSON: ISO 8601, the microseconds unless zero, then ``Z``. Cheaper than
    an aware datetime (``replace(tzinfo=...)`` parses keywords) that pydantic then formats."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            # SQLAlchemy's SQLite format, YYYY-MM-DD HH:MM:SS.ffffff: rewritten as text, half
            # the time of parsing it and formatting the datetime.
            time = value[11:19] if value.endswith(".000000") else value[11:]
            return f"{value[:10]}T{time}Z"
        value = datetime.fromisoformat(value)
    return value.isoformat() + "Z"


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Free memory glibc keeps at the top of a heap instead of returning it to the kernel.
RETAINED_BYTES = 64 << 20
#: Allocations from this size up are mapped apart (glibc's largest allowed value).
MAPPED_FROM_BYTES = 32 << 20


@functools.cache
def retain_freed_memory() -> bool:
    """Have glibc keep freed memory for reuse (process-wide; True if it applied).

    A page of a thousand runs is some 40 MB of short-lived buffers (the driver's result, a
    bytes object per document, the joined response, the socket's send buffer). glibc returns
    such memory to the kernel as soon as the top of its heap has 128 kB free (a threshold it
    raises only for single blocks over 128 kB), so every request faulted its memory back in,
    zero-filled: some 10,000 page faults per request on PostgreSQL, about 40% of dqm serve's
    CPU for the page. Kept, the freed memory serves the next request as is; the cost is a
    resident size that stays near its peak (at most RETAINED_BYTES free per malloc arena).
    Other C libraries: no change."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    return bool(
        libc.mallopt(_M_TRIM_THRESHOLD, RETAINED_BYTES)
        and libc.mallopt(_M_MMAP_THRESHOLD, MAPPED_FROM_BYTES)
    )


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
    retain_freed_memory()
    postgres = is_postgres(session)
    query = select(*_listed(postgres), RunMetricsJson.body).outerjoin(
        RunMetricsJson, RunMetricsJson.run_id == Run.id
    )
    rows = _driver_rows(session, _newest_first(_page(query, session, monitor, before_id), limit))
    missing = _values_by_run(session, [row[0] for row in rows if row[-1] is None])
    windows = _json_texts([row[7] for row in rows])
    listed = []
    for row, window in zip(rows, windows, strict=True):
        id_, status, trigger, scheduled, started, finished, version, _, error, body = row
        listed.append(
            ListedRun(
                id_,
                status,
                trigger,
                utc_iso(scheduled),  # type: ignore[arg-type]  # never NULL
                utc_iso(started),
                utc_iso(finished),
                version,
                window,
                error,
                body if body is not None else metrics_json(missing[id_]),
            )
        )
    return listed
