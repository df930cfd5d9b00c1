"""``/hooks``: webhook endpoints and their deliveries, with a redeliver button.

Hook secrets never appear, nor a hook URL's path and query (they often hold a token, as
Slack's do): a hook shows its scheme, host and port only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from dqm.monitors.errors import NotFoundError
from dqm.service.alerting import relay
from dqm.service.alerting.hooks import get_hook
from dqm.service.alerting.summary import (
    all_hooks,
    delivery_hook_name,
    hook_deliveries,
    hook_delivery_counts,
)
from dqm.service.console.web import (
    ReaderDep,
    action_form,
    base_path,
    ctx_of,
    page_router,
    render,
    url_builder,
)

router = page_router()
DELIVERIES = 100


def destination(url: str) -> str:
    """The scheme, host and port of a hook URL; its path and query are left out.

    >>> destination("https://hooks.slack.com/services/T0/B0/secret?x=1")
    'https://hooks.slack.com/…'
    >>> destination("http://127.0.0.1:9000")
    'http://127.0.0.1:9000'
    """
    parts = urlsplit(url)
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{hidden}"


@router.get("/hooks")
def hooks_page(request: Request, viewer: ReaderDep) -> HTMLResponse:
    with ctx_of(request).sessions() as session:
        hooks = all_hooks(session)
        counts = hook_delivery_counts(session)
    return render(
        request,
        viewer,
        "hooks.html",
        title="Hooks",
        nav="hooks",
        hooks=hooks,
        counts=counts,
        destination=destination,
    )


@router.get("/hooks/{name}")
def hook_page(
    request: Request, name: str, viewer: ReaderDep, done: int | None = None
) -> HTMLResponse:
    with ctx_of(request).sessions() as session:
        hook = get_hook(session, name)
        deliveries = hook_deliveries(session, hook.id, DELIVERIES)
    return render(
        request,
        viewer,
        "hook.html",
        title=f"Hook {hook.name}",
        nav="hooks",
        breadcrumbs=[("Hooks", ("hooks",)), (hook.name, None)],
        hook=hook,
        deliveries=deliveries,
        limit=DELIVERIES,
        destination=destination,
        may_redeliver=viewer.can("admin"),
        notice=f"Delivery {done} is queued again." if done else None,
    )


def _hook_of(request: Request, delivery_id: int) -> str | None:
    with ctx_of(request).sessions() as session:
        return delivery_hook_name(session, delivery_id)


@router.post("/deliveries/{delivery_id}/redeliver")
async def redeliver(request: Request, delivery_id: int = Path(ge=1, le=2**31 - 1)) -> Response:
    """Queue a delivery again, as ``POST /v1/deliveries/{id}/redeliver`` (admin scope)."""
    await action_form(request, "admin")
    ctx = ctx_of(request)
    hook = await run_in_threadpool(_hook_of, request, delivery_id)
    if hook is None:
        raise NotFoundError(f"delivery {delivery_id} does not exist")
    await run_in_threadpool(relay.redeliver, ctx, delivery_id)
    target = url_builder(base_path(request))("hooks", hook, done=delivery_id)
    return RedirectResponse(target + f"#delivery-{delivery_id}", status_code=303)
