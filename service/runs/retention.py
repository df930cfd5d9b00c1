"""Retention: delete what is older than the configured ages, a small batch at a time.

Finished runs older than ``retention_runs_days`` go with their metric values and findings,
once their metric values are folded into hourly :class:`MetricRollup` points (kept for
``retention_history_days``). Findings may go sooner (``retention_findings_days``); delivered
and dead webhook deliveries go after ``retention_deliveries_days``. A run that an open alert or
an open retrain request points at is kept. Each batch is one short transaction, so runs never
wait long behind it; on PostgreSQL an advisory lock lets one replica at a time do the work.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dqm.service.context import Context
from dqm.service.db.models import (
    Alert,
    Delivery,
    DeliveryAttempt,
    Finding,
    MetricRollup,
    MetricValue,
    RetrainRequest,
    Run,
)
from dqm.service.db.session import is_postgres, transaction
from dqm.service.settings import Settings

log = logging.getLogger(__name__)
FINISHED = ("succeeded", "failed", "skipped")
OPEN_REQUESTS = ("requested", "acknowledged")
ADVISORY_LOCK = 0x64716D72  # any constant shared by every replica
BUDGET_SECONDS = 2.0  # one pass stops after this; the next tick goes on


@dataclass(frozen=True)
class Policy:
    """Ages after which data goes (None: kept forever) and rows per batch."""

    runs: timedelta | None
    findings: timedelta | None
    deliveries: timedelta | None
    history: timedelta | None
    batch_size: int

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        def age(days: float) -> timedelta | None:
            return timedelta(days=days) if days > 0 else None

        return cls(
            runs=age(s.retention_runs_days),
            findings=age(s.retention_findings_days),
            deliveries=age(s.retention_deliveries_days),
            history=age(s.retention_history_days),
            batch_size=s.retention_batch_size,
        )


Step = Callable[[Session, datetime, int], int]


def purge(ctx: Context, now: datetime, budget_seconds: float = BUDGET_SECONDS) -> dict[str, int]:
    """One retention pass: batches until nothing is due or the budget is spent.

    Returns how many runs, findings, deliveries and rollup points were deleted.
    """
    policy = Policy.from_settings(ctx.settings)
    steps: list[tuple[str, timedelta | None, Step]] = [
        ("runs", policy.runs, purge_runs),
        ("findings", policy.findings, purge_findings),
        ("deliveries", policy.deliveries, purge_deliveries),
        ("history", policy.history, purge_history),
    ]
    deadline = time.monotonic() + budget_seconds
    deleted: dict[str, int] = {}
    for name, age, step in steps:
        deleted[name] = 0
        while age is not None and time.monotonic() < deadline:
            count = _batch(ctx, step, now - age, policy.batch_size)
            deleted[name] += count
            if count < policy.batch_size:
                break
    if any(deleted.values()):
        log.info("retention deleted %s", deleted)
    return deleted


def _batch(ctx: Context, step: Step, cutoff: datetime, size: int) -> int:
    with transaction(ctx.sessions) as session:
        if is_postgres(session) and not session.scalar(
            select(func.pg_try_advisory_xact_lock(ADVISORY_LOCK))
        ):
            return 0  # another replica is at it
        return step(session, cutoff, size)


def purge_runs(session: Session, cutoff: datetime, size: int) -> int:
    """Roll up and delete the oldest finished runs scheduled before ``cutoff``."""
    alert_runs = select(Alert.last_run_id).where(
        Alert.state.in_(("pending", "firing")), Alert.last_run_id.is_not(None)
    )
    request_runs = select(RetrainRequest.run_id).where(RetrainRequest.status.in_(OPEN_REQUESTS))
    ids = list(
        session.scalars(
            select(Run.id)
            .where(
                Run.status.in_(FINISHED),
                Run.scheduled_for < cutoff,
                Run.id.not_in(alert_runs),
                Run.id.not_in(request_runs),
            )
            .order_by(Run.scheduled_for, Run.id)
            .limit(size)
        )
    )
    if not ids:
        return 0
    roll_up(session, ids)
    session.execute(delete(Finding).where(Finding.run_id.in_(ids)))
    session.execute(delete(MetricValue).where(MetricValue.run_id.in_(ids)))
    session.execute(delete(Run).where(Run.id.in_(ids)))
    return len(ids)


def purge_findings(session: Session, cutoff: datetime, size: int) -> int:
    """Delete findings of runs scheduled before ``cutoff`` (the runs may stay longer)."""
    old_runs = select(Run.id).where(Run.scheduled_for < cutoff, Run.status.in_(FINISHED))
    ids = list(session.scalars(select(Finding.id).where(Finding.run_id.in_(old_runs)).limit(size)))
    if ids:
        session.execute(delete(Finding).where(Finding.id.in_(ids)))
    return len(ids)


def purge_deliveries(session: Session, cutoff: datetime, size: int) -> int:
    """Delete delivered and dead deliveries (and their attempts) last tried before ``cutoff``."""
    open_requests = select(RetrainRequest.delivery_id).where(
        RetrainRequest.status.in_(OPEN_REQUESTS), RetrainRequest.delivery_id.is_not(None)
    )
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status.in_(("delivered", "dead")),
                Delivery.next_attempt_at < cutoff,
                Delivery.created_at < cutoff,
                Delivery.id.not_in(open_requests),
            )
            .limit(size)
        )
    )
    if ids:
        session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids)))
        session.execute(delete(Delivery).where(Delivery.id.in_(ids)))
    return len(ids)


def purge_history(session: Session, cutoff: datetime, size: int) -> int:
    """Delete hourly rollup points of hours that started before ``cutoff``."""
    ids = list(
        session.scalars(
            select(MetricRollup.id).where(MetricRollup.bucket_start < cutoff).limit(size)
        )
    )
    if ids:
        session.execute(delete(MetricRollup).where(MetricRollup.id.in_(ids)))
    return len(ids)


SeriesHour = tuple[int, str, str | None, datetime]


@dataclass
class _Hour:
    points: int = 0
    count: int = 0
    total: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    drifted: int = 0

    def add(self, value: float | None, drifted: bool | None) -> None:
        self.points += 1
        self.drifted += bool(drifted)
        if value is None or not math.isfinite(value):
            return  # a skipped or undefined metric counts as a point without a value
        self.count += 1
        self.total += value
        self.minimum = value if self.minimum is None else min(self.minimum, value)
        self.maximum = value if self.maximum is None else max(self.maximum, value)


def roll_up(session: Session, run_ids: list[int]) -> None:
    """Fold the metric values of ``run_ids`` into their hourly rollup points."""
    hours: dict[SeriesHour, _Hour] = {}
    query = select(
        MetricValue.monitor_id,
        MetricValue.name,
        MetricValue.column,
        MetricValue.measured_at,
        MetricValue.value,
        MetricValue.drifted,
    ).where(MetricValue.run_id.in_(run_ids))
    for monitor_id, name, column, at, value, drifted in session.execute(query):
        start = at.replace(minute=0, second=0, microsecond=0)
        hours.setdefault((monitor_id, name, column, start), _Hour()).add(value, drifted)
    if not hours:
        return
    stored = session.scalars(
        select(MetricRollup).where(
            MetricRollup.monitor_id.in_({k[0] for k in hours}),
            MetricRollup.bucket_start.in_({k[3] for k in hours}),
        )
    )
    by_key = {(r.monitor_id, r.name, r.column, r.bucket_start): r for r in stored}
    for key, hour in hours.items():
        row = by_key.get(key)
        if row is None:
            monitor_id, name, column, start = key
            row = MetricRollup(
                monitor_id=monitor_id,
                name=name,
                column=column,
                bucket_start=start,
                points=0,
                count=0,
                total=0.0,
                drifted=0,
            )
            session.add(row)
        _merge(row, hour)


def _merge(row: MetricRollup, hour: _Hour) -> None:
    row.points += hour.points
    row.count += hour.count
    row.total += hour.total
    row.drifted += hour.drifted
    for name, pick in (("minimum", min), ("maximum", max)):
        new, old = getattr(hour, name), getattr(row, name)
        setattr(row, name, old if new is None else new if old is None else pick(old, new))
