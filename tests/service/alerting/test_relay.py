"""Webhook delivery against a real receiver: retries keep the webhook-id, 410 disables,
a crash between send and record re-sends the same id, every attempt is logged."""

from __future__ import annotations

from sqlalchemy import select

import dqm.service.alerting.relay as relay
from dqm.alerts.signing import generate_secret
from dqm.service.clock import utcnow
from dqm.service.db.models import Delivery, DeliveryAttempt, Hook
from dqm.service.settings import Settings
from tests.service.helpers import add_delivery, add_hook, expire_leases, make_context, make_due
from tests.support.receiver import running_receiver


def test_receiver_down_for_three_attempts_gets_it_on_the_fourth_with_the_same_id(
    settings: Settings,
) -> None:
    ctx = make_context(settings, "w1")
    secret = generate_secret()
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        receiver.secrets.append(secret)
        receiver.script = [503, 500, 302]
        delivery_id = add_delivery(ctx, add_hook(ctx, receiver.url, secret))
        for attempt in range(4):
            assert relay.relay_once(ctx, client) == 1, f"attempt {attempt + 1} was not due"
            assert relay.relay_once(ctx, client) == 0  # backoff: not due again at once
            make_due(ctx, delivery_id)
        ids = {r.webhook_id for r in receiver.received}
        assert [r.status for r in receiver.received] == [503, 500, 302, 204]
        assert len(ids) == 1 and all(r.verified for r in receiver.received)
        with ctx.sessions() as session:
            delivery = session.get_one(Delivery, delivery_id)
            assert delivery.status == "delivered" and delivery.webhook_id in ids
            log = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
            assert [(a.status_code, a.outcome) for a in log] == [
                (503, "failure"),
                (500, "failure"),
                (302, "failure"),
                (204, "success"),
            ]
            assert all(a.latency_ms is not None and a.latency_ms >= 0 for a in log)


def test_backoff_follows_the_schedule(settings: Settings) -> None:
    ctx = make_context(settings, "w1")
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        receiver.default = 500
        delivery_id = add_delivery(ctx, add_hook(ctx, receiver.url, generate_secret()))
        relay.relay_once(ctx, client)
        with ctx.sessions() as session:
            wait = (
                session.get_one(Delivery, delivery_id).next_attempt_at - utcnow()
            ).total_seconds()
        assert 5 * 0.9 - 1 <= wait <= 5 * 1.1  # 5 s ± 10% jitter after the first failure
        make_due(ctx, delivery_id)
        relay.relay_once(ctx, client)
        with ctx.sessions() as session:
            wait = (
                session.get_one(Delivery, delivery_id).next_attempt_at - utcnow()
            ).total_seconds()
        assert 300 * 0.9 - 1 <= wait <= 300 * 1.1


def test_dead_after_the_last_attempt(settings: Settings) -> None:
    ctx = make_context(settings, "w1")
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        receiver.default = 500
        delivery_id = add_delivery(ctx, add_hook(ctx, receiver.url, generate_secret()))
        for _ in range(8):
            make_due(ctx, delivery_id)
            assert relay.relay_once(ctx, client) == 1
        make_due(ctx, delivery_id)
        assert relay.relay_once(ctx, client) == 0
        with ctx.sessions() as session:
            assert session.get_one(Delivery, delivery_id).status == "dead"
        assert len(receiver.received) == 8


def test_410_disables_the_hook(settings: Settings) -> None:
    ctx = make_context(settings, "w1")
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        receiver.default = 410
        hook_id = add_hook(ctx, receiver.url, generate_secret())
        first, second = add_delivery(ctx, hook_id), add_delivery(ctx, hook_id)
        relay.relay_once(ctx, client)
        with ctx.sessions() as session:
            hook = session.get_one(Hook, hook_id)
            assert not hook.enabled and "410" in (hook.disabled_reason or "")
            states = {d.id: d.status for d in session.scalars(select(Delivery))}
        assert states == {first: "dead", second: "dead"}
        assert len(receiver.received) == 1  # nothing more is sent to a disabled hook


def test_crash_between_send_and_record_resends_the_same_id(settings: Settings) -> None:
    crashed = make_context(settings, "dies")
    survivor = make_context(settings, "lives")
    secret = generate_secret()
    with running_receiver() as receiver, relay.make_client(survivor) as client:
        receiver.secrets.append(secret)
        delivery_id = add_delivery(crashed, add_hook(crashed, receiver.url, secret))
        [claimed] = relay.claim(crashed, utcnow(), limit=1)
        with crashed.sessions() as session:
            delivery = session.get_one(Delivery, delivery_id)
            hook = session.get_one(Hook, delivery.hook_id)
        relay.send(client, hook, delivery, utcnow())  # sent ... and the process dies here
        assert relay.relay_once(survivor, client) == 0  # the lease still holds
        expire_leases(survivor)
        assert relay.relay_once(survivor, client) == 1
        first, second = receiver.received
        assert first.webhook_id == second.webhook_id and first.verified and second.verified
        deduped = {r.webhook_id: r.event for r in receiver.received}
        assert len(deduped) == 1
        with survivor.sessions() as session:
            assert session.get_one(Delivery, claimed).status == "delivered"


def test_manual_redelivery_keeps_the_webhook_id(settings: Settings) -> None:
    ctx = make_context(settings, "w1")
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        delivery_id = add_delivery(ctx, add_hook(ctx, receiver.url, generate_secret()))
        relay.relay_once(ctx, client)
        relay.redeliver(ctx, delivery_id)
        relay.relay_once(ctx, client)
        assert len(receiver.received) == 2
        assert receiver.received[0].webhook_id == receiver.received[1].webhook_id


def test_allowlist_blocks_targets_outside_it(settings: Settings) -> None:
    ctx = make_context(settings.model_copy(update={"webhook_allowlist": "10.0.0.0/8"}), "w1")
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        delivery_id = add_delivery(ctx, add_hook(ctx, receiver.url, generate_secret()))
        relay.relay_once(ctx, client)
        assert receiver.received == []
        with ctx.sessions() as session:
            delivery = session.get_one(Delivery, delivery_id)
            assert delivery.status == "dead" and "ALLOWLIST" in (delivery.last_error or "")


def test_a_hook_failing_for_days_is_disabled(settings: Settings) -> None:
    from datetime import timedelta

    from dqm.service.db.session import transaction

    ctx = make_context(settings, "w1")
    with running_receiver() as receiver, relay.make_client(ctx) as client:
        receiver.default = 503
        hook_id = add_hook(ctx, receiver.url, generate_secret())
        add_delivery(ctx, hook_id)
        relay.relay_once(ctx, client)
        with ctx.sessions() as session:
            assert session.get_one(Hook, hook_id).enabled  # one failure is not days of them
        with transaction(ctx.sessions) as session:
            session.get_one(Hook, hook_id).created_at = utcnow() - timedelta(days=6)
        delivery_id = add_delivery(ctx, hook_id)
        make_due(ctx, delivery_id)
        relay.relay_once(ctx, client)
        with ctx.sessions() as session:
            hook = session.get_one(Hook, hook_id)
            assert not hook.enabled and "no successful delivery since" in (
                hook.disabled_reason or ""
            )
