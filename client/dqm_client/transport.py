"""Requests with retries: connection failures, 429 and 503 are retried with exponential
backoff (full jitter), honouring ``Retry-After``.

A request that may have reached the server is retried only when repeating it is safe
(``Call.idempotent``: reads, deletes, and writes that carry a batch id); any other request is
retried only when it surely did not arrive (the connection was never made) or the server
refused it with 429 or 503.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from dqm_client.errors import ApiError, ConnectionFailed, error_for

log = logging.getLogger("dqm_client")
RETRY_STATUSES = frozenset({429, 503})
UPLOAD_SLICE = 1 << 20
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Retry:
    """``attempts`` tries in all; waits ``backoff·2^n`` (random below it, at most
    ``max_backoff``) or, when the server says, ``Retry-After`` (at most ``max_retry_after``)."""

    attempts: int = 6
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))


NO_RETRY = Retry(attempts=1)


@dataclass(frozen=True)
class Call:
    """One HTTP request of the API."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotent: bool = True
    timeout: float | None = None
    # Called with the size of each slice of ``content`` as it is sent (an upload progress bar).
    on_upload: Callable[[int], None] | None = None

    def with_params(self, **params: Any) -> Call:
        return Call(
            self.method,
            self.path,
            {**(self.params or {}), **params},
            self.json,
            self.content,
            self.headers,
            self.idempotent,
            self.timeout,
            self.on_upload,
        )


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (when - datetime.now(UTC)).total_seconds()


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_for(response.status_code, _body(response), retry_after(response))


def _next_delay(
    call: Call, retry: Retry, attempt: int, outcome: httpx.Response | Exception
) -> float | None:
    """How long to wait before trying ``call`` again, or None to stop."""
    if attempt + 1 >= retry.attempts:
        return None
    if isinstance(outcome, Exception):
        safe = call.idempotent or isinstance(outcome, NOT_SENT)
        return retry.delay(attempt, None) if safe else None
    if outcome.status_code in RETRY_STATUSES:
        return retry.delay(attempt, retry_after(outcome))
    return None


def _failed(call: Call, exc: Exception) -> ConnectionFailed:
    return ConnectionFailed(f"{call.method} {call.path}: {type(exc).__name__}: {exc}")


def _request_args(call: Call, asynchronous: bool = False) -> dict[str, Any]:
    args: dict[str, Any] = {"params": call.params, "headers": call.headers}
    if call.json is not None:
        args["json"] = call.json
    if call.content is not None and call.on_upload is not None:
        slices = _slices(call.content, call.on_upload)
        args["content"] = _async(slices) if asynchronous else slices
        args["headers"] = {**call.headers, "content-length": str(len(call.content))}
    elif call.content is not None:
        args["content"] = call.content
    if call.timeout is not None:
        args["timeout"] = call.timeout
    return args


def _slices(content: bytes, on_upload: Callable[[int], None]) -> Iterator[bytes]:
    """``content`` in 1 MiB slices, reporting each (again from the start on a retry)."""
    view = memoryview(content)
    for start in range(0, len(content), UPLOAD_SLICE):
        piece = view[start : start + UPLOAD_SLICE]
        on_upload(len(piece))
        yield bytes(piece)


async def _async(slices: Iterator[bytes]) -> AsyncIterator[bytes]:
    for piece in slices:
        yield piece


def send(http: httpx.Client, call: Call, retry: Retry) -> httpx.Response:
    """``call`` on ``http``, retried by ``retry``; the response, or an exception."""
    attempt = 0
    while True:
        outcome: httpx.Response | Exception
        try:
            outcome = http.request(call.method, call.path, **_request_args(call))
        except httpx.TransportError as exc:
            outcome = exc
        delay = _next_delay(call, retry, attempt, outcome)
        if delay is None:
            return _final(call, outcome)
        _log_retry(call, outcome, delay)
        time.sleep(delay)
        attempt += 1


async def send_async(http: httpx.AsyncClient, call: Call, retry: Retry) -> httpx.Response:
    """``send`` for an ``httpx.AsyncClient``."""
    attempt = 0
    while True:
        outcome: httpx.Response | Exception
        try:
            args = _request_args(call, asynchronous=True)
            outcome = await http.request(call.method, call.path, **args)
        except httpx.TransportError as exc:
            outcome = exc
        delay = _next_delay(call, retry, attempt, outcome)
        if delay is None:
            return _final(call, outcome)
        _log_retry(call, outcome, delay)
        await asyncio.sleep(delay)
        attempt += 1


def _final(call: Call, outcome: httpx.Response | Exception) -> httpx.Response:
    if isinstance(outcome, Exception):
        raise _failed(call, outcome) from outcome
    raise_for(outcome)
    return outcome


def _log_retry(call: Call, outcome: httpx.Response | Exception, delay: float) -> None:
    what = (
        f"{outcome.status_code}" if isinstance(outcome, httpx.Response) else type(outcome).__name__
    )
    log.info("%s %s: %s, retrying in %.2fs", call.method, call.path, what, delay)


__all__ = ["NO_RETRY", "ApiError", "Call", "Retry", "raise_for", "send", "send_async"]
