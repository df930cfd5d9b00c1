"""Runs as JSON bytes, without building a ``RunOut`` per run and a ``MetricOut`` per value.

A page of a thousand drift runs holds some 80,000 metric values: validating them as pydantic
models costs seconds. The values arrive as one JSON array per run (``listing.ListedRun``) and
are spliced into each run's object; the timestamps arrive as the strings ``RunOut`` writes
(``listing.utc_iso``); the fields are encoded by pydantic-core, the serializer ``RunOut``
itself uses, in ``RunOut``'s field order (tests compare both paths).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Response
from pydantic_core import to_json

from dqm.service.runs.listing import ListedRun


def run_parts(run: ListedRun, monitor: str) -> tuple[bytes, ...]:
    """One run as the JSON of ``RunOut``, in pieces to join."""
    head = to_json(
        {
            "id": run.id,
            "monitor": monitor,
            "status": run.status,
            "trigger": run.trigger,
            "scheduled_for": run.scheduled_for,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "reference_version": run.reference_version,
            "window": run.window,
        }
    )
    return (head[:-1], b',"metrics":', run.metrics_json, b',"error":', to_json(run.error), b"}")


def run_json(run: ListedRun, monitor: str) -> bytes:
    """One run as the JSON of ``RunOut``."""
    return b"".join(run_parts(run, monitor))


def page_response(listed: Sequence[ListedRun], monitor: str, next_cursor: str | None) -> Response:
    """A page of runs (``{"items": [...], "next_cursor": ...}``) as a ready JSON response."""
    parts = [b'{"items":[']
    for i, run in enumerate(listed):
        parts.extend((b",", *run_parts(run, monitor)) if i else run_parts(run, monitor))
    parts.extend((b'],"next_cursor":', to_json(next_cursor), b"}"))
    return Response(content=b"".join(parts), media_type="application/json")
