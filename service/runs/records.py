"""What a run was run with, stored beside its metrics for its page (the report of record):
the monitor's parameters as the run read them and, for drift runs, the per-column
distributions it compared.

The distributions (``dqm.monitors.distribution_summary``) are computed by the runner from the
same reference profile and window the monitor measured (late labels joined), for the columns
the run scored, and written in the run's transaction.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from dqm.monitors.base import MonitorResult
from dqm.monitors.distribution_summary import summarize
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import Schema
from dqm.service.db.models import RunRecord

SUMMARIZED_KINDS = ("drift",)


def build(
    kind: str,
    params: dict[str, Any] | None,
    profile: ReferenceProfile,
    window: pa.Table,
    schema: Schema,
    result: MonitorResult,
) -> dict[str, Any]:
    """``{"params", "distributions"}``: the parameters, and for drift runs the summary of the
    columns the run scored (``drift_score``), else None."""
    summary = None
    if kind in SUMMARIZED_KINDS:
        scored = {m.column for m in result.metrics if m.name == "drift_score" and m.column}
        specs = [c for c in schema.columns if c.name in scored]
        summary = summarize(profile, window, schema, specs)
    return {"params": dict(params or {}), "distributions": summary}


def store(session: Session, run_id: int, record: dict[str, Any] | None) -> None:
    """Add the run's record to the session (nothing when there is none)."""
    if record is not None:
        session.add(
            RunRecord(run_id=run_id, params=record["params"], distributions=record["distributions"])
        )


def load(session: Session, run_id: int) -> RunRecord | None:
    """The stored record of a run, or None (a run that failed or predates records)."""
    return session.get(RunRecord, run_id)
