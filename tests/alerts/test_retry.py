"""Delivery outcomes, Retry-After and the retry schedule."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from dqm.alerts.retry import (
    ATTEMPTS,
    MAX_RETRY_AFTER,
    Outcome,
    classify,
    next_attempt,
    parse_retry_after,
)
from dqm.monitors.errors import InvalidInputError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOURS = 3600.0
# The Standard Webhooks (Svix) schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
EXPECTED = [5.0, 300.0, 1800.0, 2 * HOURS, 5 * HOURS, 10 * HOURS, 10 * HOURS]


def delay(when: datetime | None) -> float:
    assert when is not None
    return (when - NOW).total_seconds()


def test_schedule_with_jitter_stays_within_ten_percent() -> None:
    failure = classify(500, None)
    assert ATTEMPTS == 8
    for seed in range(200):
        rng = random.Random(seed)
        delays = [delay(next_attempt(n, failure, None, NOW, rng)) for n in range(1, ATTEMPTS)]
        for got, base in zip(delays, EXPECTED, strict=True):
            assert 0.9 * base <= got <= 1.1 * base
        assert next_attempt(ATTEMPTS, failure, None, NOW, rng) is None  # dead
    spread = {delay(next_attempt(3, failure, None, NOW, random.Random(s))) for s in range(50)}
    assert len(spread) == 50 and max(spread) - min(spread) > 0.1 * 1800  # really jittered


def test_same_seed_same_schedule() -> None:
    failure = classify(None, "connection refused")
    a = [next_attempt(n, failure, None, NOW, random.Random(1)) for n in range(1, 8)]
    b = [next_attempt(n, failure, None, NOW, random.Random(1)) for n in range(1, 8)]
    assert a == b


def test_no_retry_after_success_or_gone() -> None:
    rng = random.Random(0)
    assert next_attempt(1, classify(200, None), None, NOW, rng) is None
    assert next_attempt(1, classify(410, None), None, NOW, rng) is None
    with pytest.raises(InvalidInputError):
        next_attempt(0, classify(500, None), None, NOW, rng)


def test_retry_after_is_honoured_for_429_and_503_only_and_capped() -> None:
    rng = random.Random(0)
    for status in (429, 503):
        out = classify(status, None)
        assert delay(next_attempt(1, out, 600.0, NOW, rng)) == 600.0  # longer than 5 s
        assert delay(next_attempt(1, out, 1e9, NOW, rng)) == MAX_RETRY_AFTER
        short = delay(next_attempt(3, out, 1.0, NOW, rng))  # shorter than the 30 min step
        assert 0.9 * 1800 <= short <= 1.1 * 1800
    assert delay(next_attempt(1, classify(500, None), 600.0, NOW, rng)) <= 5.5


@pytest.mark.parametrize(
    ("status", "error", "result", "retry", "disable", "retry_after"),
    [
        (200, None, "success", False, False, False),
        (204, None, "success", False, False, False),
        (299, None, "success", False, False, False),
        (301, None, "failure", True, False, False),
        (302, None, "failure", True, False, False),
        (400, None, "failure", True, False, False),
        (404, None, "failure", True, False, False),
        (410, None, "failure", False, True, False),
        (429, None, "failure", True, False, True),
        (500, None, "failure", True, False, False),
        (502, None, "failure", True, False, False),
        (503, None, "failure", True, False, True),
        (100, None, "failure", True, False, False),
        (None, "ConnectError: connection refused", "failure", True, False, False),
        (None, "ReadTimeout('timed out')", "timeout", True, False, False),
        (None, "ConnectTimeout", "timeout", True, False, False),
    ],
)
def test_classify(
    status: int | None,
    error: str | None,
    result: str,
    retry: bool,
    disable: bool,
    retry_after: bool,
) -> None:
    out = classify(status, error)
    assert isinstance(out, Outcome)
    assert (out.result, out.retry, out.disable_endpoint, out.use_retry_after) == (
        result,
        retry,
        disable,
        retry_after,
    )
    assert out.reason


def test_classify_without_a_status_or_an_error_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        classify(None, None)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 01 Mar 2026 12:02:00 GMT", 120.0),  # IMF-fixdate (RFC 9110)
        ("Sunday, 01-Mar-26 12:00:30 GMT", 30.0),  # obsolete RFC 850 form
        ("Sun Mar  1 12:01:00 2026", 60.0),  # obsolete asctime form
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),  # in the past
        (None, None),
        ("", None),
        ("-5", None),
        ("soon", None),
        ("1.5e3", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_parse_retry_after_with_naive_now() -> None:
    naive = NOW.replace(tzinfo=None) - timedelta(seconds=10)
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:00 GMT", naive) == 10.0


def test_retry_after_with_non_ascii_digits_is_unreadable() -> None:
    # "²".isdigit() is True in Python; int("²") raises. The header is ignored, not a crash.
    assert parse_retry_after("²", datetime(2026, 1, 1, tzinfo=UTC)) is None
