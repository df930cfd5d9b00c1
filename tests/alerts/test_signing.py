"""Standard Webhooks signing, cross-checked both ways with the reference `standardwebhooks`."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError as LibError

from dqm.alerts.events import body_bytes, envelope
from dqm.alerts.signing import (
    WebhookVerificationError,
    generate_secret,
    headers,
    secret_key,
    sign,
    verify,
)
from dqm.monitors.errors import DqmError, InvalidInputError

Tamper = Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]
BODY = body_bytes(envelope("alert.firing", datetime(2026, 1, 1, tzinfo=UTC), {"é": 1}))


def test_published_example() -> None:
    # The test vector of the Standard Webhooks reference libraries.
    got = sign(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reference_library_accepts_dqm_signatures() -> None:
    secret = generate_secret()
    h = headers([secret], "msg_1", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, h) == {
        "type": "alert.firing",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {"é": 1},
    }
    with pytest.raises(LibError):
        Webhook(secret).verify(BODY + b" ", h)


def test_dqm_accepts_reference_library_signatures() -> None:
    secret = generate_secret(64)
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = int(now.timestamp())
    sig = Webhook(secret).sign("msg_2", now, BODY.decode())
    h = {"webhook-id": "msg_2", "webhook-timestamp": str(stamp), "webhook-signature": sig}
    verify(secret, h, BODY, now=stamp)
    assert sig == sign([secret], "msg_2", stamp, BODY)


def test_rotation_either_secret_verifies() -> None:
    old, new, other = generate_secret(), generate_secret(), generate_secret()
    stamp = int(time.time())
    h = headers([old, new], "msg_3", stamp, BODY)
    assert len(h["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        verify(secret, h, BODY, now=stamp)
        Webhook(secret).verify(BODY, h, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        verify(other, h, BODY, now=stamp)
    with pytest.raises(LibError):
        Webhook(other).verify(BODY, h)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"1", b"2")),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: ({**h, "webhook-id": "msg_other"}, b),
        lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b),
        lambda h, b: ({**h, "webhook-signature": "v1,%%%not-base64"}, b),
        lambda h, b: ({**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b),
        lambda h, b: ({**h, "webhook-timestamp": "soon"}, b),
    ],
)
def test_tampered_messages_are_rejected(tamper: Tamper) -> None:
    secret = generate_secret()
    h, b = tamper(headers([secret], "msg_4", 1_700_000_000, BODY), BODY)
    with pytest.raises(WebhookVerificationError) as info:
        verify(secret, h, b, now=1_700_000_000)
    assert isinstance(info.value, DqmError) and info.value.message


def test_timestamp_tolerance_both_ways_and_case_insensitive_headers() -> None:
    secret = generate_secret()
    h = {k.upper(): v for k, v in headers([secret], "msg_5", 1_000_000, BODY).items()}
    for now in (1_000_000 - 300, 1_000_000 + 300):
        verify(secret, h, BODY, now=now)
    for now in (1_000_000 - 301, 1_000_000 + 301):
        with pytest.raises(WebhookVerificationError, match="300s"):
            verify(secret, h, BODY, now=now)
    verify(secret, h, BODY, now=1_000_000 + 3000, tolerance=3600)


def test_headers_shape() -> None:
    h = headers([generate_secret()], "msg_6", 42, BODY)
    assert set(h) == {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type"}
    assert h["webhook-id"] == "msg_6" and h["webhook-timestamp"] == "42"
    assert h["content-type"] == "application/json"


def test_secrets_are_24_to_64_random_bytes_and_malformed_ones_are_refused() -> None:
    for n in (24, 32, 64):
        s = generate_secret(n)
        assert s.startswith("whsec_") and len(base64.b64decode(s[6:])) == n
    assert generate_secret() != generate_secret()
    for n in (23, 65):
        with pytest.raises(InvalidInputError):
            generate_secret(n)
    short = "whsec_" + base64.b64encode(b"x" * 10).decode()
    for bad in ("whsec_not base64!", short):
        with pytest.raises(InvalidInputError):
            secret_key(bad)
    with pytest.raises(InvalidInputError):
        sign([], "m", 1, b"")
    # The prefix and the padding are optional, as in the reference library.
    raw = base64.b64encode(b"k" * 32).decode()
    assert secret_key(raw.rstrip("=")) == secret_key("whsec_" + raw) == b"k" * 32
