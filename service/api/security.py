"""API-key authentication for the routers: the bearer dependency and the 401/403 answers.

Which scope a route needs and which keys grant it is decided in :mod:`dqm.service.auth`.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dqm.service.api.deps import CtxDep
from dqm.service.api.errors import envelope
from dqm.service.auth import ForbiddenError, UnauthenticatedError, check_access, required_scope

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer dqm_...`")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
# Set in the request's state by ``BodyGuard`` once it has authorized the request (before
# reading its body), so the dependency does not query the keys a second time.
AUTHORIZED = "dqm_authorized"


def authorize(request: Request, ctx: CtxDep, credentials: BearerDep) -> None:
    """Router dependency: 401 without a valid key, 403 when the key lacks the route's scope."""
    if request.scope.get("state", {}).get(AUTHORIZED):
        return
    route = cast(str, getattr(request.scope.get("route"), "path", request.url.path))
    needed = required_scope(request.method, route, ctx.settings.metrics_auth)
    if needed is None:
        return
    token = credentials.credentials if credentials else None
    with ctx.sessions() as session:
        check_access(session, token, needed, open_without_keys=ctx.settings.is_loopback)


def install_auth_handlers(app: FastAPI) -> None:
    """Map the two auth errors to 401 (with ``WWW-Authenticate: Bearer``) and 403."""

    async def _unauthenticated(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnauthenticatedError)
        response = envelope(401, exc.code, exc.message, exc.details)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def _forbidden(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ForbiddenError)
        return envelope(403, exc.code, exc.message, exc.details)

    app.add_exception_handler(UnauthenticatedError, _unauthenticated)
    app.add_exception_handler(ForbiddenError, _forbidden)
