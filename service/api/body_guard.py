"""ASGI middleware: the API key is checked before any body byte is read, then the body is
capped at ``DQM_MAX_BODY_BYTES`` on every route.

FastAPI parses a JSON body before it runs the route's dependencies, so the ``authorize``
dependency alone would let a request without a key make the server read and parse its body
(hundreds of megabytes, or nesting deep enough to fail the parser) before the 401. Here the
route is resolved first and, when it is one of the guarded routes, ``authorize`` runs before
the body is touched; the route's own dependency then sees the request marked as authorized.

The body is then read up to the cap and handed on chunk by chunk: a declared
``Content-Length`` past the cap is refused before reading, a chunked body as soon as it
passes it (413, ``payload_too_large``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dqm.monitors.errors import PayloadTooLargeError
from dqm.service.api.errors import envelope
from dqm.service.api.security import AUTHORIZED, authorize


class BodyGuard:
    """Authorize, then read the body within the cap, then call the application.

    Parameters
    ----------
    guarded
        The routes the ``authorize`` dependency guards (the routers' routes).
    capped_by_route
        Endpoints that stream and cap their body themselves (the data uploads, which count
        their 413s in ``dqm_ingest_rejections_total``): authorized here, not buffered.
    """

    def __init__(
        self,
        app: ASGIApp,
        guarded: Sequence[BaseRoute],
        capped_by_route: Collection[Callable[..., Any]] = (),
    ) -> None:
        self.app = app
        self.guarded = tuple(guarded)
        self.capped_by_route = frozenset(capped_by_route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        application: FastAPI = scope["app"]
        route = next((r for r in self.guarded if r.matches(scope)[0] == Match.FULL), None)
        denied = await _authorization_error(application, route, scope) if route else None
        if denied is not None:
            await denied(scope, receive, send)
            return
        if getattr(route, "endpoint", None) in self.capped_by_route:
            await self.app(scope, receive, send)
            return
        limit: int = application.state.ctx.settings.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, declared)(scope, receive, send)
            return
        try:
            chunks = await _read_within(receive, limit)
        except _ClientGone:
            return
        if chunks is None:
            await _too_large(limit, None)(scope, receive, send)
            return
        await self.app(scope, _replay(chunks, receive), send)


async def _authorization_error(
    application: FastAPI, route: BaseRoute, scope: Scope
) -> Response | None:
    """The 401/403 answer for a request to a guarded route without the right key, else None.

    Requests to no guarded route (not found, wrong method, /docs) go on: the application
    answers them.
    """
    request = Request({**scope, "route": route})
    token = _bearer_token(request.headers.get("authorization"))
    credentials = (
        HTTPAuthorizationCredentials(scheme="Bearer", credentials=token) if token else None
    )
    try:
        await run_in_threadpool(authorize, request, application.state.ctx, credentials)
    except Exception as exc:
        handler = _handler_for(application, exc)
        if handler is None:
            raise
        response: Response = await handler(request, exc)
        return response
    scope.setdefault("state", {})[AUTHORIZED] = True
    return None


def _bearer_token(header: str | None) -> str | None:
    """The key of ``Authorization: Bearer <key>`` (what FastAPI's ``HTTPBearer`` accepts)."""
    scheme, _, token = (header or "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _handler_for(application: FastAPI, exc: Exception) -> Callable[..., Any] | None:
    for cls in type(exc).__mro__:
        handler = application.exception_handlers.get(cls)
        if handler is not None and cls is not Exception:
            return handler
    return None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def _too_large(limit: int, declared: int | None) -> Response:
    error = PayloadTooLargeError(
        f"request body exceeds the limit of {limit} bytes (DQM_MAX_BODY_BYTES)",
        [{"limit": "DQM_MAX_BODY_BYTES", "limit_bytes": limit, "content_length": declared}],
    )
    response = envelope(413, error.code, error.message, error.details)
    response.headers["Connection"] = "close"  # the rest of the body is never read
    return response


class _ClientGone(Exception):
    """The client disconnected before sending the whole body: nobody waits for an answer."""


async def _read_within(receive: Receive, limit: int) -> deque[bytes] | None:
    """The body's chunks, or None as soon as they pass ``limit`` bytes."""
    chunks: deque[bytes] = deque()
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks


def _replay(chunks: deque[bytes], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``chunks`` (dropping each), then defers to ``receive``."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            body = chunks.popleft() if chunks else b""
            replayed = not chunks
            return {"type": "http.request", "body": body, "more_body": not replayed}
        return await receive()

    return replay
