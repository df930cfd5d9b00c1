"""/v1/hooks and /v1/deliveries: webhook endpoints and their delivery log."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from dqm.service.alerting import hooks as svc
from dqm.service.alerting import relay
from dqm.service.api.deps import CtxDep, PageDep, RowId, SessionDep
from dqm.service.api.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    HookCreate,
    HookOut,
    HookPage,
    HookPatch,
)
from dqm.service.db.models import Delivery, DeliveryAttempt, Hook

router = APIRouter(tags=["hooks"])


def hook_out(h: Hook, secret: str | None = None) -> HookOut:
    return HookOut(
        name=h.name,
        url=h.url,
        events=h.events["items"],
        enabled=h.enabled,
        disabled_reason=h.disabled_reason,
        created_at=h.created_at,
        secret=secret,
        secret_fingerprint=svc.secret_fingerprint(h),
    )


def delivery_out(d: Delivery, attempts: list[DeliveryAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        webhook_id=d.webhook_id,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
        last_error=d.last_error,
        attempt_log=[
            AttemptOut(
                attempted_at=a.attempted_at,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                outcome=a.outcome,
                error=a.error,
            )
            for a in attempts
        ],
    )


@router.post("/v1/hooks", status_code=status.HTTP_201_CREATED)
def create_hook(body: HookCreate, ctx: CtxDep) -> HookOut:
    hook, secret = svc.create_hook(ctx, body.name, body.url, list(body.events), body.secret)
    # A secret the caller chose is not echoed back: they have it.
    return hook_out(hook, None if body.secret else secret)


@router.get("/v1/hooks")
def list_hooks(session: SessionDep, page: PageDep) -> HookPage:
    found = svc.list_hooks(session, page)
    return HookPage(items=[hook_out(h) for h in found.items], next_cursor=found.next_cursor)


@router.get("/v1/hooks/{name}")
def get_hook(name: str, session: SessionDep) -> HookOut:
    return hook_out(svc.get_hook(session, name))


@router.patch("/v1/hooks/{name}")
def update_hook(name: str, body: HookPatch, ctx: CtxDep) -> HookOut:
    """Change a hook's URL, events or secret (the secret is never echoed back)."""
    events: list[str] | None = list(body.events) if body.events is not None else None
    return hook_out(svc.update_hook(ctx, name, body.url, events, body.secret))


@router.delete("/v1/hooks/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_hook(name: str, ctx: CtxDep) -> Response:
    svc.delete_hook(ctx, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/hooks/{name}/rotate-secret")
def rotate_secret(name: str, ctx: CtxDep) -> HookOut:
    hook, secret = svc.rotate_secret(ctx, name)
    return hook_out(hook, secret)


@router.post("/v1/hooks/{name}/enable")
def enable_hook(name: str, ctx: CtxDep) -> HookOut:
    return hook_out(svc.enable_hook(ctx, name))


@router.get("/v1/hooks/{name}/deliveries")
def list_deliveries(name: str, session: SessionDep, page: PageDep) -> DeliveryPage:
    """A hook's deliveries, newest first, with their attempts."""
    found = svc.deliveries(session, svc.get_hook(session, name), page)
    items = [delivery_out(d, a) for d, a in found.items]
    return DeliveryPage(items=items, next_cursor=found.next_cursor)


@router.post("/v1/deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED)
def redeliver(delivery_id: RowId, ctx: CtxDep) -> DeliveryOut:
    return delivery_out(relay.redeliver(ctx, delivery_id), [])
