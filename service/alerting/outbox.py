"""Outbox rows: events written in the same transaction as the state change that caused them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dqm.alerts.events import body_bytes, envelope
from dqm.service.db.models import Delivery, Hook


def enqueue(
    session: Session,
    hook: Hook,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
    run_id: int | None = None,
) -> Delivery:
    """Add one delivery of ``event_type`` to ``hook``; its ``webhook-id`` never changes."""
    body = body_bytes(envelope(event_type, now, data)).decode("utf-8")
    delivery = Delivery(
        hook_id=hook.id,
        webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type,
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        run_id=run_id,
        created_at=now,
    )
    session.add(delivery)
    return delivery


def hooks_by_name(session: Session, names: set[str]) -> dict[str, Hook]:
    query = select(Hook).where(Hook.name.in_(names), Hook.enabled.is_(True))
    return {h.name: h for h in session.scalars(query)}


def subscribed_hooks(session: Session, event_type: str) -> list[Hook]:
    """Enabled hooks whose ``events`` include ``event_type``."""
    hooks = session.scalars(select(Hook).where(Hook.enabled.is_(True)).order_by(Hook.id))
    return [h for h in hooks if event_type in h.events.get("items", [])]
