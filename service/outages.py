"""Outages of the service's two dependencies, the database and the data folder.

An outage is not a bug: callers get a retryable error naming the dependency, and the log
gets one short line per kind of failure every few seconds instead of a traceback per request.

>>> DataFolderUnavailableError("read-only file system").dependency
'data folder'
>>> failure_kind(DatabaseUnavailableError("down"))
'database: DatabaseUnavailableError'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

from dqm.monitors.errors import DqmError

log = logging.getLogger(__name__)

DATABASE = "database"
DATA_FOLDER = "data folder"
RETRY_AFTER_SECONDS = 5
LOG_INTERVAL_SECONDS = 10.0


class UnavailableError(DqmError):
    """A dependency the request needs cannot be used right now (HTTP 503, retry later)."""

    code = "unavailable"
    dependency = "dependency"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the {self.dependency} is unavailable; retry later",
            [{"dependency": self.dependency}],
        )
        self.reason = reason  # for the log only: may name hosts, paths or driver details


class DatabaseUnavailableError(UnavailableError):
    dependency = DATABASE


class DataFolderUnavailableError(UnavailableError):
    dependency = DATA_FOLDER


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or used, rather than a bad query.

    Connection failures, lost connections, pool timeouts and unreadable SQLite files are
    outages; constraint violations and other answers of a working database are not.
    """
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    # sqlite3 raises a bare DatabaseError for a file that is not a database.
    return type(exc) is sa_exc.DatabaseError


def as_unavailable(exc: BaseException) -> UnavailableError | None:
    """The ``UnavailableError`` that ``exc`` amounts to, or None when it is not an outage."""
    if isinstance(exc, UnavailableError):
        return exc
    if is_database_outage(exc):
        unavailable = DatabaseUnavailableError(_first_line(exc))
        unavailable.__cause__ = exc
        return unavailable
    return None


def failure_kind(exc: UnavailableError) -> str:
    """What throttling groups by: the dependency and the failure's class."""
    cause = exc.__cause__ or exc
    return f"{exc.dependency}: {type(cause).__name__}"


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return (text[0] if text else type(cause).__name__)[:200]


class ThrottledLog:
    """At most one warning per failure kind per ``interval`` seconds, counting the rest.

    >>> lines = []
    >>> throttle = ThrottledLog(10.0, clock=lambda: 0.0, emit=lines.append)
    >>> for _ in range(3):
    ...     throttle.report("database: OperationalError", "connection refused")
    >>> lines
    ['database: OperationalError: connection refused']
    """

    def __init__(
        self,
        interval: float = LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.emit = emit or log.warning
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def report(self, kind: str, reason: str) -> None:
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.interval:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            suppressed = self._suppressed.pop(kind, 0)
            self._last[kind] = now
        extra = f" ({suppressed} more suppressed in the last {self.interval:g} s)"
        self.emit(f"{kind}: {reason}" + (extra if suppressed else ""))


THROTTLED = ThrottledLog()


def report_outage(exc: UnavailableError) -> None:
    """Log ``exc`` through the process-wide throttle."""
    THROTTLED.report(failure_kind(exc), exc.reason)
