"""A hook's secret can be chosen by the caller (``secret`` on POST, ``PATCH /v1/hooks/{name}``)
and is never read back: ``secret_fingerprint`` tells whether a copy is the current one."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import standardwebhooks
from sqlalchemy import select

import dqm.service.alerting.relay as relay
from dqm.service.db.models import Hook
from dqm.service.settings import Settings
from tests.service.helpers import add_delivery, make_context
from tests.support.receiver import Received, running_receiver
from tests.support.server import running_server


def _secret(n: int = 32) -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(n)).decode()


def _fingerprint(secret: str) -> str:
    # Oracle: SHA-256 of the base64-decoded key, first 12 hex digits.
    return hashlib.sha256(base64.b64decode(secret.removeprefix("whsec_"))).hexdigest()[:12]


HOOK = {"name": "ops", "url": "https://hooks.example.com/dqm", "events": ["alert.firing"]}


def test_a_chosen_secret_is_validated_stored_and_fingerprinted(settings: Settings) -> None:
    with running_server(settings) as client:
        for bad in ("not-a-secret", "whsec_" + base64.b64encode(b"x" * 23).decode(), "whsec_!!"):
            answer = client.post("/v1/hooks", json={**HOOK, "secret": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.json()["error"]["details"][0]["field"].endswith("secret"), answer.text
        assert client.get("/v1/hooks").json()["items"] == []

        chosen = _secret(24)
        created = client.post("/v1/hooks", json={**HOOK, "secret": chosen})
        assert created.status_code == 201, created.text
        assert created.json()["secret"] is None  # the caller has it; never echoed
        assert created.json()["secret_fingerprint"] == _fingerprint(chosen)
        listed = client.get("/v1/hooks").json()["items"][0]
        assert listed["secret_fingerprint"] == _fingerprint(chosen)
        assert "secret" not in listed or listed["secret"] is None

        generated = client.post("/v1/hooks", json={**HOOK, "name": "gen"}).json()
        assert generated["secret"].startswith("whsec_")
        assert generated["secret_fingerprint"] == _fingerprint(generated["secret"])


def test_patch_changes_url_events_and_secret_and_validates(settings: Settings) -> None:
    first = _secret()
    with running_server(settings) as client:
        assert client.post("/v1/hooks", json={**HOOK, "secret": first}).status_code == 201
        bad: dict[str, Any]
        for bad in (
            {"events": []},
            {"events": ["alert.exploded"]},
            {"url": "ftp://hooks.example.com/x"},
            {"secret": "whsec_c2hvcnQ="},
            {"colour": "red"},
        ):
            answer = client.patch("/v1/hooks/ops", json=bad)
            assert answer.status_code == 422, (bad, answer.text)
            assert set(answer.json()["error"]) == {"code", "message", "details"}
        assert client.patch("/v1/hooks/nope", json={"url": HOOK["url"]}).status_code == 404
        unchanged = client.get("/v1/hooks/ops").json()
        assert (unchanged["url"], unchanged["events"]) == (HOOK["url"], ["alert.firing"])
        assert unchanged["secret_fingerprint"] == _fingerprint(first)

        body = {"url": "https://other.example.com/x", "events": ["alert.resolved", "alert.firing"]}
        patched = client.patch("/v1/hooks/ops", json=body)
        assert patched.status_code == 200, patched.text
        got = patched.json()
        assert got["url"] == "https://other.example.com/x"
        assert got["events"] == ["alert.firing", "alert.resolved"]
        assert got["secret_fingerprint"] == _fingerprint(first)  # no secret given: kept

        second = _secret()
        rotated = client.patch("/v1/hooks/ops", json={"secret": second}).json()
        assert rotated["secret"] is None
        assert rotated["secret_fingerprint"] == _fingerprint(second) != _fingerprint(first)
        again = client.patch("/v1/hooks/ops", json={"secret": second}).json()
        assert again["secret_fingerprint"] == _fingerprint(second)

        by_server = client.post("/v1/hooks/ops/rotate-secret").json()
        assert by_server["secret_fingerprint"] == _fingerprint(by_server["secret"])
        assert by_server["secret_fingerprint"] != _fingerprint(second)


def _signs(secret: str, received: Received) -> bool:
    # Oracle: the standardwebhooks reference library, not dqm's own verify().
    try:
        standardwebhooks.Webhook(secret).verify(received.body, received.headers)
    except standardwebhooks.WebhookVerificationError:
        return False
    return True


def test_deliveries_are_signed_with_the_chosen_and_patched_secrets(settings: Settings) -> None:
    first, second, third = _secret(), _secret(), _secret()
    with running_receiver() as receiver:
        with running_server(settings) as client:
            body = {**HOOK, "url": receiver.url, "secret": first}
            assert client.post("/v1/hooks", json=body).status_code == 201
        ctx = make_context(settings, "w1")
        with ctx.sessions() as session:
            hook_id = session.scalars(select(Hook.id).where(Hook.name == "ops")).one()

        def deliver() -> Received:
            add_delivery(ctx, hook_id)
            with relay.make_client(ctx) as http:
                assert relay.relay_once(ctx, http) == 1
            return receiver.received[-1]

        got = deliver()
        assert _signs(first, got) and not _signs(second, got)
        with running_server(settings) as client:
            assert client.patch("/v1/hooks/ops", json={"secret": second}).status_code == 200
        got = deliver()  # the new secret signs, the previous one still does (a rotation)
        assert _signs(second, got) and _signs(first, got) and not _signs(third, got)
        with running_server(settings) as client:
            assert client.patch("/v1/hooks/ops", json={"secret": third}).status_code == 200
        got = deliver()
        assert _signs(third, got) and _signs(second, got) and not _signs(first, got)
