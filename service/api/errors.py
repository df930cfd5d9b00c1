"""One error envelope for every 4xx/5xx: {"error": {"code", "message", "details"}}.

An outage of the database or the data folder is a 503 with ``Retry-After`` naming the
dependency, logged as one throttled line per kind (see ``dqm.service.outages``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dqm.monitors.errors import (
    ConflictError,
    DqmError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)
from dqm.service.outages import (
    RETRY_AFTER_SECONDS,
    UnavailableError,
    as_unavailable,
    report_outage,
)

log = logging.getLogger(__name__)

STATUS: dict[type[DqmError], int] = {
    InvalidInputError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    UnsupportedMediaError: 415,
    PayloadTooLargeError: 413,
    UnavailableError: 503,
}


def envelope(
    status: int, code: str, message: str, details: list[Any] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(status_code=status, content=body)


def status_of(exc: DqmError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def unavailable(exc: UnavailableError) -> JSONResponse:
    """503 naming the dependency, never its internals (host, port, path, driver text)."""
    report_outage(exc)
    response = envelope(503, exc.code, exc.message, exc.details)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DqmError)
    async def _dqm(_: Request, exc: DqmError) -> JSONResponse:
        if isinstance(exc, UnavailableError):
            return unavailable(exc)
        return envelope(status_of(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(SQLAlchemyError)
    async def _database(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        # Handled here rather than by the catch-all below, which Starlette re-raises to the
        # server after answering: one more traceback and a dropped keep-alive connection.
        outage = as_unavailable(exc)
        if outage is not None:
            return unavailable(outage)
        log.exception("unhandled database error", exc_info=exc)
        return envelope(500, "internal_error", "internal server error")

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return envelope(422, "invalid_request", "the request does not match the API", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return envelope(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return envelope(500, "internal_error", "internal server error")
