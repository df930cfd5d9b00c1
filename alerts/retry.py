"""Webhook delivery: how to read a response, and when to try again.

Eight attempts at most: immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
(about 27.6 hours in all, the Standard Webhooks / Svix schedule), each delay jittered by ±10%
with an injected ``random.Random`` so that many failing deliveries do not retry in lockstep.

>>> import random
>>> from datetime import UTC, datetime
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> out = classify(503, None)
>>> out.result, out.retry, out.use_retry_after
('failure', True, True)
>>> next_attempt(2, out, retry_after=None, now=now, rng=random.Random(0)) > now
True
>>> next_attempt(ATTEMPTS, out, retry_after=None, now=now, rng=random.Random(0)) is None
True
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

from dqm.alerts.state import as_utc
from dqm.monitors.errors import InvalidInputError

#: Delay before attempt ``i + 1`` (index ``i`` = attempts made so far), in seconds.
SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
ATTEMPTS = len(SCHEDULE)
JITTER = 0.10
#: A Retry-After longer than this is cut to it: a receiver cannot park a delivery for days.
MAX_RETRY_AFTER = 10 * 3600.0


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt went.

    Attributes
    ----------
    result
        ``success``, ``failure`` or ``timeout`` (the ``outcome`` label of
        ``dqm_delivery_attempts_total``).
    retry
        Whether to try again (if attempts are left).
    disable_endpoint
        410 Gone: the receiver asks never to be called again.
    use_retry_after
        429 / 503: wait at least the response's Retry-After.
    reason
        Short text for the delivery log.
    """

    result: Literal["success", "failure", "timeout"]
    retry: bool
    disable_endpoint: bool = False
    use_retry_after: bool = False
    reason: str = ""


def classify(status_code: int | None, error: str | None) -> Outcome:
    """Classify an attempt by its HTTP status, or by its transport ``error`` when there was none.

    2xx is success; 3xx is a failure (redirects are not followed: a webhook URL must answer
    itself); 410 disables the endpoint; 429 and 503 retry honouring Retry-After; any other
    status and any transport error (connection refused, TLS, ...) retry. An ``error`` that
    mentions a timeout counts as ``timeout``.

    >>> classify(204, None).result, classify(410, None).disable_endpoint
    ('success', True)
    >>> classify(None, "ReadTimeout: timed out").result
    'timeout'
    """
    if status_code is None:
        if not error:
            raise InvalidInputError("classify needs a status code or an error")
        text = error.lower()
        kind: Literal["failure", "timeout"] = (
            "timeout" if "timeout" in text or "timed out" in text else "failure"
        )
        return Outcome(kind, retry=True, reason=error)
    reason = f"HTTP {status_code}"
    if 200 <= status_code <= 299:
        return Outcome("success", retry=False, reason=reason)
    if 300 <= status_code <= 399:
        return Outcome("failure", retry=True, reason=f"{reason} (redirects are not followed)")
    if status_code == 410:
        return Outcome("failure", retry=False, disable_endpoint=True, reason=f"{reason} Gone")
    if status_code in (429, 503):
        return Outcome("failure", retry=True, use_retry_after=True, reason=reason)
    return Outcome("failure", retry=True, reason=reason)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110).

    None when absent or unreadable; a date in the past gives 0.

    >>> from datetime import UTC, datetime
    >>> now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
    >>> parse_retry_after("120", now), parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now)
    (120.0, 60.0)
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (as_utc(when) - as_utc(now)).total_seconds())


def delay_before(attempt_number: int, rng: random.Random) -> float:
    """Jittered delay (s) before attempt ``attempt_number + 1``, within ±JITTER of the schedule."""
    if not 1 <= attempt_number < ATTEMPTS:
        raise InvalidInputError(f"attempt_number must be in 1..{ATTEMPTS - 1}")
    base = SCHEDULE[attempt_number]
    return max(0.0, base * (1.0 + rng.uniform(-JITTER, JITTER)))


def next_attempt(
    attempt_number: int,
    outcome: Outcome,
    retry_after: float | None,
    now: datetime,
    rng: random.Random,
) -> datetime | None:
    """When to make the next attempt after attempt ``attempt_number`` (1-based) had ``outcome``.

    None means no further attempt: success, a disabled endpoint, or all ``ATTEMPTS`` made
    (the delivery is dead). With ``outcome.use_retry_after``, the wait is the larger of the
    jittered schedule and Retry-After, the latter capped at ``MAX_RETRY_AFTER`` (10 h, the
    longest step of the schedule).

    Parameters
    ----------
    attempt_number
        The attempt just made, counting from 1.
    outcome
        Its classification (:func:`classify`).
    retry_after
        The response's Retry-After in seconds (:func:`parse_retry_after`), or None.
    now
        The end of the attempt; the returned time is counted from it.
    rng
        Source of the jitter (seeded in tests).
    """
    if attempt_number < 1:
        raise InvalidInputError("attempt_number counts from 1")
    if not outcome.retry or attempt_number >= ATTEMPTS:
        return None
    delay = delay_before(attempt_number, rng)
    if outcome.use_retry_after and retry_after is not None and math.isfinite(retry_after):
        delay = max(delay, min(max(retry_after, 0.0), MAX_RETRY_AFTER))
    return as_utc(now) + timedelta(seconds=delay)
