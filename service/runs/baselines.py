"""Reference baselines: a monitor's metrics over chunks of the reference (NannyML's approach).

Computed once per (monitor, reference version) — by running the monitor on each chunk of the
reference against the whole reference — and stored, so rules with ``{"baseline": "reference"}``
derive their bounds from how much the metric moves on data known to be fine.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dqm.alerts.rules import Rule, SeriesKey
from dqm.monitors.base import Monitor
from dqm.monitors.errors import DqmError
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import Schema
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import ReferenceBaseline
from dqm.service.db.session import transaction

CHUNKS = 10


def needs_reference_baseline(rules: list[Rule]) -> bool:
    return any(r.baseline is not None and r.baseline.baseline == "reference" for r in rules)


def chunk_values(
    monitor: Monitor, profile: ReferenceProfile, schema: Schema, params: BaseModel, chunks: int
) -> dict[SeriesKey, list[float]]:
    """Each metric's values over ``chunks`` contiguous slices of the reference."""
    table = profile.table
    size = max(1, table.num_rows // chunks)
    values: dict[SeriesKey, list[float]] = {}
    for start in range(0, size * chunks, size):
        piece = table.slice(start, size)
        if piece.num_rows == 0:
            break
        try:
            result = monitor.run(profile, piece, schema, params)
        except DqmError:
            continue  # a chunk too small for the monitor counts as no value
        for m in result.metrics:
            if m.value is not None:
                values.setdefault((m.name, m.column), []).append(float(m.value))
    return values


def _decode(stored: dict[str, Any]) -> dict[SeriesKey, list[float]]:
    return {(name, column): list(vals) for name, column, vals in stored["items"]}


def reference_values(
    ctx: Context, monitor_id: int, version: int, compute: Any
) -> dict[SeriesKey, list[float]]:
    """Stored chunk values of (monitor, reference version); ``compute()`` makes them if absent."""
    with ctx.sessions() as session:
        row = session.scalar(
            select(ReferenceBaseline).where(
                ReferenceBaseline.monitor_id == monitor_id,
                ReferenceBaseline.reference_version == version,
            )
        )
    if row is not None:
        return _decode(row.values)
    values: dict[SeriesKey, list[float]] = compute()
    items = [
        [name, column, vals]
        for (name, column), vals in sorted(
            values.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
        )
    ]
    try:
        with transaction(ctx.sessions) as session:
            session.add(
                ReferenceBaseline(
                    monitor_id=monitor_id,
                    reference_version=version,
                    chunks=CHUNKS,
                    values={"items": items},
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        pass  # another worker stored the same values first
    return values
