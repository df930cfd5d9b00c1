"""Everything the console's run page shows about one run, read in one short session: the run,
its monitor and dataset, its metric values, the record of what it ran with (params and, for
drift runs, the distributions compared), its findings and the alerts it last evaluated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dqm.monitors.errors import NotFoundError
from dqm.service.db.models import Alert, Dataset, Finding, MetricValue, Monitor, Run
from dqm.service.runs import records

MAX_FINDINGS = 200


@dataclass(frozen=True)
class RunDetail:
    run: Run
    monitor: Monitor
    dataset: str
    metrics: list[MetricValue]
    params: dict[str, Any]
    params_recorded: bool  # False: a run from before records; params are the monitor's now
    distributions: dict[str, Any] | None
    findings: list[Finding]
    findings_total: int
    alerts: list[Alert]

    @property
    def dataset_metrics(self) -> list[MetricValue]:
        return [m for m in self.metrics if m.column is None]

    @property
    def column_metrics(self) -> list[MetricValue]:
        return [m for m in self.metrics if m.column is not None]

    def per_column(self, name: str) -> dict[str, MetricValue]:
        """{column: metric value} of one per-column metric (e.g. ``drift_score``)."""
        return {m.column: m for m in self.metrics if m.name == name and m.column is not None}


def run_detail(sessions: sessionmaker[Session], run_id: int) -> RunDetail:
    """The run page's data; ``NotFoundError`` for an unknown run."""
    with sessions() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist", [{"run_id": run_id}])
        monitor = session.get_one(Monitor, run.monitor_id)
        dataset = session.get_one(Dataset, monitor.dataset_id).name
        metrics = list(
            session.scalars(
                select(MetricValue).where(MetricValue.run_id == run_id).order_by(MetricValue.id)
            )
        )
        record = records.load(session, run_id)
        findings = list(
            session.scalars(
                select(Finding)
                .where(Finding.run_id == run_id)
                .order_by(Finding.score.desc(), Finding.id)
                .limit(MAX_FINDINGS)
            )
        )
        total = session.scalar(select(func.count()).where(Finding.run_id == run_id)) or 0
        alerts = list(
            session.scalars(select(Alert).where(Alert.last_run_id == run_id).order_by(Alert.id))
        )
    return RunDetail(
        run=run,
        monitor=monitor,
        dataset=dataset,
        metrics=metrics,
        params=record.params if record is not None else dict(monitor.params or {}),
        params_recorded=record is not None,
        distributions=record.distributions if record is not None else None,
        findings=findings,
        findings_total=int(total),
        alerts=alerts,
    )


def run_record(
    sessions: sessionmaker[Session], run_id: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(params, distributions) recorded for a run, each None when not recorded;
    ``NotFoundError`` for an unknown run."""
    with sessions() as session:
        if session.get(Run, run_id) is None:
            raise NotFoundError(f"run {run_id} does not exist", [{"run_id": run_id}])
        record = records.load(session, run_id)
        if record is None:
            return None, None
        return record.params, record.distributions
