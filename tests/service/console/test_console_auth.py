"""Signing in to the console with an API key, over real HTTP: the session cookie's flags, its
end (expiry, sign-out, revoked key), safe redirects, CSRF tokens and scopes on the forms, and
no secret on any page."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.auth import create_key, revoke_key
from dqm.service.clock import utcnow
from dqm.service.console.web import COOKIE
from dqm.service.db.models import ConsoleSession
from dqm.service.db.session import make_engine, make_sessionmaker, transaction
from dqm.service.settings import Settings
from tests.service.console import scenario
from tests.service.console.html import csrf_token
from tests.support.receiver import running_receiver
from tests.support.server import running_server


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def sign_in(client: httpx.Client, key: str, next_path: str = "/") -> httpx.Response:
    response = client.post("/sign-in", data={"key": key, "next": next_path})
    client.cookies.clear()  # each test sends the cookie it means to send
    return response


def session_cookie(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    return cookie.split(";")[0].split("=", 1)[1]


def as_session(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


def test_without_keys_a_loopback_console_is_open(settings: Settings) -> None:
    with running_server(settings) as client:
        page = client.get("/")
        assert page.status_code == 200 and "Open console (no API key exists)" in page.text
        assert client.get("/alerts").status_code == 200


def test_sign_in_sets_an_http_only_strict_cookie_and_returns_to_a_local_page(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    settings = settings.model_copy(update={"console_session_seconds": 900})
    reader = create_key(sessions, "grafana", ("read",), utcnow())
    with running_server(settings) as client:
        away = client.get("/monitors/m", params={"metric": "a b"})
        assert away.status_code == 303
        target = urlsplit(away.headers["location"])
        assert target.path == "/sign-in"
        assert parse_qs(target.query) == {"next": ["/monitors/m?metric=a+b"]}
        assert client.get("/sign-in", params={"next": "/alerts"}).status_code == 200

        wrong = sign_in(client, reader + "x")
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
        assert "set-cookie" not in wrong.headers

        done = sign_in(client, reader, "/monitors/m?metric=a+b")
        assert done.headers["location"] == "/monitors/m?metric=a+b"
        flags = [f.strip().lower() for f in done.headers["set-cookie"].split(";")]
        assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
        assert "max-age=900" in flags  # DQM_CONSOLE_SESSION_SECONDS
        assert "secure" not in flags  # plain HTTP on loopback
        token = session_cookie(done)
        assert token != reader and reader not in done.headers["set-cookie"]
        with sessions() as db:
            stored = db.scalars(select(ConsoleSession)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert stored.expires_at - stored.created_at == timedelta(seconds=900)
        page = client.get("/", headers=as_session(token))
        assert page.status_code == 200 and "Signed in as <strong>grafana</strong>" in page.text

        tls = client.post("/sign-in", data={"key": reader}, headers={"X-Forwarded-Proto": "https"})
        client.cookies.clear()
        assert "secure" in [f.strip().lower() for f in tls.headers["set-cookie"].split(";")]
        for unsafe in ("//evil.example/x", "https://evil.example", "/\\evil.example", "x"):
            assert sign_in(client, reader, unsafe).headers["location"] == "/"
        # The cookie is the console's: the API still wants the key itself.
        assert client.get("/v1/monitors", headers=as_session(token)).status_code == 401


def test_a_session_ends_at_expiry_at_sign_out_and_with_its_key(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    reader = create_key(sessions, "grafana", ("read",), utcnow())
    create_key(sessions, "other", ("read",), utcnow())
    with running_server(settings) as client:
        expiring, leaving, revoked = (session_cookie(sign_in(client, reader)) for _ in range(3))
        for token in (expiring, leaving, revoked):
            assert client.get("/", headers=as_session(token)).status_code == 200

        with transaction(sessions) as db:  # time travel: the session's lifetime is over
            digest = hashlib.sha256(expiring.encode()).hexdigest()
            db.execute(
                update(ConsoleSession)
                .where(ConsoleSession.token_hash == digest)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert client.get("/", headers=as_session(expiring)).status_code == 303

        page = client.get("/", headers=as_session(leaving)).text
        refused = client.post("/sign-out", headers=as_session(leaving))
        assert refused.status_code == 403  # no CSRF token
        out = client.post(
            "/sign-out", data={"csrf_token": csrf_token(page)}, headers=as_session(leaving)
        )
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert 'dqm_session=""' in out.headers["set-cookie"] or "max-age=0" in (
            out.headers["set-cookie"].lower()
        )
        assert client.get("/", headers=as_session(leaving)).status_code == 303

        assert client.get("/", headers=as_session(revoked)).status_code == 200
        revoke_key(sessions, "grafana", utcnow())
        assert client.get("/", headers=as_session(revoked)).status_code == 303
        assert sign_in(client, reader).status_code == 401


def test_forms_need_their_csrf_token_and_scope_and_pages_show_no_secret(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    keys = {
        name: create_key(sessions, name, scopes, utcnow())
        for name, scopes in (
            ("reader", ("read",)),
            ("labeler", ("read", "ingest")),
            ("ops", ("admin",)),
            ("pipeline", ("ingest",)),
        )
    }
    api = {"Authorization": f"Bearer {keys['ops']}"}
    with running_receiver() as receiver, running_server(settings) as client:
        client.headers.update(api)
        built = scenario.build(client, receiver.url)
        receiver.secrets.append(built.hook_secret)
        first = receiver.wait_for(1, "alert.firing")[0]
        del client.headers["Authorization"]
        cookies = {name: session_cookie(sign_in(client, key)) for name, key in keys.items()}
        tokens = {
            name: csrf_token(client.get("/", headers=as_session(cookie)).text)
            for name, cookie in cookies.items()
            if name != "pipeline"
        }
        assert client.get("/", headers=as_session(cookies["pipeline"])).status_code == 403

        def queue() -> list[str]:
            answer = client.get("/v1/datasets/pets/relabel-queue", headers=api)
            return [i["row_id"] for i in scenario.items(answer)]

        before = queue()
        row = before[0]
        label = "/relabel/pets/labels"
        labeler = as_session(cookies["labeler"])
        form = {"row_id": row, "label": "cat"}
        for sent, headers in (
            (form, labeler),  # no token
            ({**form, "csrf_token": "forged"}, labeler),
            ({**form, "csrf_token": tokens["reader"]}, labeler),  # another session's token
            (
                {**form, "csrf_token": tokens["labeler"]},
                {**labeler, "Origin": "http://evil.example"},
            ),
            ({**form, "csrf_token": tokens["reader"]}, as_session(cookies["reader"])),  # scope
        ):
            refused = client.post(label, data=sent, headers=headers)
            assert refused.status_code == 403, refused.text
            assert "text/html" in refused.headers["content-type"]
        assert queue() == before

        reader_page = client.get("/relabel/pets", headers=as_session(cookies["reader"])).text
        assert 'action="/relabel/pets/labels"' not in reader_page
        proxied = {**labeler, "Origin": "https://dqm.example", "X-Forwarded-Host": "dqm.example"}
        done = client.post(label, data={**form, "csrf_token": tokens["labeler"]}, headers=proxied)
        assert done.status_code == 303
        assert parse_qs(urlsplit(done.headers["location"]).query)["labeled"] == [row]
        assert queue() == before[1:]  # the label went in through the labels API's function

        delivery = scenario.items(client.get("/v1/hooks/trainer/deliveries", headers=api))[-1]
        again = f"/deliveries/{delivery['id']}/redeliver"
        assert (
            client.post(
                again,
                data={"csrf_token": tokens["reader"]},
                headers=as_session(cookies["reader"]),
            ).status_code
            == 403
        )
        same_origin = {**as_session(cookies["ops"]), "Origin": str(client.base_url).rstrip("/")}
        queued = client.post(again, data={"csrf_token": tokens["ops"]}, headers=same_origin)
        assert queued.status_code == 303
        assert queued.headers["location"].startswith("/hooks/trainer?")
        deadline = time.monotonic() + 30
        while sum(r.webhook_id == delivery["webhook_id"] for r in receiver.delivered()) < 2:
            assert time.monotonic() < deadline, "the redelivery never arrived"
            time.sleep(0.05)

        secrets = [built.hook_secret, *keys.values(), *cookies.values()]
        for path in ("/", "/hooks", "/hooks/trainer", "/alerts", "/relabel/pets", "/retrain"):
            html = client.get(path, headers=as_session(cookies["ops"])).text
            assert not [s for s in secrets if s in html], path
        assert first.verified
