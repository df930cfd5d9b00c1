"""Webhook endpoints: registration, secret rotation, and their delivery log."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dqm.alerts.addresses import literal_address
from dqm.alerts.allowlist import validate_hook_url
from dqm.alerts.signing import fingerprint, generate_secret
from dqm.monitors.errors import ConflictError, InvalidInputError, NotFoundError
from dqm.service.alerting.relay import allowlist_of
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Delivery, DeliveryAttempt, Hook
from dqm.service.db.session import transaction
from dqm.service.paging import Key, Keyset, Paged, PageRequest


def get_hook(session: Session, name: str) -> Hook:
    hook = session.scalar(select(Hook).where(Hook.name == name))
    if hook is None:
        raise NotFoundError(f"hook {name!r} does not exist", [{"hook": name}])
    return hook


def create_hook(
    ctx: Context, name: str, url: str, events: list[str], secret: str | None = None
) -> tuple[Hook, str]:
    """Register a hook; returns it and its secret (generated unless given; shown once).

    A host that is a literal IP address is checked against the allowlist here; a host name is
    checked when each delivery resolves it (what it resolves to now says nothing about then).
    """
    validate_hook_url(url)
    _refuse_disallowed_literal(ctx, url)
    secret = secret or generate_secret()
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


def _refuse_disallowed_literal(ctx: Context, url: str) -> None:
    host = urlsplit(url).hostname or ""
    if literal_address(host) is None:
        return
    reason = allowlist_of(ctx).refusal(host, [])
    if reason is not None:
        message = f"hook URL host {host!r} is not allowed by DQM_WEBHOOK_ALLOWLIST: {reason}"
        raise InvalidInputError(message, [{"field": "url", "value": url, "message": reason}])


def rotate_secret(ctx: Context, name: str) -> tuple[Hook, str]:
    """Add a new secret; the previous one stays valid until the next rotation (both sign)."""
    secret = generate_secret()
    with transaction(ctx.sessions) as session:
        hook = get_hook(session, name)
        hook.secrets = {"items": [secret, *hook.secrets["items"][:1]]}
    return hook, secret


def update_hook(
    ctx: Context, name: str, url: str | None, events: list[str] | None, secret: str | None
) -> Hook:
    """Replace the given fields. A new secret signs first and the previous one keeps signing
    until the next change (as :func:`rotate_secret`); the same secret again changes nothing."""
    if url is not None:
        validate_hook_url(url)
        _refuse_disallowed_literal(ctx, url)
    with transaction(ctx.sessions) as session:
        hook = get_hook(session, name)
        if url is not None:
            hook.url = url
        if events is not None:
            hook.events = {"items": events}
        if secret is not None and secret_fingerprint(hook) != fingerprint(secret):
            hook.secrets = {"items": [secret, *hook.secrets["items"][:1]]}
    return hook


def secret_fingerprint(hook: Hook) -> str:
    """The fingerprint of the secret that signs first (:func:`dqm.alerts.signing.fingerprint`)."""
    return fingerprint(hook.secrets["items"][0])


def enable_hook(ctx: Context, name: str) -> Hook:
    with transaction(ctx.sessions) as session:
        hook = get_hook(session, name)
        hook.enabled, hook.disabled_reason = True, None
    return hook


def delete_hook(ctx: Context, name: str) -> None:
    with transaction(ctx.sessions) as session:
        session.delete(get_hook(session, name))


HOOKS = Keyset("hooks", Key(Hook.name, str))
DELIVERIES = Keyset("deliveries", Key(Delivery.id, int, descending=True))


def list_hooks(session: Session, page: PageRequest) -> Paged[Hook]:
    rows = list(session.scalars(HOOKS.query(select(Hook), page)))
    return HOOKS.cut(rows, page, lambda h: (h.name,))


def deliveries(
    session: Session, hook: Hook, page: PageRequest
) -> Paged[tuple[Delivery, list[DeliveryAttempt]]]:
    """A hook's deliveries, newest first, each with its attempts."""
    query = select(Delivery).where(Delivery.hook_id == hook.id)
    rows = DELIVERIES.cut(list(session.scalars(DELIVERIES.query(query, page))), page, _id)
    attempts: dict[int, list[DeliveryAttempt]] = {d.id: [] for d in rows.items}
    if attempts:
        for a in session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(attempts))
            .order_by(DeliveryAttempt.id)
        ):
            attempts[a.delivery_id].append(a)
    return Paged([(d, attempts[d.id]) for d in rows.items], rows.next_cursor)


def _id(delivery: Delivery) -> tuple[int]:
    return (delivery.id,)
