"""Direct (in-process) access to the service for tests that drive its parts one by one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from dqm.service.alerting.outbox import enqueue
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Delivery, Hook
from dqm.service.db.session import transaction
from dqm.service.settings import Settings


def make_context(settings: Settings, worker_id: str) -> Context:
    ctx = Context.create(settings)
    ctx.worker_id = worker_id
    return ctx


def add_hook(ctx: Context, url: str, secret: str, name: str = "h") -> int:
    with transaction(ctx.sessions) as session:
        hook = Hook(
            name=name,
            url=url,
            events={"items": ["alert.firing"]},
            secrets={"items": [secret]},
            enabled=True,
            created_at=utcnow(),
        )
        session.add(hook)
        session.flush()
        return hook.id


def add_delivery(ctx: Context, hook_id: int) -> int:
    with transaction(ctx.sessions) as session:
        hook = session.get_one(Hook, hook_id)
        delivery = enqueue(session, hook, "alert.firing", {"test": True}, utcnow())
        session.flush()
        return delivery.id


def make_due(ctx: Context, delivery_id: int, at: datetime | None = None) -> None:
    """Time travel: the delivery's next attempt is due now (its backoff has elapsed)."""
    with transaction(ctx.sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(next_attempt_at=(at or utcnow()) - timedelta(milliseconds=1))
        )


def expire_leases(ctx: Context) -> None:
    """Time travel: every delivery lease has run out (its worker is presumed dead)."""
    with transaction(ctx.sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.lease_owner.is_not(None))
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
