"""What every console page shares: templates, the signed-in viewer, forms, errors, URLs.

A page module makes its router with :func:`page_router`, takes the viewer with ``ReaderDep``
(read scope; redirects to sign-in), reads its data through ``ingest``/``runs``/``alerting``
functions in a worker thread (sync handlers) and answers :func:`render`. Errors raised by a
page (not found, forbidden, invalid input, outage) become HTML pages, a missing sign-in a
redirect to ``/sign-in?next=...``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from dqm.monitors.errors import (
    ConflictError,
    DqmError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
)
from dqm.service import console_sessions
from dqm.service.auth import ForbiddenError, Scope, UnauthenticatedError, grants
from dqm.service.clock import utcnow
from dqm.service.console import filters
from dqm.service.context import Context
from dqm.service.outages import RETRY_AFTER_SECONDS, UnavailableError, as_unavailable

log = logging.getLogger(__name__)

COOKIE = "dqm_session"
FORM_LIMIT = 64 * 1024
# Process secret for the CSRF token of an open console (no key exists, loopback only).
_OPEN_SECRET = secrets.token_urlsafe(32)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATUS: list[tuple[type[DqmError], int]] = [
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (ConflictError, 409),
    (PayloadTooLargeError, 413),
    (ForbiddenError, 403),
    (UnavailableError, 503),
    (UnauthenticatedError, 401),
]

templates = Environment(
    loader=PackageLoader("dqm.service.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
filters.install(templates)


class SignInRequired(DqmError):
    """The page needs a signed-in key (or its session expired or its key was revoked)."""

    code = "sign_in_required"


@dataclass(frozen=True)
class Viewer:
    """Who looks at a page: a signed-in key (name, scopes) or, on an open console, nobody."""

    key_name: str | None
    scopes: tuple[str, ...]
    csrf_token: str
    open: bool = False

    def can(self, scope: Scope) -> bool:
        return self.open or grants(self.scopes, scope)


def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def base_path(request: Request) -> str:
    """The prefix every link and asset URL starts with (the ASGI root_path, no trailing /)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def url_builder(base: str) -> Callable[..., str]:
    """``url("monitors", name, limit=5)`` → ``/prefix/monitors/<quoted name>?limit=5``."""

    def url(*segments: object, **query: object) -> str:
        path = "/".join(quote(str(s), safe="") for s in segments)
        kept = {k: v for k, v in query.items() if v is not None and v != ""}
        return f"{base}/{path}" + (f"?{urlencode(kept)}" if kept else "")

    return url


def current_viewer(request: Request) -> Viewer:
    """The session's viewer, or the open viewer when no key exists on a loopback server."""
    ctx = ctx_of(request)
    token = request.cookies.get(COOKIE)
    if token:
        who = console_sessions.lookup(ctx.sessions, token, utcnow())
        if who is not None:
            return Viewer(who.key_name, who.scopes, who.csrf_token)
    if console_sessions.keys_exist(ctx.sessions):
        raise SignInRequired("sign in with an API key")
    if ctx.settings.is_loopback:
        return Viewer(None, (), _OPEN_SECRET, open=True)
    raise UnauthenticatedError(
        "no API key exists: create one with `dqm keys create` or set DQM_BOOTSTRAP_ADMIN_KEY"
    )


def reader(request: Request) -> Viewer:
    """Page dependency: a viewer holding the read scope."""
    viewer = current_viewer(request)
    require(viewer, "read")
    return viewer


ReaderDep = Annotated[Viewer, Depends(reader)]


def require(viewer: Viewer, scope: Scope) -> None:
    if not viewer.can(scope):
        raise ForbiddenError(
            f"the signed-in key {viewer.key_name!r} lacks the {scope!r} scope",
            [{"required_scope": scope, "key_scopes": list(viewer.scopes)}],
        )


def _same_origin(request: Request) -> bool:
    """Whether a form's ``Origin`` (when the browser sends one) is this server, as the
    browser addressed it: ``Host``, or ``X-Forwarded-Host`` behind a proxy that rewrites it."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    hosts = {request.headers.get("host", "")}
    hosts.add(request.headers.get("x-forwarded-host", "").split(",")[0].strip())
    return origin.split("://", 1)[-1] in hosts - {""}


async def read_form(request: Request, viewer: Viewer | None) -> dict[str, str]:
    """The form's fields; 403 unless it comes from this origin with the viewer's CSRF token."""
    if not _same_origin(request):
        raise ForbiddenError("the form was posted from another origin")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise PayloadTooLargeError(f"a console form may have at most {FORM_LIMIT} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    form = kind == "application/x-www-form-urlencoded"
    text = body.decode("utf-8", "replace") if form else ""
    fields = {k: v[0] for k, v in parse_qs(text).items()}
    if viewer is not None:
        sent = fields.get("csrf_token", "")
        if not secrets.compare_digest(sent.encode(), viewer.csrf_token.encode()):
            raise ForbiddenError("the form's CSRF token is missing or stale: reload the page")
    if not form:
        raise InvalidInputError("a console form must be application/x-www-form-urlencoded")
    return fields


async def action_form(request: Request, scope: Scope) -> dict[str, str]:
    """A console action's form fields: posted by a signed-in reader (CSRF-checked by
    ``read_form``) whose key holds ``scope``."""
    viewer = await run_in_threadpool(reader, request)
    fields = await read_form(request, viewer)
    require(viewer, scope)
    return fields


def render(
    request: Request,
    viewer: Viewer | None,
    template: str,
    http_status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` in the base layout, with the security headers."""
    base = base_path(request)
    html = templates.get_template(template).render(
        request=request,
        viewer=viewer,
        base=base,
        url=url_builder(base),
        metrics_open=not ctx_of(request).settings.metrics_auth,
        **context,
    )
    return HTMLResponse(html, status_code=http_status, headers=SECURITY_HEADERS)


def safe_next(target: str | None) -> str:
    """A local path to go back to after sign-in; anything else (another host) is ``/``.

    >>> safe_next("/monitors/m?x=1"), safe_next("//evil.example"), safe_next("https://x")
    ('/monitors/m?x=1', '/', '/')
    >>> safe_next("/\\\\evil.example"), safe_next(None)
    ('/', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def sign_in_redirect(request: Request) -> RedirectResponse:
    here = request.url.path
    base = base_path(request)
    if base and here.startswith(base + "/"):
        here = here[len(base) :]
    if request.url.query:
        here += "?" + request.url.query
    return RedirectResponse(f"{base}/sign-in?{urlencode({'next': here})}", status_code=303)


def error_page(request: Request, exc: DqmError) -> Response:
    """The HTML answer to an error a page raised (sign-in needed: the redirect)."""
    if isinstance(exc, SignInRequired):
        return sign_in_redirect(request)
    status = next((s for cls, s in STATUS if isinstance(exc, cls)), 400)
    response = render(
        request, None, "error.html", http_status=status, status_code=status, error=exc
    )
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ConsoleRoute(APIRoute):
    """A route whose errors are HTML pages (or the sign-in redirect), not JSON envelopes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except DqmError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) for e in exc.errors())
                return error_page(request, InvalidInputError(f"invalid value of {fields}"))
            except SQLAlchemyError as exc:
                outage = as_unavailable(exc)
                if outage is None:
                    raise
                return error_page(request, outage)

        return page


def page_router() -> APIRouter:
    """A router for console pages: HTML errors, not in the OpenAPI document."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False)
