"""The one exception hierarchy of dqm.

It lives in the lowest package so that ``monitors``, ``alerts`` and ``service`` all raise the
same errors; ``service`` maps each class to an HTTP status once, in one handler.
"""

from __future__ import annotations

from typing import Any


class DqmError(Exception):
    """Base of every error dqm raises on purpose.

    ``code`` is the machine-readable error code of the API envelope, ``details`` a list of
    JSON-serializable objects saying where the problem is (rows, columns, fields).
    """

    code = "error"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []


class InvalidInputError(DqmError):
    """The input cannot be used as given (schema violations, empty data, bad parameters)."""

    code = "invalid_input"


class NotFoundError(DqmError):
    """A named resource does not exist."""

    code = "not_found"


class ConflictError(DqmError):
    """The request conflicts with existing state (duplicate name, idempotency key reuse)."""

    code = "conflict"


class UnsupportedMediaError(DqmError):
    """The request body's content type is not one dqm decodes."""

    code = "unsupported_media_type"


class PayloadTooLargeError(DqmError):
    """The request body exceeds the configured cap."""

    code = "payload_too_large"
