"""API keys with scopes: storage (hashed) and the access policy.

A key is a high-entropy random token shown once; the database keeps its SHA-256 and a short
public prefix that finds the row and names the key in listings. Requests send
``Authorization: Bearer <key>``. Access is enforced as soon as one non-revoked key exists;
without any key only a loopback-bound server answers (see docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dqm.monitors.errors import ConflictError, DqmError, InvalidInputError, NotFoundError
from dqm.service.db.models import ApiKey
from dqm.service.db.session import transaction
from dqm.service.paging import Key, Keyset, Paged, PageRequest

log = logging.getLogger(__name__)

Scope = Literal["ingest", "read", "admin"]
SCOPES: tuple[Scope, ...] = ("ingest", "read", "admin")
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
INGEST_ROUTES = frozenset(
    {
        ("POST", "/v1/datasets/{name}/batches"),
        ("POST", "/v1/datasets/{name}/labels"),
        ("PUT", "/v1/datasets/{name}/reference"),
    }
)
# The training pipeline reports on retrain requests (acknowledge, ...) with an ingest key.
CALLBACK_PREFIX = "/v1/retrain-requests/{request_id}/"
_GENERATED = re.compile(r"^dqm_[A-Za-z0-9]{8}_")


class UnauthenticatedError(DqmError):
    """No valid API key came with the request."""

    code = "unauthenticated"


class ForbiddenError(DqmError):
    """The API key is valid but lacks the scope the route needs."""

    code = "forbidden"


@dataclass(frozen=True)
class KeyInfo:
    """What ``dqm keys list`` shows: never the token, never its hash."""

    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def generate_token() -> str:
    """A new key: ``dqm_`` + 8 public id characters + ``_`` + 256 random bits (base64url)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    public_id = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"dqm_{public_id}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """Hex SHA-256 of the token: what the database stores.

    >>> hash_token("abc")
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    """The public prefix: the id part of a generated key, else a fingerprint of the hash.

    A chosen token (e.g. a bootstrap key) may be short, so none of its characters is stored.

    >>> token_prefix("dqm_AbCd1234_secretpart")
    'dqm_AbCd1234'
    >>> token_prefix("abc")
    'sha256:ba7816bf'
    """
    if _GENERATED.match(token):
        return token[:12]
    return "sha256:" + hash_token(token)[:8]


def grants(scopes: tuple[str, ...], needed: Scope) -> bool:
    """Whether a key holding ``scopes`` may do what needs ``needed``; ``admin`` implies all.

    >>> grants(("read",), "read"), grants(("read",), "ingest"), grants(("admin",), "ingest")
    (True, False, True)
    """
    return "admin" in scopes or needed in scopes


def required_scope(method: str, route: str, metrics_auth: bool) -> Scope | None:
    """The scope a request needs (``None``: open), from its method and route template.

    >>> required_scope("GET", "/v1/monitors", False), required_scope("GET", "/healthz", False)
    ('read', None)
    >>> required_scope("PUT", "/v1/datasets/{name}/reference", False)
    'ingest'
    >>> required_scope("POST", "/v1/monitors/{name}/run", False)
    'admin'
    >>> required_scope("GET", "/v1/keys", False)
    'admin'
    """
    if route in OPEN_PATHS:
        return None
    if route == "/metrics":
        return "read" if metrics_auth else None
    if route.startswith("/v1/keys"):
        return "admin"  # even listing: key names and scopes are for administrators
    if method in ("GET", "HEAD"):
        return "read"
    if (method, route) in INGEST_ROUTES or route.startswith(CALLBACK_PREFIX):
        return "ingest"
    return "admin"


def _validate(name: str, scopes: tuple[str, ...]) -> None:
    if not name or len(name) > 200:
        raise InvalidInputError("a key name must have 1 to 200 characters")
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise InvalidInputError(f"scopes must be among {list(SCOPES)}", [{"unknown": unknown}])


def create_key(
    sessions: sessionmaker[Session],
    name: str,
    scopes: tuple[str, ...],
    now: datetime,
    token: str | None = None,
) -> str:
    """Store a new key (hashed) and return its token, the only time it is visible."""
    _validate(name, scopes)
    token = token or generate_token()
    ordered = " ".join(s for s in SCOPES if s in scopes)
    row = ApiKey(
        name=name,
        prefix=token_prefix(token),
        key_hash=hash_token(token),
        scopes=ordered,
        created_at=now,
    )
    try:
        with transaction(sessions) as session:
            session.add(row)
    except IntegrityError as exc:
        raise ConflictError(f"an API key named {name!r} (or with this token) exists") from exc
    return token


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.name, row.prefix, tuple(row.scopes.split()), row.created_at, row.revoked_at)


def list_keys(sessions: sessionmaker[Session]) -> list[KeyInfo]:
    with sessions() as session:
        return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.name))]


KEYS = Keyset("keys", Key(ApiKey.name, str))


def page_keys(sessions: sessionmaker[Session], page: PageRequest) -> Paged[KeyInfo]:
    """One page of the keys, by name."""
    with sessions() as session:
        rows = [_info(r) for r in session.scalars(KEYS.query(select(ApiKey), page))]
    return KEYS.cut(rows, page, lambda k: (k.name,))


def find_key(sessions: sessionmaker[Session], name: str) -> KeyInfo:
    with sessions() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == name))
        if row is None:
            raise NotFoundError(f"no API key named {name!r}", [{"key": name}])
        return _info(row)


def revoke_key(sessions: sessionmaker[Session], name: str, now: datetime) -> None:
    """Revoke by name; the next request with that key gets 401. Revoking twice is a no-op."""
    with transaction(sessions) as session:
        key = session.scalar(select(ApiKey).where(ApiKey.name == name))
        if key is None:
            raise NotFoundError(f"no API key named {name!r}")
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def ensure_bootstrap_key(sessions: sessionmaker[Session], token: str, now: datetime) -> bool:
    """Ensure an admin key with exactly ``token`` exists; True if it was created now.

    A revoked bootstrap key stays revoked: the setting never resurrects it.
    """
    digest = hash_token(token)
    with sessions() as session:
        existing = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if existing is not None:
        if existing.revoked_at is not None:
            log.warning("DQM_BOOTSTRAP_ADMIN_KEY names a revoked key (%s)", existing.prefix)
        return False
    try:
        create_key(sessions, f"bootstrap-{token_prefix(token)}", ("admin",), now, token)
    except ConflictError:  # another replica created it at the same moment
        return False
    return True


def has_active_key(session: Session) -> bool:
    found = session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1))
    return found is not None


def authenticate(session: Session, token: str) -> tuple[str, ...] | None:
    """The scopes of the active key ``token``, or None (unknown or revoked)."""
    digest = hash_token(token)
    candidates = session.execute(
        select(ApiKey.key_hash, ApiKey.scopes).where(
            ApiKey.prefix == token_prefix(token), ApiKey.revoked_at.is_(None)
        )
    ).all()
    for stored, scopes in candidates:
        if hmac.compare_digest(stored, digest):
            return tuple(scopes.split())
    return None


def check_access(
    session: Session, token: str | None, needed: Scope, open_without_keys: bool
) -> None:
    """Raise unless ``token`` names an active key holding ``needed``.

    Parameters
    ----------
    token
        The key the request sent, or None.
    needed
        The scope the request needs (see :func:`required_scope`).
    open_without_keys
        Whether a server with no active key answers everyone (the loopback-only default).

    Raises
    ------
    UnauthenticatedError
        No valid key, or no key exists on a server that must not be open.
    ForbiddenError
        The key is valid but lacks ``needed``.
    """
    scopes = authenticate(session, token) if token is not None else None
    if scopes is None:
        if not has_active_key(session):
            if open_without_keys:
                return
            raise UnauthenticatedError(
                "no API key exists: create one with `dqm keys create` "
                "or set DQM_BOOTSTRAP_ADMIN_KEY"
            )
        raise UnauthenticatedError("a valid API key is required: Authorization: Bearer <key>")
    if not grants(scopes, needed):
        raise ForbiddenError(
            f"this API key lacks the {needed!r} scope",
            [{"required_scope": needed, "key_scopes": list(scopes)}],
        )
