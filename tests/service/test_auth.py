"""API keys over real HTTP: 401 vs 403 in the error envelope, scopes per route, revocation,
open health probes, optional /metrics protection, and keys stored only as SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.app import create_app
from dqm.service.auth import (
    authenticate,
    create_key,
    ensure_bootstrap_key,
    list_keys,
    required_scope,
    revoke_key,
)
from dqm.service.clock import utcnow
from dqm.service.db.models import ApiKey
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["details"], list)


def test_without_keys_a_loopback_server_is_open(settings: Settings) -> None:
    with running_server(settings) as client:
        assert client.post("/v1/datasets", json={"name": "d"}).status_code == 201
        assert client.get("/v1/datasets").status_code == 200


def test_scopes_401_403_and_revocation(settings: Settings, sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    admin = create_key(sessions, "admin", ("admin",), now)
    reader = create_key(sessions, "reader", ("read",), now)
    feeder = create_key(sessions, "feeder", ("ingest",), now)
    with running_server(settings) as client:
        missing = client.get("/v1/datasets")
        assert_error(missing, 401, "unauthenticated")
        assert missing.headers["www-authenticate"] == "Bearer"
        assert_error(
            client.get("/v1/datasets", headers=bearer(admin + "x")), 401, "unauthenticated"
        )
        assert_error(
            client.get("/v1/datasets", headers={"Authorization": admin}), 401, "unauthenticated"
        )
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200, path

        created = client.post(
            "/v1/datasets", json={"name": "d", "schema": SCHEMA}, headers=bearer(admin)
        )
        assert created.status_code == 201
        denied = client.post("/v1/datasets", json={"name": "e"}, headers=bearer(reader))
        assert_error(denied, 403, "forbidden")
        assert denied.json()["error"]["details"] == [
            {"required_scope": "admin", "key_scopes": ["read"]}
        ]
        assert "www-authenticate" not in denied.headers

        rows = records(frame(50, 1))
        assert (
            client.put("/v1/datasets/d/reference", json=rows, headers=bearer(feeder)).status_code
            == 201
        )
        batch = client.post("/v1/datasets/d/batches?batch_id=b1", json=rows, headers=bearer(feeder))
        assert batch.status_code == 201
        assert_error(client.get("/v1/datasets/d", headers=bearer(feeder)), 403, "forbidden")
        assert_error(client.delete("/v1/datasets/d", headers=bearer(feeder)), 403, "forbidden")
        assert_error(
            client.put("/v1/datasets/d/reference", json=rows, headers=bearer(reader)),
            403,
            "forbidden",
        )
        assert client.get("/v1/datasets/d/batches", headers=bearer(reader)).status_code == 200
        assert client.get("/v1/datasets/d/batches", headers=bearer(admin)).status_code == 200

        revoke_key(sessions, "reader", utcnow())
        assert_error(client.get("/v1/datasets", headers=bearer(reader)), 401, "unauthenticated")
        assert client.get("/v1/datasets", headers=bearer(admin)).status_code == 200


def test_metrics_can_require_the_read_scope(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    reader = create_key(sessions, "reader", ("read",), utcnow())
    feeder = create_key(sessions, "feeder", ("ingest",), utcnow())
    with running_server(settings.model_copy(update={"metrics_auth": True})) as client:
        assert_error(client.get("/metrics"), 401, "unauthenticated")
        assert_error(client.get("/metrics", headers=bearer(feeder)), 403, "forbidden")
        scrape = client.get("/metrics", headers=bearer(reader))
        assert scrape.status_code == 200 and "dqm_build_info" in scrape.text
        assert client.get("/healthz").status_code == 200


# The API contract of DESIGN.md §4, route by route: an independent statement of the policy.
EXPECTED = {
    ("POST", "/v1/datasets/{name}/batches"): "ingest",
    ("POST", "/v1/datasets/{name}/labels"): "ingest",
    ("PUT", "/v1/datasets/{name}/reference"): "ingest",
    ("POST", "/v1/datasets"): "admin",
    ("DELETE", "/v1/datasets/{name}"): "admin",
    ("POST", "/v1/monitors"): "admin",
    ("PATCH", "/v1/monitors/{name}"): "admin",
    ("DELETE", "/v1/monitors/{name}"): "admin",
    ("POST", "/v1/monitors/{name}/run"): "admin",
    ("POST", "/v1/hooks"): "admin",
    ("DELETE", "/v1/hooks/{name}"): "admin",
    ("POST", "/v1/deliveries/{delivery_id}/redeliver"): "admin",
    ("POST", "/v1/retrain-requests/{request_id}/acknowledge"): "ingest",
    ("GET", "/v1/keys"): "admin",
    ("POST", "/v1/keys"): "admin",
    ("DELETE", "/v1/keys/{name}"): "admin",
}


def test_every_route_of_the_app_has_the_contract_scope(settings: Settings) -> None:
    paths = create_app(settings).openapi()["paths"]
    seen = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    for method, path in seen:
        needed = required_scope(method, path, metrics_auth=False)
        if path in ("/healthz", "/readyz", "/metrics"):
            assert needed is None
        else:
            default = "read" if method == "GET" else "admin"
            assert needed == EXPECTED.get((method, path), default), (method, path)
    assert set(EXPECTED) <= seen
    assert required_scope("GET", "/metrics", metrics_auth=True) == "read"


def test_keys_are_stored_as_sha256_only(sessions: sessionmaker[Session]) -> None:
    token = create_key(sessions, "k", ("read", "ingest"), utcnow())
    with sessions() as session:
        row = session.scalars(select(ApiKey)).one()
        assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
        stored = [row.name, row.prefix, row.key_hash, row.scopes]
        assert not any(token in value or token[13:] in value for value in stored)
        assert authenticate(session, token) == ("ingest", "read")
        assert authenticate(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert len(token) >= 4 + 8 + 1 + 43  # 256 random bits in base64url


def test_bootstrap_key_is_ensured_once_and_never_resurrected(
    sessions: sessionmaker[Session],
) -> None:
    token = "dqm_admin_key_for_ci_only"
    assert ensure_bootstrap_key(sessions, token, utcnow())
    assert not ensure_bootstrap_key(sessions, token, utcnow())
    [key] = list_keys(sessions)
    assert key.scopes == ("admin",) and key.prefix.startswith("sha256:")
    assert "admin_key" not in key.name
    revoke_key(sessions, key.name, utcnow())
    assert not ensure_bootstrap_key(sessions, token, utcnow())
    with sessions() as session:
        assert authenticate(session, token) is None


def test_doctests_pass() -> None:
    import doctest

    from dqm.service import auth

    result = doctest.testmod(auth)
    assert result.attempted >= 7 and result.failed == 0


def test_keys_over_http_and_the_first_key_closes_the_open_mode(settings: Settings) -> None:
    with running_server(settings) as client:
        first = client.post("/v1/keys", json={"name": "ops", "scopes": ["admin"]})
        assert first.status_code == 201, first.text
        admin = first.json()["key"]
        assert first.json()["prefix"] == admin[:12] and first.json()["revoked_at"] is None
        assert_error(client.get("/v1/datasets"), 401, "unauthenticated")

        made = client.post(
            "/v1/keys", json={"name": "grafana", "scopes": ["read"]}, headers=bearer(admin)
        )
        reader = made.json()["key"]
        assert made.json()["scopes"] == ["read"]
        assert client.get("/v1/datasets", headers=bearer(reader)).status_code == 200
        assert_error(client.get("/v1/keys", headers=bearer(reader)), 403, "forbidden")
        listed = client.get("/v1/keys", headers=bearer(admin)).json()["items"]
        assert [k["name"] for k in listed] == ["grafana", "ops"]
        assert all("key" not in k for k in listed)

        again = client.post(
            "/v1/keys", json={"name": "ops", "scopes": ["read"]}, headers=bearer(admin)
        )
        assert_error(again, 409, "conflict")
        bad = client.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=bearer(admin))
        assert_error(bad, 422, "invalid_request")
        assert client.delete("/v1/keys/grafana", headers=bearer(admin)).status_code == 204
        assert_error(client.get("/v1/datasets", headers=bearer(reader)), 401, "unauthenticated")
        assert_error(client.delete("/v1/keys/nope", headers=bearer(admin)), 404, "not_found")
