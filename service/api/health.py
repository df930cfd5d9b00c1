"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from dqm.service.api.deps import CtxDep
from dqm.service.context import Context
from dqm.service.db.migrate import is_current
from dqm.service.db.session import ping
from dqm.service.metrics import PROCESS_TEXT
from dqm.service.metrics_snapshot import MetricsSnapshot
from dqm.service.outages import (
    RETRY_AFTER_SECONDS,
    DatabaseUnavailableError,
    DataFolderUnavailableError,
    as_unavailable,
    report_outage,
)

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: CtxDep) -> JSONResponse:
    """Readiness: the database answers, its migrations are current, the data folder takes writes.

    A 503 names each dependency that is down, without internals (host, port, path, driver
    text), which go to the log.
    """
    database, migrations = _database(ctx)
    checks = {"database": database, "migrations": migrations, "data_folder": _data_folder(ctx)}
    if all(state == "ok" for state in checks.values()):
        return JSONResponse(content={"status": "ready"})
    return JSONResponse(
        status_code=503,
        content={"status": "unavailable", **checks},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _database(ctx: Context) -> tuple[str, str]:
    """The states of the database and of its migrations."""
    try:
        ping(ctx.engine)
        current = is_current(ctx.engine)
    except Exception as exc:  # any failure to answer means not ready
        report_outage(as_unavailable(exc) or DatabaseUnavailableError(type(exc).__name__))
        return "unavailable", "unknown"
    return "ok", "ok" if current else "not current"


def _data_folder(ctx: Context) -> str:
    try:
        ctx.storage.check_writable()
    except DataFolderUnavailableError as exc:
        report_outage(exc)
        return "not writable"
    return "ok"


def _metrics_text(snapshot: MetricsSnapshot) -> bytes:
    return PROCESS_TEXT.render() + snapshot.exposition()


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    # On the event loop when the snapshot has its text (half a millisecond, no query): a
    # thread hop waits for the GIL while the process's other threads compute. In a thread
    # only when the text must be read first.
    snapshot: MetricsSnapshot = request.app.state.metrics_snapshot
    if snapshot.current():
        body = _metrics_text(snapshot)
    else:
        body = await run_in_threadpool(_metrics_text, snapshot)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
