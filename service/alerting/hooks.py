"""Webhook endpoints: registration, secret rotation, and their delivery log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dqm.alerts.allowlist import validate_hook_url
from dqm.alerts.signing import generate_secret
from dqm.monitors.errors import ConflictError, InvalidInputError, NotFoundError
from dqm.service.alerting.relay import allowlist_of, target_allowed
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Delivery, DeliveryAttempt, Hook
from dqm.service.db.session import transaction


def get_hook(session: Session, name: str) -> Hook:
    hook = session.scalar(select(Hook).where(Hook.name == name))
    if hook is None:
        raise NotFoundError(f"hook {name!r} does not exist", [{"hook": name}])
    return hook


def create_hook(ctx: Context, name: str, url: str, events: list[str]) -> tuple[Hook, str]:
    """Register a hook; returns it and its secret (shown to the caller once)."""
    validate_hook_url(url)
    if not target_allowed(allowlist_of(ctx), url):
        raise InvalidInputError(
            f"hook URL {url!r} is not allowed by DQM_WEBHOOK_ALLOWLIST",
            [{"field": "url", "value": url}],
        )
    secret = generate_secret()
    try:
        with transaction(ctx.sessions) as session:
            hook = Hook(
                name=name,
                url=url,
                events={"items": events},
                secrets={"items": [secret]},
                enabled=True,
                created_at=utcnow(),
            )
            session.add(hook)
    except IntegrityError:
        raise ConflictError(f"hook {name!r} already exists", [{"hook": name}]) from None
    return hook, secret


def rotate_secret(ctx: Context, name: str) -> tuple[Hook, str]:
    """Add a new secret; the previous one stays valid until the next rotation (both sign)."""
    secret = generate_secret()
    with transaction(ctx.sessions) as session:
        hook = get_hook(session, name)
        hook.secrets = {"items": [secret, *hook.secrets["items"][:1]]}
    return hook, secret


def enable_hook(ctx: Context, name: str) -> Hook:
    with transaction(ctx.sessions) as session:
        hook = get_hook(session, name)
        hook.enabled, hook.disabled_reason = True, None
    return hook


def delete_hook(ctx: Context, name: str) -> None:
    with transaction(ctx.sessions) as session:
        session.delete(get_hook(session, name))


def list_hooks(session: Session) -> list[Hook]:
    return list(session.scalars(select(Hook).order_by(Hook.name)))


def deliveries(
    session: Session, hook: Hook, limit: int
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    rows = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.hook_id == hook.id)
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[int, list[DeliveryAttempt]] = {d.id: [] for d in rows}
    if rows:
        for a in session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(attempts))
            .order_by(DeliveryAttempt.id)
        ):
            attempts[a.delivery_id].append(a)
    return [(d, attempts[d.id]) for d in rows]
