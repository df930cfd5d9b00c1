"""The one place the service reads the wall clock (tests pass their own times to pure code)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
