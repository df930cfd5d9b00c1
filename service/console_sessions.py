"""Console sign-ins: a browser trades an API key for a session cookie.

The cookie holds a random token; the database keeps only its SHA-256, the key it was made
with, its CSRF token and its expiry. Each request looks the session up together with its key,
so a revoked key ends its sessions at once. No HTTP here: the console's pages call these.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.auth import UnauthenticatedError, hash_token, token_prefix
from dqm.service.db.models import ApiKey, ConsoleSession
from dqm.service.db.session import transaction


@dataclass(frozen=True)
class SignedIn:
    """Who a session belongs to: the key's name and scopes (never its token or hash)."""

    key_name: str
    scopes: tuple[str, ...]
    csrf_token: str
    expires_at: datetime


def _active_key(session: Session, token: str) -> ApiKey | None:
    digest = hash_token(token)
    rows = session.scalars(
        select(ApiKey).where(ApiKey.prefix == token_prefix(token), ApiKey.revoked_at.is_(None))
    )
    for row in rows:
        if secrets.compare_digest(row.key_hash, digest):
            return row
    return None


def sign_in(
    sessions: sessionmaker[Session], key: str, now: datetime, lifetime_seconds: float
) -> tuple[str, SignedIn]:
    """A new session for the active key ``key``: (cookie token, who). Expired sessions go."""
    with transaction(sessions) as session:
        row = _active_key(session, key.strip())
        if row is None:
            raise UnauthenticatedError("this API key is unknown or revoked")
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
        token = secrets.token_urlsafe(32)
        record = ConsoleSession(
            token_hash=hash_token(token),
            key_id=row.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime_seconds),
        )
        session.add(record)
        who = SignedIn(row.name, tuple(row.scopes.split()), record.csrf_token, record.expires_at)
    return token, who


def lookup(sessions: sessionmaker[Session], token: str, now: datetime) -> SignedIn | None:
    """The session of cookie ``token`` if it has not expired and its key is not revoked."""
    query = (
        select(ConsoleSession, ApiKey)
        .join(ApiKey, ApiKey.id == ConsoleSession.key_id)
        .where(
            ConsoleSession.token_hash == hash_token(token),
            ConsoleSession.expires_at > now,
            ApiKey.revoked_at.is_(None),
        )
    )
    with sessions() as session:
        found = session.execute(query).first()
    if found is None:
        return None
    record, key = found
    return SignedIn(key.name, tuple(key.scopes.split()), record.csrf_token, record.expires_at)


def sign_out(sessions: sessionmaker[Session], token: str) -> None:
    """End the session of cookie ``token`` (a no-op if there is none)."""
    with transaction(sessions) as session:
        session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token))
        )


def keys_exist(sessions: sessionmaker[Session]) -> bool:
    """Whether any active API key exists (else a loopback server's console is open)."""
    with sessions() as session:
        found = session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1))
    return found is not None
