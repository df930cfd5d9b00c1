"""Exceptions: one per kind of API error, each carrying the API's error envelope.

Every 4xx/5xx answer of dqm is ``{"error": {"code", "message", "details"}}``; ``ApiError``
keeps those three fields and the HTTP status. Connection failures that outlast the retries are
``ConnectionFailed``.
"""

from __future__ import annotations

from typing import Any


class DqmClientError(Exception):
    """Base class of everything this client raises."""


class ConnectionFailed(DqmClientError):
    """The server could not be reached (or answered nothing) after every retry."""


class ApiError(DqmClientError):
    """The API answered with an error envelope (or, from a proxy, a non-JSON error page)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: list[Any] = details or []
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400 or another 4xx without a class of its own."""


class Unauthorized(ApiError):
    """401: no key, or an unknown or revoked key."""


class Forbidden(ApiError):
    """403: the key lacks the scope the call needs."""


class NotFound(ApiError):
    """404: no such dataset, monitor, run, hook, ..."""


class Conflict(ApiError):
    """409: the name exists, or a batch id was already used with other content."""


class PayloadTooLarge(ApiError):
    """413: the body or its decoded rows exceed a server limit."""


class UnsupportedMedia(ApiError):
    """415: the content type is not one the endpoint decodes."""


class InvalidInput(ApiError):
    """422: the body or the parameters are not valid; ``details`` says where."""


class RateLimited(ApiError):
    """429: too many requests (retried, honouring ``Retry-After``, before it is raised)."""


class ServerError(ApiError):
    """500 and other 5xx."""


class Unavailable(ServerError):
    """503: the server's database or data folder is unavailable (retried before raised)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMedia,
    422: InvalidInput,
    429: RateLimited,
    503: Unavailable,
}


def error_for(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer, from its envelope when it has one."""
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else BadRequest)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        details = error.get("details")
        return cls(
            status,
            str(error.get("code", "error")),
            error["message"],
            details if isinstance(details, list) else [],
            retry_after,
        )
    text = body if isinstance(body, str) else ""
    return cls(status, "http_error", text[:500] or f"HTTP {status}", [], retry_after)
