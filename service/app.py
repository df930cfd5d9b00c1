"""create_app(settings) -> FastAPI; the lifespan starts the worker (scheduler, runner, relay)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from dqm.service.api import alerts, datasets, health, hooks, keys, monitors, relabel, retrain
from dqm.service.api.body_guard import BodyGuard
from dqm.service.api.docs import install_docs
from dqm.service.api.errors import install_error_handlers
from dqm.service.api.security import authorize, install_auth_handlers
from dqm.service.console.mount import install_console
from dqm.service.context import Context
from dqm.service.metrics_snapshot import MetricsSnapshot
from dqm.service.outages import DataFolderUnavailableError
from dqm.service.runs.worker import Worker
from dqm.service.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, ctx: Context | None = None) -> FastAPI:
    """The HTTP application; with role ``all`` or ``worker`` its lifespan runs the worker."""
    context = ctx or Context.create(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not settings.webhook_allowlist:
            log.warning(
                "DQM_WEBHOOK_ALLOWLIST is unset: webhooks may reach public addresses only; "
                "set it to the hosts and CIDRs of receivers on private networks or loopback"
            )
        if context.storage.is_object_store:
            _check_object_store(context)
        worker = Worker(context) if settings.runs_worker else None
        if worker:
            worker.start()
        snapshot.start()
        try:
            yield
        finally:
            snapshot.stop()
            if worker:
                worker.stop()
            context.engine.dispose()

    app = FastAPI(
        title="dqm",
        version="0.1.0",
        description="Data-quality monitoring for ML models: drift, coverage, label quality, "
        "alerts and signed webhooks.",
        lifespan=lifespan,
        docs_url=None,  # install_docs: /docs and /redoc from local assets
        redoc_url=None,
    )
    install_docs(app)
    app.state.ctx = context
    # /metrics' database families, kept current in the background (every role serves them).
    snapshot = MetricsSnapshot(
        context.sessions,
        settings.metrics_max_features,
        settings.metrics_refresh_seconds,
        settings.metrics_resync_seconds,
    )
    app.state.metrics_snapshot = snapshot
    install_error_handlers(app)
    install_auth_handlers(app)
    routers = [
        m.router for m in (health, datasets, relabel, monitors, alerts, hooks, retrain, keys)
    ]
    for router in routers:
        app.include_router(router, dependencies=[Depends(authorize)])
    # The key before the body, the body within DQM_MAX_BODY_BYTES, on every route.
    app.add_middleware(
        BodyGuard,
        guarded=[route for r in routers for route in r.routes],
        capped_by_route=[datasets.upload_reference, datasets.ingest_batch],
    )
    # The console's pages at / (their own sign-in); its prefix middleware wraps every route.
    install_console(app, settings.root_path or "")
    return app


def _check_object_store(context: Context) -> None:
    """Refuse to start when the bucket behind DQM_DATA_DIR cannot take a write.

    A folder that is briefly unwritable is an outage the service rides out (503s, /readyz); a
    bucket that is missing or unreachable at start is almost always a configuration error
    (name, endpoint, credentials), so it stops the process with the reason in the log.
    """
    try:
        context.storage.check_writable()
    except DataFolderUnavailableError as exc:
        log.error(
            "DQM_DATA_DIR=%s is not usable: %s (credentials and endpoint come from the "
            "standard AWS variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, "
            "AWS_ENDPOINT_URL)",
            context.settings.data_dir,
            exc.reason,
        )
        raise SystemExit(2) from exc
