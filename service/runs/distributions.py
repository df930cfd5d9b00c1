"""The per-column distributions a drift run compared, stored with the run for its page.

The summary (``dqm.monitors.distribution_summary``) is computed by the runner from the same
reference profile and window the monitor measured, for the columns the run scored, and is
written in the run's transaction; runs of other kinds store none.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from dqm.monitors.base import MonitorResult
from dqm.monitors.distribution_summary import summarize
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import Schema
from dqm.service.db.models import RunDistribution

KINDS = ("drift",)


def summarize_run(
    kind: str, profile: ReferenceProfile, window: pa.Table, schema: Schema, result: MonitorResult
) -> dict[str, Any] | None:
    """The summary of the columns the run scored (``drift_score``), or None for other kinds."""
    if kind not in KINDS:
        return None
    scored = {m.column for m in result.metrics if m.name == "drift_score" and m.column}
    specs = [c for c in schema.columns if c.name in scored]
    return summarize(profile, window, schema, specs)


def store(session: Session, run_id: int, body: dict[str, Any] | None) -> None:
    """Add the run's summary to the session (nothing when there is none)."""
    if body is not None:
        session.add(RunDistribution(run_id=run_id, body=body))


def load(session: Session, run_id: int) -> dict[str, Any] | None:
    """The stored summary of a run, or None (another kind, or a run from before summaries)."""
    row = session.get(RunDistribution, run_id)
    return row.body if row is not None else None
