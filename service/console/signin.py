"""Sign-in with an API key (a session cookie), and sign-out."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from dqm.service import console_sessions
from dqm.service.auth import UnauthenticatedError
from dqm.service.clock import utcnow
from dqm.service.console.filters import seconds
from dqm.service.console.web import (
    COOKIE,
    base_path,
    ctx_of,
    current_viewer,
    page_router,
    read_form,
    render,
    safe_next,
)

router = page_router()


def _form(request: Request, next_path: str, error: str | None = None) -> HTMLResponse:
    lifetime = seconds(ctx_of(request).settings.console_session_seconds)
    return render(
        request,
        None,
        "sign_in.html",
        http_status=401 if error else 200,
        title="Sign in",
        next=safe_next(next_path),
        error=error,
        lifetime=lifetime,
    )


def _https(request: Request) -> bool:
    """Whether the browser reached dqm over HTTPS (directly, or through a TLS ingress)."""
    public = ctx_of(request).settings.public_url or ""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return "https" in (request.url.scheme, forwarded) or public.startswith("https://")


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> HTMLResponse:
    return _form(request, next)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Trade a key for a session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    fields = await read_form(request, None)
    ctx = ctx_of(request)
    target = safe_next(fields.get("next"))
    try:
        token, who = await run_in_threadpool(
            console_sessions.sign_in,
            ctx.sessions,
            fields.get("key", ""),
            utcnow(),
            ctx.settings.console_session_seconds,
        )
    except UnauthenticatedError as exc:
        return _form(request, target, exc.message)
    response = RedirectResponse(base_path(request) + target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(ctx.settings.console_session_seconds),
        path=base_path(request) or "/",
        secure=_https(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    viewer = await run_in_threadpool(current_viewer, request)
    await read_form(request, viewer)
    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(console_sessions.sign_out, ctx_of(request).sessions, token)
    response = RedirectResponse(base_path(request) + "/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=base_path(request) or "/", httponly=True, samesite="strict")
    return response
