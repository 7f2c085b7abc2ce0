"""Webhooks: signatures a receiver can verify, retries with backoff against a real local receiver, each attempt in
its delivery's row (the settings page's view), none in the audit log."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from sqlmodel import select

from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.backoff import RetryPolicy
from fleet_dashboard.integrations import webhooks
from fleet_dashboard.integrations.delivery import Dispatcher, Target, deliver
from fleet_dashboard.integrations.models import WebhookDelivery
from tests.support.live import SIMULATOR
from tests.support.receiver import webhook_receiver

pytestmark = pytest.mark.anyio

SECRET = "whsec_test_secret_0123456789"
FAST = RetryPolicy(max_attempts=4, base_seconds=0.2, max_seconds=2.0, timeout_seconds=5.0)


def event(org, status="delivered"):
    return {"type": "message.status", "org_id": str(org.id), "message_id": "m-1",
            "whatsapp_message_id": "wa-1", "status": status, "error": None}


def hook(db, org, url: str) -> Target:
    """A webhook of the organisation, saved as the settings page saves it, as delivery targets it."""
    row, _ = webhooks.set_webhook(session=db, org_id=org.id, url=url, secret=SECRET, actor=SYSTEM)
    db.commit()
    return Target(id=row.id, org_id=org.id, url=url, secret=SECRET)


def attempts(db, org):
    """Every attempt made for the organisation's deliveries, from their rows' logs; the audit log has none."""
    db.expire_all()
    flooded = db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org.id,
                                                     WhatsAppAuditLog.event_type == "webhook_delivery")).all()
    assert flooded == [], "webhook attempts belong to their deliveries, not to the audit log"
    rows = db.exec(select(WebhookDelivery).where(WebhookDelivery.org_id == org.id)).all()
    return sorted((entry for row in rows for entry in row.log), key=lambda d: d["attempt"])


def test_signature_round_trip_and_tampering():
    body = b'{"id":"1","type":"message.status"}'
    header = webhooks.sign(SECRET, body)
    assert header.startswith("t=") and ",v1=" in header
    assert webhooks.verify_signature(SECRET, header, body)
    assert not webhooks.verify_signature(SECRET, header, body + b" ")
    assert not webhooks.verify_signature("whsec_other_secret_0000000", header, body)
    assert not webhooks.verify_signature(SECRET, "garbage", body)
    old = webhooks.sign(SECRET, body, timestamp=int(time.time()) - 3600)
    assert not webhooks.verify_signature(SECRET, old, body), "a replayed old signature must fail"


def test_documented_scheme_matches_a_hand_computed_hmac():
    import hashlib
    import hmac

    body = b'{"x":1}'
    ts = 1_700_000_000
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign(SECRET, body, timestamp=ts) == f"t={ts},v1={expected}"


async def test_retries_with_backoff_until_delivered_and_audits_each_attempt(api_env, db, make_org):
    org = make_org()
    with webhook_receiver([(500, {}), (503, {}), (200, {})]) as rx:
        target = hook(db, org, rx.url)
        async with httpx.AsyncClient() as client:
            ok = await deliver(client=client, target=target, event=event(org), policy=FAST)
        calls = rx.wait_for(3)
    assert ok and len(calls) == 3
    for call in calls:
        assert webhooks.verify_signature(SECRET, call.headers["x-fleet-signature"], call.body)
        assert call.headers["x-fleet-event"] == "message.status"
        payload = call.json()
        assert payload["type"] == "message.status" and payload["org_id"] == str(org.id)
        assert payload["data"]["status"] == "delivered" and payload["data"]["whatsapp_message_id"] == "wa-1"
    # One delivery id across retries, so the receiver can drop duplicates.
    assert len({c.headers["x-fleet-delivery"] for c in calls}) == 1
    gap1, gap2 = calls[1].at - calls[0].at, calls[2].at - calls[1].at
    assert 0.1 <= gap1 < 1.0, gap1  # 0.2 s * jitter 0.5-1.0
    assert 0.2 <= gap2 < 1.5, gap2  # 0.4 s * jitter 0.5-1.0
    audited = attempts(db, org)
    assert [a["outcome"] for a in audited] == ["retrying", "retrying", "delivered"]
    assert [a["status_code"] for a in audited] == [500, 503, 200]


async def test_a_4xx_other_than_429_is_not_retried(api_env, db, make_org):
    org = make_org()
    with webhook_receiver([(410, {})]) as rx:
        target = hook(db, org, rx.url)
        async with httpx.AsyncClient() as client:
            ok = await deliver(client=client, target=target, event=event(org), policy=FAST)
        assert not ok and len(rx.requests) == 1
    assert [a["outcome"] for a in attempts(db, org)] == ["failed"]


async def test_429_is_retried_after_retry_after(api_env, db, make_org):
    org = make_org()
    with webhook_receiver([(429, {"Retry-After": "1"}), (200, {})]) as rx:
        target = hook(db, org, rx.url)
        async with httpx.AsyncClient() as client:
            assert await deliver(client=client, target=target, event=event(org), policy=FAST)
        calls = rx.wait_for(2)
    assert calls[1].at - calls[0].at >= 0.95
    assert [a["next_retry_seconds"] for a in attempts(db, org)] == [1.0, None]


async def test_gives_up_after_max_attempts_on_an_unreachable_url(api_env, db, make_org):
    org = make_org()
    # A port nothing listens on: connection refused at once.
    target = hook(db, org, "http://127.0.0.1:9/hook")
    policy = RetryPolicy(max_attempts=3, base_seconds=0.01, max_seconds=0.05)
    async with httpx.AsyncClient() as client:
        assert not await deliver(client=client, target=target, event=event(org), policy=policy)
    audited = attempts(db, org)
    assert [a["outcome"] for a in audited] == ["retrying", "retrying", "failed"]
    assert all(a["error"] and "Connect" in a["error"] for a in audited)


async def test_dispatcher_delivers_subscribed_bus_events_only(api_env, db, make_org):
    from fleet_dashboard.core.events import get_bus

    org, quiet = make_org(), make_org("Quiet Fleet")
    with webhook_receiver() as rx:
        webhooks.set_webhook(session=db, org_id=org.id, url=rx.url, secret=SECRET, actor=SYSTEM)
        webhooks.set_webhook(session=db, org_id=quiet.id, url=rx.url, secret=SECRET,
                             events=["session.status"], actor=SYSTEM)
        db.commit()
        ready = asyncio.Event()
        task = asyncio.create_task(Dispatcher(policy=FAST).run(ready))
        await asyncio.wait_for(ready.wait(), 5)
        bus = get_bus()
        await bus.publish(event(org, status="queued"))  # internal step: not sent out
        await bus.publish(event(quiet))  # quiet org did not subscribe to message.status
        await bus.publish({"type": "message.inbound", "org_id": str(org.id), "from": "+201001234567",
                           "text": "STOP", "whatsapp_message_id": "in-1"})
        await bus.publish(event(org, status="read"))
        calls = await asyncio.to_thread(rx.wait_for, 2)
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    payloads = [json.loads(c.body) for c in rx.requests]
    assert [(p["type"], p["org_id"]) for p in payloads] == [("message.inbound", str(org.id)),
                                                           ("message.status", str(org.id))]
    assert payloads[1]["data"]["status"] == "read"
    assert all(webhooks.verify_signature(SECRET, c.headers["x-fleet-signature"], c.body) for c in calls)


def test_webhook_config_rules(db, make_org):
    from fleet_dashboard.core.errors import ValidationError

    org = make_org()
    row, generated = webhooks.set_webhook(session=db, org_id=org.id, url="https://example.com/hook", actor=SYSTEM)
    assert generated and generated.startswith("whsec_") and row.secret == generated
    assert row.events == list(webhooks.EVENTS)
    again, generated2 = webhooks.set_webhook(session=db, org_id=org.id, url="https://example.com/hook",
                                             events=["session.status"], actor=SYSTEM)
    assert again.id == row.id and generated2 is None and again.secret == generated
    for bad in ("ftp://x/y", "not a url", "https://"):
        with pytest.raises(ValidationError):
            webhooks.set_webhook(session=db, org_id=org.id, url=bad, actor=SYSTEM)
    with pytest.raises(ValidationError):
        webhooks.set_webhook(session=db, org_id=org.id, url="https://e.com", events=["message.bogus"], actor=SYSTEM)
    with pytest.raises(ValidationError):
        webhooks.set_webhook(session=db, org_id=org.id, url="https://e.com", secret="short", actor=SYSTEM)


async def test_live_events_reach_the_webhook_signed_and_only_one_process_delivers(live, db, make_org, make_key):
    """Connect, send, receipt and an inbound STOP, end to end; a second dispatcher stays idle (leader lock)."""
    from fleet_dashboard.integrations.delivery import run_dispatcher_forever
    from tests.support.api import headers

    org = make_org()
    key = make_key(org)
    with webhook_receiver() as rx:
        webhooks.set_webhook(session=db, org_id=org.id, url=rx.url, secret=SECRET, actor=SYSTEM)
        db.commit()
        ready, standby_ready = asyncio.Event(), asyncio.Event()
        leader = asyncio.create_task(run_dispatcher_forever(poll_seconds=0.2, policy=FAST, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        standby = asyncio.create_task(run_dispatcher_forever(poll_seconds=0.2, policy=FAST, ready=standby_ready))
        try:
            await live.client.post("/api/sessions/init", headers=headers(key, org.id), json={})
            await live.scan(org.id, phone="+201001112223")
            r = await live.client.post("/api/messages/send", headers=headers(key, org.id),
                                       json={"recipient": "+201001234567", "message": "مرحبا"})
            wamid = r.json()["whatsapp_message_id"]
            await live.client.post(f"/api/simulator/{org.id}/inbound", json={"from": "+201001234567", "text": "STOP"},
                                   headers=SIMULATOR)

            def seen(kind, **match):
                return [c.json() for c in rx.requests if c.json()["type"] == kind
                        and all(c.json()["data"].get(k) == v for k, v in match.items())]

            await live.until(lambda: seen("message.status", status="delivered"), what="delivered webhook")
            await live.until(lambda: seen("message.inbound"), what="inbound webhook")
            await live.until(lambda: seen("session.status", status="connected"), what="session webhook")
            assert not standby_ready.is_set(), "the standby process must not deliver while the leader lives"
        finally:
            for task in (leader, standby):
                task.cancel()
            await asyncio.gather(leader, standby, return_exceptions=True)
        calls = list(rx.requests)
    assert all(webhooks.verify_signature(SECRET, c.headers["x-fleet-signature"], c.body) for c in calls)
    sent = seen("message.status", status="sent")
    assert len(sent) == 1 and sent[0]["data"]["whatsapp_message_id"] == wamid
    assert seen("message.inbound")[0]["data"]["text"] == "STOP"
    deliveries = [c.headers["x-fleet-delivery"] for c in calls]
    assert len(deliveries) == len(set(deliveries)), "each event delivered once"


async def test_internal_addresses_are_refused_unless_allowed(api_env, db, make_org):
    """An owner cannot point a webhook at the server's own network: refused on save and again on delivery."""
    from fleet_dashboard.core.errors import ValidationError
    from fleet_dashboard.core.settings import get_settings

    api_env.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false")
    get_settings.cache_clear()
    org = make_org()
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://169.254.169.254/latest/meta-data",
                "http://10.1.2.3/x", "http://[::1]/x", "http://[::ffff:192.168.0.1]/x"):
        with pytest.raises(ValidationError) as refused:
            webhooks.set_webhook(session=db, org_id=org.id, url=url, actor=SYSTEM)
        assert refused.value.code == "webhook_private"
    assert webhooks.validate_url("https://93.184.215.14/hooks") == "https://93.184.215.14/hooks"

    with webhook_receiver() as rx:
        # Saved while allowed, then delivery time judges it again: nothing reaches the receiver.
        api_env.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        get_settings.cache_clear()
        target = hook(db, org, rx.url)
        api_env.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false")
        get_settings.cache_clear()
        async with httpx.AsyncClient() as client:
            assert not await deliver(client=client, target=target, event=event(org), policy=FAST)
        assert rx.requests == []
    audited = attempts(db, org)
    assert [a["outcome"] for a in audited] == ["failed"] and "private" in audited[0]["error"]


async def test_a_retry_owed_at_shutdown_is_delivered_after_a_restart(api_env, db, make_org):
    """The process stops while a delivery waits for its retry; the next process delivers it, once, same id."""
    from sqlalchemy import text

    from fleet_dashboard.core.events import get_bus

    org = make_org()
    slow = RetryPolicy(max_attempts=3, base_seconds=600, max_seconds=600, timeout_seconds=5.0)
    with webhook_receiver(script=[(503, {})]) as rx:
        webhooks.set_webhook(session=db, org_id=org.id, url=rx.url, secret=SECRET, actor=SYSTEM)
        db.commit()
        ready = asyncio.Event()
        first = asyncio.create_task(Dispatcher(policy=slow).run(ready))
        await asyncio.wait_for(ready.wait(), 5)
        await get_bus().publish(event(org, status="read"))
        await asyncio.to_thread(rx.wait_for, 1)
        await asyncio.sleep(0.3)  # the failed attempt is recorded; a retry is 5-10 minutes away
        first.cancel()  # the process stops
        await asyncio.gather(first, return_exceptions=True)
        db.expire_all()
        owed = db.exec(select(WebhookDelivery).where(WebhookDelivery.org_id == org.id)).one()
        assert (owed.status, owed.attempts, owed.last_error) == ("pending", 1, "HTTP 503")

        # Time passes: the retry falls due while no process is running; a new one starts.
        db.execute(text("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = :id"), {"id": owed.id})
        db.commit()
        second = asyncio.create_task(Dispatcher(policy=slow, resume_seconds=0.1).run())
        calls = await asyncio.to_thread(rx.wait_for, 2)
        await asyncio.sleep(0.5)
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
    assert len(rx.requests) == 2
    assert calls[0].headers["x-fleet-delivery"] == calls[1].headers["x-fleet-delivery"] == str(owed.id)
    assert json.loads(calls[1].body)["data"]["status"] == "read"
    db.expire_all()
    settled = db.exec(select(WebhookDelivery).where(WebhookDelivery.org_id == org.id)).one()
    assert (settled.status, settled.attempts, settled.last_status_code) == ("delivered", 2, 200)
    assert settled.settled_at is not None and settled.last_error is None
    assert [(a["attempt"], a["outcome"]) for a in attempts(db, org)] == [(1, "retrying"), (2, "delivered")]


async def test_the_dispatcher_retries_through_the_stored_row_without_holding_a_slot(api_env, db, make_org):
    """One slot only: a receiver that failed does not block another organisation's delivery meanwhile."""
    from fleet_dashboard.core.events import get_bus

    failing, other = make_org(), make_org("Other Fleet")
    policy = RetryPolicy(max_attempts=3, base_seconds=1.0, max_seconds=1.0, timeout_seconds=5.0)
    with webhook_receiver(script=[(503, {})]) as rx:
        for org in (failing, other):
            webhooks.set_webhook(session=db, org_id=org.id, url=rx.url, secret=SECRET, actor=SYSTEM)
        db.commit()
        ready = asyncio.Event()
        task = asyncio.create_task(Dispatcher(policy=policy, concurrency=1, resume_seconds=0.1).run(ready))
        await asyncio.wait_for(ready.wait(), 5)
        await get_bus().publish(event(failing, status="sent"))
        await asyncio.to_thread(rx.wait_for, 1)
        await get_bus().publish(event(other, status="read"))
        calls = await asyncio.to_thread(rx.wait_for, 3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    orgs = [json.loads(c.body)["org_id"] for c in calls]
    # The other organisation's event went out while the failed one waited its second.
    assert orgs == [str(failing.id), str(other.id), str(failing.id)]
    assert calls[0].headers["x-fleet-delivery"] == calls[2].headers["x-fleet-delivery"]
    assert calls[2].at - calls[0].at >= 0.5


async def test_a_ban_reaches_the_webhook_as_one_session_alert_and_one_all_clear(live, db, make_org, make_key):
    """The simulator bans the number: a subscriber hears `session.alert` open (kind paused, reason temporary_ban,
    the Arabic text) once, and `cleared` once when the ban ends (the alert sweeper closes the pause)."""
    from fleet_dashboard.deliverability import alerts
    from fleet_dashboard.integrations.delivery import run_dispatcher_forever
    from tests.support.api import headers

    org = make_org()
    key = make_key(org)
    with webhook_receiver() as rx:
        webhooks.set_webhook(session=db, org_id=org.id, url=rx.url, secret=SECRET, events=["session.alert"],
                             actor=SYSTEM)
        db.commit()
        ready = asyncio.Event()
        dispatcher = asyncio.create_task(run_dispatcher_forever(poll_seconds=0.2, policy=FAST, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        try:
            await live.client.post("/api/sessions/init", headers=headers(key, org.id), json={})
            await live.scan(org.id, phone="+201001112299")
            r = await live.client.post(f"/api/simulator/{org.id}/ban", json={"seconds": 2}, headers=SIMULATOR)
            assert r.status_code == 200, r.text

            def alerts_seen():
                return [c.json()["data"] for c in rx.requests if c.json()["type"] == "session.alert"]

            await live.until(lambda: alerts_seen(), what="the alert webhook")
            deadline = time.monotonic() + 20
            while not any(a["state"] == "cleared" for a in alerts_seen()):
                assert time.monotonic() < deadline, alerts_seen()
                await asyncio.to_thread(alerts.Sweeper().run_once)
                await asyncio.sleep(0.3)
            await asyncio.sleep(0.5)  # nothing more comes
        finally:
            dispatcher.cancel()
            await asyncio.gather(dispatcher, return_exceptions=True)
        calls = list(rx.requests)
    assert all(webhooks.verify_signature(SECRET, c.headers["x-fleet-signature"], c.body) for c in calls)
    assert {c.json()["type"] for c in calls} == {"session.alert"}  # subscribed to this event only
    opened, cleared = alerts_seen()
    assert (opened["state"], opened["kind"], opened["reason"]) == ("open", "paused", "temporary_ban")
    assert "حظر واتساب هذا الرقم مؤقتاً" in opened["text"]
    assert cleared["state"] == "cleared" and cleared["incident_id"] == opened["incident_id"]
