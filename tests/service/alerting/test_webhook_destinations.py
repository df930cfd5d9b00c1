"""Webhooks are no way into dqm's network: with DQM_WEBHOOK_ALLOWLIST unset, a literal internal
address is refused when the hook is created, and every delivery (whatever its hook says) is
checked where it connects. A real receiver on loopback proves nothing arrives."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import dqm.service.alerting.relay as relay
from dqm.alerts.signing import generate_secret
from dqm.service.db.models import Delivery, DeliveryAttempt, Hook
from dqm.service.settings import Settings
from tests.service.helpers import add_delivery, add_hook, make_context
from tests.support.receiver import running_receiver
from tests.support.server import running_server

# (URL with {port} of the loopback receiver, the reason the refusal names)
LITERAL_PROBES = [
    ("http://2130706433:{port}/hook", "127.0.0.1 is a loopback address"),
    ("http://0x7f000001:{port}/hook", "127.0.0.1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]:{port}/hook", "::ffff:7f00:1 is a loopback address"),
    ("http://0.0.0.0:{port}/hook", "0.0.0.0 is an unspecified address"),
    ("http://user@127.0.0.1:{port}/hook", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
]


def public_only(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowlist": None})


def _hook(name: str, url: str) -> dict[str, Any]:
    return {"name": name, "url": url, "events": ["alert.firing"]}


def test_literal_internal_hosts_are_refused_at_creation_naming_the_reason(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dqm.service.app")
    with running_receiver() as receiver, running_server(public_only(settings)) as client:
        assert "DQM_WEBHOOK_ALLOWLIST is unset: webhooks may reach public addresses only" in (
            caplog.text
        )
        port = receiver.url.split(":")[2].split("/")[0]
        for i, (url, reason) in enumerate(LITERAL_PROBES):
            answer = client.post("/v1/hooks", json=_hook(f"h{i}", url.format(port=port)))
            assert answer.status_code == 422, (url, answer.text)
            assert reason in answer.json()["error"]["message"], answer.text
        assert client.get("/v1/hooks").json()["items"] == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [*LITERAL_PROBES, ("http://localhost:{port}/hook", "is a loopback address")],
)
def test_deliveries_to_internal_addresses_are_blocked_without_a_connection(
    settings: Settings, url: str, reason: str
) -> None:
    ctx = make_context(public_only(settings), "w1")
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        port = receiver.url.split(":")[2].split("/")[0]
        # Written straight to the database: a hook from before the policy, or a name.
        delivery_id = add_delivery(ctx, add_hook(ctx, url.format(port=port), generate_secret()))
        started = time.monotonic()
        assert relay.relay_once(ctx, client) == 1
        assert time.monotonic() - started < 2  # refused before any connect (or timeout)
        with ctx.sessions() as session:
            delivery = session.get_one(Delivery, delivery_id)
            [attempt] = session.scalars(select(DeliveryAttempt)).all()
        assert delivery.status == "dead" and reason in (delivery.last_error or "")
        assert attempt.outcome == "blocked" and reason in (attempt.error or "")
        assert receiver.received == []


def test_a_name_resolving_to_loopback_is_accepted_then_blocked_in_the_delivery_log(
    settings: Settings,
) -> None:
    with running_receiver() as receiver, running_server(public_only(settings)) as client:
        url = receiver.url.replace("127.0.0.1", "localhost")
        assert client.post("/v1/hooks", json=_hook("local", url)).status_code == 201
        ctx = make_context(settings, "test")
        with ctx.sessions() as session:
            hook_id = session.scalars(select(Hook.id).where(Hook.name == "local")).one()
        add_delivery(ctx, hook_id)  # an event for it, as the alert loop would queue
        log = _wait_for_attempt(client, "local")
        assert log["status"] == "dead" and log["attempt_log"][0]["outcome"] == "blocked"
        assert "is a loopback address" in log["attempt_log"][0]["error"]
        assert receiver.received == []


def _wait_for_attempt(client: httpx.Client, hook: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        deliveries = client.get(f"/v1/hooks/{hook}/deliveries").json()["items"]
        if deliveries and deliveries[0]["attempt_log"]:
            found: dict[str, Any] = deliveries[0]
            return found
        time.sleep(0.1)
    raise AssertionError(f"no delivery attempt for hook {hook!r} within 20 s")


def test_an_allowlisted_loopback_receiver_still_gets_its_delivery(settings: Settings) -> None:
    allowed = settings.model_copy(update={"webhook_allowlist": "127.0.0.0/8, ::1"})
    ctx = make_context(allowed, "w1")
    secret = generate_secret()
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        receiver.secrets.append(secret)
        url = receiver.url.replace("127.0.0.1", "localhost")  # may resolve to ::1 first
        delivery_id = add_delivery(ctx, add_hook(ctx, url, secret))
        assert relay.relay_once(ctx, client) == 1
        [got] = receiver.received
        assert got.verified
        with ctx.sessions() as session:
            assert session.get_one(Delivery, delivery_id).status == "delivered"
