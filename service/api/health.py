"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from dqm.service.api.deps import CtxDep
from dqm.service.db.migrate import is_current
from dqm.service.metrics import REGISTRY

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: CtxDep) -> JSONResponse:
    """Readiness: the database answers and its migrations are current."""
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = is_current(ctx.engine)
    except Exception as exc:  # any database failure means not ready
        return JSONResponse(
            status_code=503, content={"status": "unavailable", "database": str(exc)[:200]}
        )
    if not current:
        return JSONResponse(
            status_code=503, content={"status": "unavailable", "migrations": "not current"}
        )
    return JSONResponse(content={"status": "ready"})


@router.get("/metrics")
def prometheus_metrics(request: Request) -> Response:
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.db_registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
