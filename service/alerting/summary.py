"""What the console shows of alerts, the outbox and hooks: bounded, read-only queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from dqm.service.db.models import Alert, Delivery, Hook, Monitor


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
