"""Standard Webhooks 1.0 signatures (https://www.standardwebhooks.com/).

A message is signed with HMAC-SHA256 over ``f"{webhook-id}.{webhook-timestamp}.{body}"``, keyed
with the base64-decoded part of a ``whsec_...`` secret, and sent as
``webhook-signature: v1,<base64>``. During a secret rotation an endpoint has several secrets and
the header carries one space-separated signature per secret; a receiver accepts the message if
any of them matches its own secret.

>>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
>>> sig = sign([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
>>> sig
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
>>> h = headers([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
>>> verify(secret, h, b'{"test": 2432232314}', now=1614265331)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping, Sequence

from dqm.monitors.errors import DqmError, InvalidInputError

PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


class WebhookVerificationError(DqmError):
    """A webhook's signature or timestamp does not check out."""

    code = "invalid_signature"


def generate_secret(rng_bytes: int = 32) -> str:
    """A new endpoint secret: ``"whsec_"`` + base64 of ``rng_bytes`` random bytes (24-64).

    >>> s = generate_secret()
    >>> s.startswith("whsec_"), len(secret_key(s))
    (True, 32)
    """
    if not MIN_SECRET_BYTES <= rng_bytes <= MAX_SECRET_BYTES:
        raise InvalidInputError(
            f"a secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {rng_bytes}"
        )
    return PREFIX + base64.b64encode(_secrets.token_bytes(rng_bytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (the prefix is optional; base64 padding too).

    Raises InvalidInputError if the rest is not base64 of 24 to 64 bytes.
    """
    raw = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("webhook secret is not base64 after 'whsec_'") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidInputError(
            f"webhook secret must decode to {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes, "
            f"got {len(key)}"
        )
    return key


def fingerprint(secret: str) -> str:
    """A non-secret identifier of a secret: the first 12 hex digits of SHA-256 of its key, so
    two copies can be compared (``whsec_`` prefix and base64 padding do not matter).

    >>> fingerprint("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    'f74e1720b761'
    >>> fingerprint("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    'f74e1720b761'
    >>> len(fingerprint(generate_secret()))
    12
    """
    return hashlib.sha256(secret_key(secret)).hexdigest()[:12]


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``"v1,<b64>"`` per secret, space-separated.

    Parameters
    ----------
    secrets
        The endpoint's signing secrets (``whsec_`` + base64); during a rotation the old and
        the new one, so receivers holding either accept the message.
    msg_id
        The ``webhook-id``: the same for every attempt of one event.
    timestamp
        The ``webhook-timestamp``, in Unix seconds.
    body
        The exact bytes sent (:func:`dqm.alerts.events.body_bytes`).
    """
    if not secrets:
        raise InvalidInputError("signing needs at least one secret")
    return " ".join(
        "v1," + base64.b64encode(_signature(secret_key(s), msg_id, timestamp, body)).decode()
        for s in secrets
    )


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt (``msg_id`` stays the same across retries)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: int, tolerance: int = 300
) -> None:
    """Check a received webhook; raise :class:`WebhookVerificationError` unless it is genuine.

    Header names are case-insensitive. The timestamp must be within ``tolerance`` seconds of
    ``now`` (either way: replayed or post-dated messages are refused), and one of the ``v1``
    signatures must match (compared in constant time); other versions are ignored.

    Parameters
    ----------
    secret
        The receiver's copy of the endpoint's signing secret.
    headers
        The request's headers (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).
    body
        The raw request body, before any JSON parsing.
    now, tolerance
        The receiver's clock and the accepted skew, both in Unix seconds.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    header = lower.get("webhook-signature")
    if not (msg_id and stamp and header):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not an integer: {stamp!r}") from None
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp} is more than {tolerance}s away from now ({now})"
        )
    expected = _signature(secret_key(secret), msg_id, timestamp, body)
    for candidate in header.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            received = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, received):
            return
    raise WebhookVerificationError("no webhook-signature matches the secret")
