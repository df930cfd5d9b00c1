"""What the console shows of monitors and their runs: last status, key metric, schedule health.

Read-only queries, bounded whatever the history: the newest run per monitor, the newest
``points`` values of one metric, counts over the last day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dqm.service.db.models import Alert, Dataset, MetricValue, Monitor, Run

# The metric a monitor's sparkline shows when no rule names a dataset-level one.
KEY_METRICS = {
    "drift": ("share_drifted_columns",),
    "coverage": ("slice_uncovered_share", "knn_ood_share"),
    "data_quality": ("rows_with_any_problem_share",),
    "label_quality": ("accuracy", "estimated_accuracy", "mae", "estimated_mae", "label_coverage"),
}
DAY = timedelta(days=1)


@dataclass
class MonitorSummary:
    """One monitor's line on the overview."""

    monitor: Monitor
    dataset: str
    last_run: Run | None = None
    key_metric: str | None = None
    points: list[tuple[int, datetime, float | None]] = field(default_factory=list)
    firing: int = 0
    pending: int = 0
    runs_by_status: dict[str, int] = field(default_factory=dict)  # last 24 h
    overdue_seconds: float | None = None

    @property
    def lag_seconds(self) -> float | None:
        """How late the last run started after its scheduled time."""
        return lag_of(self.last_run) if self.last_run else None

    @property
    def latest_value(self) -> float | None:
        return self.points[-1][2] if self.points else None


def lag_of(run: Run) -> float | None:
    if run.started_at is None:
        return None
    return max(0.0, (run.started_at - run.scheduled_for).total_seconds())


def duration_of(run: Run) -> float | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return max(0.0, (run.finished_at - run.started_at).total_seconds())


def key_metric(monitor: Monitor, stored: list[str]) -> str | None:
    """The first dataset-level rule metric, else the kind's usual one, else any stored one.

    ``stored``: the dataset-level metric names of the monitor's latest run.
    """
    for rule in monitor.rules.get("items", []):
        if rule.get("column") is None and rule.get("metric") in stored:
            return str(rule["metric"])
    for name in KEY_METRICS.get(monitor.kind, ()):
        if name in stored:
            return name
    return stored[0] if stored else None


def _last_runs(session: Session) -> dict[int, Run]:
    newest = select(func.max(Run.id)).where(Run.status != "skipped").group_by(Run.monitor_id)
    return {r.monitor_id: r for r in session.scalars(select(Run).where(Run.id.in_(newest)))}


def _last_succeeded(session: Session) -> dict[int, int]:
    query = select(Run.monitor_id, func.max(Run.id)).where(Run.status == "succeeded")
    return dict(session.execute(query.group_by(Run.monitor_id)).all())


def _alert_counts(session: Session) -> dict[tuple[int, str], int]:
    query = (
        select(Alert.monitor_id, Alert.state, func.count())
        .where(Alert.state.in_(("pending", "firing")))
        .group_by(Alert.monitor_id, Alert.state)
    )
    return {(m, s): n for m, s, n in session.execute(query)}


def _run_counts(session: Session, since: datetime) -> dict[int, dict[str, int]]:
    query = (
        select(Run.monitor_id, Run.status, func.count())
        .where(Run.scheduled_for >= since)
        .group_by(Run.monitor_id, Run.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for monitor_id, status, n in session.execute(query):
        counts.setdefault(monitor_id, {})[status] = n
    return counts


def dataset_level_names(session: Session, run_id: int) -> list[str]:
    query = (
        select(MetricValue.name)
        .where(MetricValue.run_id == run_id, MetricValue.column.is_(None))
        .order_by(MetricValue.id)
    )
    return list(dict.fromkeys(session.scalars(query)))


def recent_points(
    session: Session, monitor_id: int, metric: str, column: str | None, points: int
) -> list[tuple[int, datetime, float | None]]:
    """(run id, measured at, value) of the newest ``points`` values, oldest first."""
    query = (
        select(MetricValue.run_id, MetricValue.measured_at, MetricValue.value)
        .where(
            MetricValue.monitor_id == monitor_id,
            MetricValue.name == metric,
            MetricValue.column.is_(None) if column is None else MetricValue.column == column,
        )
        .order_by(MetricValue.run_id.desc())
        .limit(points)
    )
    return [(r, at, v) for r, at, v in reversed(session.execute(query).all())]


def monitor_summaries(
    session: Session, now: datetime, points: int = 30, tick_seconds: float = 5.0
) -> list[MonitorSummary]:
    """Every monitor with its last run, key metric series, open alerts and last-day counts.

    Monitors with firing alerts come first, then pending ones, then by name.
    """
    last = _last_runs(session)
    succeeded = _last_succeeded(session)
    alerts = _alert_counts(session)
    counts = _run_counts(session, now - DAY)
    rows = session.execute(select(Monitor, Dataset.name).join(Dataset).order_by(Monitor.name)).all()
    out: list[MonitorSummary] = []
    for monitor, dataset in rows:
        summary = MonitorSummary(monitor, dataset, last.get(monitor.id))
        summary.firing = alerts.get((monitor.id, "firing"), 0)
        summary.pending = alerts.get((monitor.id, "pending"), 0)
        summary.runs_by_status = counts.get(monitor.id, {})
        due = monitor.next_run_at
        if monitor.enabled and due is not None and (now - due).total_seconds() > 2 * tick_seconds:
            summary.overdue_seconds = (now - due).total_seconds()
        if monitor.id in succeeded:
            names = dataset_level_names(session, succeeded[monitor.id])
            summary.key_metric = key_metric(monitor, names)
        if summary.key_metric is not None:
            summary.points = recent_points(session, monitor.id, summary.key_metric, None, points)
        out.append(summary)
    out.sort(key=lambda s: (-s.firing, -s.pending, s.monitor.name))
    return out


def recent_runs(session: Session, monitor_id: int, limit: int) -> list[Run]:
    """The monitor's newest runs (skipped ones included), newest first."""
    query = (
        select(Run)
        .where(Run.monitor_id == monitor_id)
        .order_by(Run.scheduled_for.desc(), Run.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def monitors_of_dataset(session: Session, dataset_id: int) -> list[Monitor]:
    query = select(Monitor).where(Monitor.dataset_id == dataset_id).order_by(Monitor.name)
    return list(session.scalars(query))


def metric_names(session: Session, monitor_id: int) -> tuple[list[str], list[str]]:
    """(dataset-level, per-column) metric names of the monitor's latest successful run."""
    run_id = session.scalar(
        select(func.max(Run.id)).where(Run.monitor_id == monitor_id, Run.status == "succeeded")
    )
    if run_id is None:
        return [], []
    rows = session.execute(
        select(MetricValue.name, MetricValue.column)
        .where(MetricValue.run_id == run_id)
        .order_by(MetricValue.id)
    ).all()
    dataset_level = list(dict.fromkeys(n for n, c in rows if c is None))
    per_column = list(dict.fromkeys(n for n, c in rows if c is not None))
    return dataset_level, per_column


def metric_columns(session: Session, monitor_id: int, metric: str) -> list[str]:
    """The columns that have ``metric`` in the monitor's latest successful run."""
    run_id = session.scalar(
        select(func.max(Run.id)).where(Run.monitor_id == monitor_id, Run.status == "succeeded")
    )
    query = (
        select(MetricValue.column)
        .where(MetricValue.run_id == run_id, MetricValue.name == metric)
        .where(MetricValue.column.is_not(None))
        .order_by(MetricValue.id)
    )
    return [c for c in session.scalars(query) if c is not None]


def column_matrix(
    session: Session, monitor_id: int, metric: str, runs: int
) -> tuple[list[str], list[int], list[list[float | None]]]:
    """A per-column metric over the newest ``runs`` successful runs: (columns, run ids, z).

    ``z[i][j]`` is column i's value in run j (None where the run has none); runs oldest first.
    """
    run_ids = sorted(
        session.scalars(
            select(Run.id)
            .where(Run.monitor_id == monitor_id, Run.status == "succeeded")
            .order_by(Run.id.desc())
            .limit(runs)
        )
    )
    if not run_ids:
        return [], [], []
    values = session.execute(
        select(MetricValue.column, MetricValue.run_id, MetricValue.value).where(
            MetricValue.run_id.in_(run_ids),
            MetricValue.name == metric,
            MetricValue.column.is_not(None),
        )
    ).all()
    columns = sorted({c for c, _, _ in values if c is not None})
    at = {(c, r): v for c, r, v in values}
    z = [[at.get((c, r)) for r in run_ids] for c in columns]
    return columns, run_ids, z


def monitor_names(session: Session) -> list[str]:
    return list(session.scalars(select(Monitor.name).order_by(Monitor.name)))
