"""What the console shows of alerts, the outbox and hooks: bounded, read-only queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from dqm.service.alerting.relabel import QUEUED_REASONS
from dqm.service.db.models import (
    Alert,
    Dataset,
    Delivery,
    DeliveryAttempt,
    Finding,
    Hook,
    Label,
    Monitor,
    RetrainRequest,
)


@dataclass(frozen=True)
class OutboxHealth:
    pending: int
    delivered: int
    dead: int
    oldest_pending_at: datetime | None
    disabled_hooks: int


def outbox_health(session: Session) -> OutboxHealth:
    states = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    oldest = session.scalar(
        select(func.min(Delivery.created_at)).where(Delivery.status == "pending")
    )
    disabled = session.scalar(select(func.count()).where(Hook.enabled.is_(False))) or 0
    pending, delivered, dead = (states.get(k, 0) for k in ("pending", "delivered", "dead"))
    return OutboxHealth(pending, delivered, dead, oldest, disabled)


def _alerts() -> Select[Alert, str]:
    return select(Alert, Monitor.name).join(Monitor, Monitor.id == Alert.monitor_id)


def open_alerts(session: Session, limit: int = 200) -> list[tuple[Alert, str]]:
    """Firing alerts, then pending ones, newest first within each."""
    query = (
        _alerts()
        .where(Alert.state.in_(("firing", "pending")))
        .order_by((Alert.state == "firing").desc(), Alert.started_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return [(a, m) for a, m in session.execute(query)]


def find_alerts(
    session: Session,
    state: str | None,
    monitor: str | None,
    severity: str | None,
    limit: int,
) -> list[tuple[Alert, str]]:
    """Alert episodes (current and past) matching the filters, newest first."""
    query = _alerts()
    if state is not None:
        query = query.where(Alert.state == state)
    if monitor is not None:
        query = query.where(Monitor.name == monitor)
    if severity is not None:
        query = query.where(Alert.severity == severity)
    query = query.order_by(Alert.started_at.desc(), Alert.id.desc()).limit(limit)
    return [(a, m) for a, m in session.execute(query)]


def monitor_alerts(session: Session, monitor_id: int, limit: int) -> list[Alert]:
    """A monitor's alert episodes, newest first (for the periods drawn on its charts)."""
    query = (
        select(Alert)
        .where(Alert.monitor_id == monitor_id)
        .order_by(Alert.started_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def hook_delivery_counts(session: Session) -> dict[int, dict[str, int]]:
    """{hook id: {delivery status: count}}."""
    counts: dict[int, dict[str, int]] = {}
    query = select(Delivery.hook_id, Delivery.status, func.count()).group_by(
        Delivery.hook_id, Delivery.status
    )
    for hook_id, status, n in session.execute(query):
        counts.setdefault(hook_id, {})[status] = n
    return counts


def hook_deliveries(
    session: Session, hook_id: int, limit: int
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    """A hook's newest deliveries, each with its attempts (oldest first)."""
    rows = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.hook_id == hook_id)
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[int, list[DeliveryAttempt]] = {d.id: [] for d in rows}
    if attempts:
        query = (
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(attempts))
            .order_by(DeliveryAttempt.id)
        )
        for attempt in session.scalars(query):
            attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts[d.id]) for d in rows]


def all_hooks(session: Session) -> list[Hook]:
    return list(session.scalars(select(Hook).order_by(Hook.name)))


def delivery_hook_name(session: Session, delivery_id: int) -> str | None:
    query = select(Hook.name).join(Delivery, Delivery.hook_id == Hook.id)
    return session.scalar(query.where(Delivery.id == delivery_id))


def retrain_requests(
    session: Session, status: str | None, limit: int
) -> list[tuple[RetrainRequest, str, str]]:
    """(request, dataset name, monitor name), newest first."""
    query = (
        select(RetrainRequest, Dataset.name, Monitor.name)
        .join(Dataset, Dataset.id == RetrainRequest.dataset_id)
        .join(Monitor, Monitor.id == RetrainRequest.monitor_id)
    )
    if status is not None:
        query = query.where(RetrainRequest.status == status)
    query = query.order_by(RetrainRequest.requested_at.desc(), RetrainRequest.id.desc())
    return [(r, d, m) for r, d, m in session.execute(query.limit(limit))]


def open_queue_sizes(session: Session) -> dict[int, int]:
    """{dataset id: rows in its relabel queue}: distinct rows of label-issue and uncovered
    findings with no label received after them (the queue's own rule, as a count)."""
    relabeled = (
        select(Label.id)
        .where(
            Label.dataset_id == Finding.dataset_id,
            Label.row_id == Finding.row_id,
            Label.received_at > Finding.created_at,
        )
        .exists()
    )
    query = (
        select(Finding.dataset_id, func.count(func.distinct(Finding.row_id)))
        .where(Finding.reason.in_(QUEUED_REASONS), ~relabeled)
        .group_by(Finding.dataset_id)
    )
    return dict(session.execute(query).all())
