"""Mount the console on the application: its page routers and the path-prefix middleware."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from dqm.service.console import (
    alerts,
    datasets,
    hooks,
    monitors,
    overview,
    relabel,
    retrain,
    run,
    signin,
    static,
)

# Each page module's router; a new page module is added here.
ROUTERS = [
    m.router
    for m in (static, signin, overview, datasets, monitors, alerts, hooks, retrain, relabel, run)
]
# Segments of letters, digits and ._~- (no "." or ".." segment).
PREFIX = re.compile(r"^(/(?!\.\.?(?:/|$))[A-Za-z0-9._~-]+)+$")


class PathPrefix:
    """Set the ASGI ``root_path`` every link is built from.

    Order: an ``X-Forwarded-Prefix`` header (an ingress that strips the prefix sends it),
    else ``DQM_ROOT_PATH``, else what the server set (``uvicorn --root-path``). A header that is
    not a plain path (``/a/b``) is ignored, so it cannot point links at another host.
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            prefix = self._forwarded(scope) or self.root_path or scope.get("root_path", "")
            if prefix:
                scope = {**scope, "root_path": prefix.rstrip("/")}
        await self.app(scope, receive, send)

    @staticmethod
    def _forwarded(scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-prefix":
                prefix = value.decode("latin-1").strip().rstrip("/")
                return prefix if PREFIX.match(prefix) else None
        return None


def install_console(app: FastAPI, root_path: str) -> None:
    """Add the console's pages (at ``/``) and honour the path prefix on every route."""
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(PathPrefix, root_path=root_path)
