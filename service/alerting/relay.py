"""Outbox → HTTP: signed Standard Webhooks deliveries, retried, every attempt recorded.

Every connection goes to an address the allowlist checked (see :mod:`egress`); a delivery whose
host resolves to a refused address is recorded as ``blocked`` and never sent.

At-least-once: a delivery is claimed with a lease; if the process dies between sending and
recording, the lease expires and another claim sends it again with the same ``webhook-id``
(receivers dedupe on it). Redirects are not followed and response bodies are read with a cap.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from dqm.alerts.allowlist import Allowlist, parse_allowlist
from dqm.alerts.retry import Outcome, classify, next_attempt, parse_retry_after
from dqm.alerts.signing import headers as signed_headers
from dqm.monitors.errors import NotFoundError
from dqm.service import metrics
from dqm.service.alerting.egress import DestinationRefused, checked_client
from dqm.service.alerting.retrain import acknowledge_delivered
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Delivery, DeliveryAttempt, Hook
from dqm.service.db.session import is_postgres, rowcount, transaction

log = logging.getLogger(__name__)
RESPONSE_CAP = 64 * 1024
_rng = random.SystemRandom()


def _due(now: datetime) -> Any:
    return and_(
        Delivery.status == "pending",
        Delivery.next_attempt_at <= now,
        or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
    )


def claim(ctx: Context, now: datetime, limit: int = 20) -> list[int]:
    """Lease up to ``limit`` due deliveries to this worker."""
    lease_until = now + timedelta(seconds=ctx.settings.delivery_lease_seconds)
    claimed: list[int] = []
    with transaction(ctx.sessions) as session:
        query = select(Delivery.id).where(_due(now)).order_by(Delivery.next_attempt_at).limit(limit)
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        for delivery_id in session.scalars(query).all():
            taken = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, _due(now))
                .values(
                    lease_owner=ctx.worker_id,
                    lease_expires_at=lease_until,
                    attempts=Delivery.attempts + 1,
                )
            )
            if rowcount(taken) == 1:
                claimed.append(delivery_id)
    return claimed


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None
    latency_ms: float
    retry_after: str | None
    blocked: bool = False


def allowlist_of(ctx: Context) -> Allowlist:
    """``DQM_WEBHOOK_ALLOWLIST`` parsed; unset means public addresses only."""
    return parse_allowlist(ctx.settings.webhook_allowlist)


def send(client: httpx.Client, hook: Hook, delivery: Delivery, now: datetime) -> Attempt:
    """One signed POST; the response body is read up to ``RESPONSE_CAP`` bytes."""
    body = delivery.body.encode("utf-8")
    secrets = hook.secrets.get("items", [])
    hdrs = signed_headers(secrets, delivery.webhook_id, int(now.timestamp()), body)
    hdrs["user-agent"] = "dqm-webhooks/1"
    started = time.monotonic()
    try:
        with client.stream("POST", hook.url, content=body, headers=hdrs) as response:
            read = 0
            for chunk in response.iter_bytes():
                read += len(chunk)
                if read >= RESPONSE_CAP:
                    break
            return Attempt(
                response.status_code,
                None,
                (time.monotonic() - started) * 1000,
                response.headers.get("retry-after"),
            )
    except (httpx.HTTPError, DestinationRefused) as exc:
        return Attempt(
            None,
            f"{type(exc).__name__}: {exc}"[:500],
            (time.monotonic() - started) * 1000,
            None,
            blocked=isinstance(exc, DestinationRefused),
        )


def _record(
    ctx: Context, delivery_id: int, attempt: Attempt, outcome: Outcome, now: datetime
) -> None:
    with transaction(ctx.sessions) as session:
        delivery = session.get_one(Delivery, delivery_id, with_for_update=True)
        if delivery.lease_owner != ctx.worker_id:
            return  # another worker re-claimed it after our lease expired
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id,
                attempted_at=now,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                outcome=outcome.result,
                error=attempt.error or (outcome.reason if outcome.result != "success" else None),
            )
        )
        delivery.lease_owner, delivery.lease_expires_at = None, None
        if outcome.result == "success":
            delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
            acknowledge_delivered(session, delivery_id, now)
            return
        delivery.last_error = attempt.error or outcome.reason
        if outcome.disable_endpoint:
            hook = session.get_one(Hook, delivery.hook_id)
            hook.enabled, hook.disabled_reason = False, f"410 Gone at {now.isoformat()}"
            delivery.status = "dead"
            return
        retry_after = parse_retry_after(attempt.retry_after, now)
        following = next_attempt(delivery.attempts, outcome, retry_after, now, _rng)
        if following is None:
            delivery.status = "dead"
        else:
            delivery.next_attempt_at = following
        _disable_if_failing_for_long(ctx, session, delivery.hook_id, now)


def _disable_if_failing_for_long(
    ctx: Context, session: Session, hook_id: int, now: datetime
) -> None:
    """A hook without any successful delivery for ``webhook_disable_after_seconds`` is disabled."""
    hook = session.get_one(Hook, hook_id)
    last_success = session.scalar(
        select(func.max(DeliveryAttempt.attempted_at))
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(Delivery.hook_id == hook_id, DeliveryAttempt.outcome == "success")
    )
    since = last_success or hook.created_at
    if hook.enabled and (now - since).total_seconds() > ctx.settings.webhook_disable_after_seconds:
        hook.enabled = False
        hook.disabled_reason = f"no successful delivery since {since.isoformat()}"


def _kill(
    ctx: Context, delivery_id: int, reason: str, now: datetime, attempt: Attempt | None = None
) -> None:
    """End a delivery that must not be sent, logging why (as a ``blocked`` attempt if one ran)."""
    with transaction(ctx.sessions) as session:
        delivery = session.get_one(Delivery, delivery_id)
        if delivery.lease_owner != ctx.worker_id:
            return
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id,
                attempted_at=now,
                status_code=None,
                latency_ms=attempt.latency_ms if attempt else None,
                outcome="blocked" if attempt else "failure",
                error=reason,
            )
        )
        delivery.status, delivery.last_error = "dead", reason
        delivery.lease_owner, delivery.lease_expires_at = None, None


def deliver(ctx: Context, client: httpx.Client, delivery_id: int) -> None:
    """Attempt one claimed delivery and record the outcome."""
    with ctx.sessions() as session:
        delivery = session.get_one(Delivery, delivery_id)
        hook = session.get_one(Hook, delivery.hook_id)
    now = utcnow()
    if not hook.enabled:
        _kill(ctx, delivery_id, f"hook {hook.name!r} is disabled: {hook.disabled_reason}", now)
        return
    attempt = send(client, hook, delivery, now)
    if attempt.blocked:
        metrics.DELIVERY_ATTEMPTS.labels("blocked").inc()
        reason = f"not sent, DQM_WEBHOOK_ALLOWLIST does not allow it: {attempt.error}"
        _kill(ctx, delivery_id, reason, utcnow(), attempt)
        return
    outcome = classify(attempt.status_code, attempt.error)
    metrics.DELIVERY_ATTEMPTS.labels(outcome.result).inc()
    _record(ctx, delivery_id, attempt, outcome, utcnow())


def make_client(ctx: Context) -> httpx.Client:
    """The relay's HTTP client: no redirects, connections only to allowed addresses."""
    return checked_client(allowlist_of(ctx), ctx.settings.webhook_timeout_seconds)


def relay_once(ctx: Context, client: httpx.Client, limit: int = 100) -> int:
    """Deliver what is due now, one lease at a time; returns how many attempts were made.

    One at a time keeps each lease far longer than the attempt it covers (timeout 15 s,
    lease 60 s), so a slow receiver never lets another worker send the same delivery twice.
    """
    made = 0
    while made < limit:
        ids = claim(ctx, utcnow(), limit=1)
        if not ids:
            break
        deliver(ctx, client, ids[0])
        made += 1
    return made


def redeliver(ctx: Context, delivery_id: int) -> Delivery:
    """Queue a delivery again (same ``webhook-id``), whatever its state."""
    with transaction(ctx.sessions) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise NotFoundError(
                f"delivery {delivery_id} does not exist", [{"delivery_id": delivery_id}]
            )
        delivery.status, delivery.next_attempt_at, delivery.attempts = "pending", utcnow(), 0
        delivery.lease_owner = delivery.lease_expires_at = None
    return delivery
