"""The access policy without HTTP: which token may do what, and when a server with no keys is
open. The HTTP answers (401/403 envelopes, WWW-Authenticate) are in test_auth.py."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.auth import (
    ForbiddenError,
    UnauthenticatedError,
    check_access,
    create_key,
    revoke_key,
)
from dqm.service.clock import utcnow
from dqm.service.db.session import make_engine, make_sessionmaker


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(database_url))


def test_without_keys_only_an_open_server_answers(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        check_access(session, None, "admin", open_without_keys=True)
        check_access(session, "dqm_made_up", "admin", open_without_keys=True)
        with pytest.raises(UnauthenticatedError, match="no API key exists"):
            check_access(session, None, "read", open_without_keys=False)


def test_a_key_grants_its_scopes_and_admin_grants_all(sessions: sessionmaker[Session]) -> None:
    reader = create_key(sessions, "grafana", ("read",), utcnow())
    admin = create_key(sessions, "ops", ("admin",), utcnow())
    with sessions() as session:
        check_access(session, reader, "read", open_without_keys=False)
        for needed in ("read", "ingest", "admin"):
            check_access(session, admin, needed, open_without_keys=False)
        with pytest.raises(ForbiddenError) as refused:
            check_access(session, reader, "ingest", open_without_keys=True)
    assert refused.value.details == [{"required_scope": "ingest", "key_scopes": ["read"]}]


def test_once_a_key_exists_no_token_is_refused_even_on_loopback(
    sessions: sessionmaker[Session],
) -> None:
    token = create_key(sessions, "ci", ("ingest",), utcnow())
    with sessions() as session:
        for wrong in (None, token + "x", "dqm_AbCd1234_guess"):
            with pytest.raises(UnauthenticatedError, match="a valid API key is required"):
                check_access(session, wrong, "ingest", open_without_keys=True)
    revoke_key(sessions, "ci", utcnow())
    with sessions() as session, pytest.raises(UnauthenticatedError, match="no API key exists"):
        check_access(session, token, "ingest", open_without_keys=False)


def test_the_service_core_loads_without_the_http_stack() -> None:
    core = [
        "dqm.service.auth",
        "dqm.service.runs.monitors",
        "dqm.service.runs.worker",
        "dqm.service.alerting.evaluate",
        "dqm.service.ingest.datasets",
    ]
    probe = "; ".join(f"import {m}" for m in core)
    probe += "; import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    probe += "('fastapi', 'starlette') or m.startswith('dqm.service.api')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
