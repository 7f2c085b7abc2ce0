"""Sync sends, idempotency, failures, look-ups and the notification routes against the live stack."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.messaging import templates
from fleet_dashboard.messaging.models import WhatsAppMessage
from tests.support.api import headers, user_jwt
from tests.support.live import SIMULATOR

pytestmark = pytest.mark.anyio

PHONE = "+201001234567"


async def connected_org(live, make_org, make_key, name="Acme Fleet"):
    org = make_org(name)
    key = make_key(org)
    r = await live.client.post("/api/sessions/init", headers=headers(key, org.id), json={"org_id": str(org.id)})
    assert r.status_code == 200 and r.json()["qr_code"], r.text
    await live.scan(org.id)
    return org, key


async def test_send_text_is_sent_once_per_idempotency_key(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    h = {**headers(key, org.id), "Idempotency-Key": "order-42-paid"}
    first = await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "تم الدفع"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "sent" and first.json()["whatsapp_message_id"]
    again = await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "تم الدفع"})
    assert again.status_code == 200 and again.json() == first.json()
    assert await live.sent_count(org.id) == 1
    other = await live.client.post("/api/messages/send", headers={**h, "Idempotency-Key": "order-43"},
                                   json={"recipient": PHONE, "message": "ثاني"})
    assert other.json()["message_id"] != first.json()["message_id"]
    assert await live.sent_count(org.id) == 2


async def test_send_for_a_disconnected_org_fails_fast_and_stores_nothing(live, db, make_org, make_key):
    org = make_org()
    started = time.monotonic()
    r = await live.client.post("/api/messages/send", headers=headers(make_key(org), org.id),
                               json={"recipient": PHONE, "message": "hello"})
    assert time.monotonic() - started < 2
    assert r.status_code == 409
    assert r.json()["code"] == "not_connected" and "not connected" in r.json()["error"]
    assert db.exec(select(WhatsAppMessage).where(WhatsAppMessage.org_id == org.id)).first() is None


async def test_a_failed_send_answers_502_with_the_error(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    r = await live.client.post(f"/api/simulator/{org.id}/fail-sends", json={"count": 1}, headers=SIMULATOR)
    assert r.status_code == 200, r.text
    r = await live.client.post("/api/messages/send", headers=headers(key, org.id),
                               json={"recipient": PHONE, "message": "will fail"})
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["success"] is False and body["status"] == "failed" and body["error"]
    r = await live.client.get(f"/api/messages/{body['message_id']}", headers=headers(key, org.id))
    assert r.json()["message"]["status"] == "failed"


async def test_unknown_template_on_a_connected_org_is_404(live, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    for payload in ({"template_id": "8b0c6b8e-0000-4000-8000-000000000000"}, {"template_name": "nope"}):
        r = await live.client.post("/api/messages/send-template", headers=headers(key, org.id),
                                   json={"recipient": PHONE, **payload})
        assert r.status_code == 404 and r.json()["code"] == "unknown_template"
    r = await live.client.post("/api/messages/send-template", headers=headers(key, org.id),
                               json={"recipient": PHONE, "template_name": "payment_reminder", "variables": {}})
    assert r.status_code == 422 and r.json()["code"] == "missing_variables"
    assert await live.sent_count(org.id) == 0


async def test_message_lookups_follow_receipts(live, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    ids = []
    for text in ("one", "two", "three"):
        r = await live.client.post("/api/messages/send", headers=headers(key, org.id),
                                   json={"recipient": PHONE, "message": text})
        ids.append(r.json()["message_id"])

    async def delivered():
        r = await live.client.get(f"/api/messages/{ids[0]}", headers=headers(key, org.id))
        return r.json()["message"]["status"] == "delivered"

    await live.until(delivered, what="delivery receipt")
    page = await live.client.get("/api/messages?limit=2", headers=headers(key, org.id))
    assert page.status_code == 200
    assert [m["message_body"] for m in page.json()["messages"]] == ["three", "two"]
    rest = await live.client.get(f"/api/messages?limit=2&cursor={page.json()['next_cursor']}",
                                 headers=headers(key, org.id))
    assert [m["message_body"] for m in rest.json()["messages"]] == ["one"]
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    r = await live.client.get("/api/messages", params={"status": "sent", "since": since},
                              headers=headers(key, org.id))
    assert all(m["status"] == "sent" for m in r.json()["messages"])
    r = await live.client.get("/api/messages?status=bogus", headers=headers(key, org.id))
    assert r.status_code == 422
    other = make_org("Other Fleet")
    r = await live.client.get(f"/api/messages/{ids[0]}", headers=headers(make_key.__call__(other), other.id))
    assert r.status_code == 404, "another organisation's message does not exist for you"


async def test_notifications_enqueue_lookup_cancel_and_bulk(live, db, make_org, make_key, make_user):
    org, key = await connected_org(live, make_org, make_key)
    templates.create(session=db, org_id=org.id, name="greet", message_template="أهلاً {{name}}", actor=SYSTEM)
    db.commit()
    h = headers(key, org.id)
    r = await live.client.post("/api/notifications", headers=h,
                               json={"recipient": PHONE, "template_name": "greet", "variables": {"name": "سارة"}})
    assert r.status_code == 202, r.text
    nid = r.json()["id"]
    assert r.json()["status"] == "pending"

    async def completed():
        got = await live.client.get(f"/api/notifications/{nid}", headers=h)
        return got.json()["notification"] if got.json()["notification"]["status"] == "completed" else None

    done = await live.until(completed, what="notification completed")
    assert done["message_id"] and done["whatsapp_message_id"]
    r = await live.client.post(f"/api/notifications/{nid}/cancel", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "not_cancellable"

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await live.client.post("/api/notifications", headers=h, json={
        "recipient": PHONE, "template_name": "greet", "variables": {"name": "x"}, "scheduled_for": later})
    r = await live.client.post(f"/api/notifications/{r.json()['id']}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["notification"]["status"] == "cancelled"

    bulk = [{"recipient": PHONE, "template_name": "greet", "variables": {"name": f"n{i}"}} for i in range(5)]
    r = await live.client.post("/api/notifications", headers=h, json=bulk)
    assert r.status_code == 202 and r.json()["count"] == 5 and len(set(r.json()["ids"])) == 5
    bad = [*bulk[:2], {"recipient": "nope", "template_name": "greet", "variables": {"name": "x"}}]
    r = await live.client.post("/api/notifications", headers=h, json=bad)
    assert r.status_code == 422 and "item 2" in r.json()["error"]
    r = await live.client.post("/api/notifications", headers=h, json=[bulk[0]] * 1001)
    assert r.status_code == 413
    r = await live.client.post("/api/notifications", headers=h, json=[])
    assert r.status_code == 422
    await live.until(lambda: live.sent_count(org.id), what="bulk sends")

    # The same header twice queues one notification.
    h2 = {**h, "Idempotency-Key": "welcome-7"}
    one = await live.client.post("/api/notifications", headers=h2, json=bulk[0])
    two = await live.client.post("/api/notifications", headers=h2, json=bulk[0])
    assert one.json()["id"] == two.json()["id"]
    # The super_admin's token reads but cannot enqueue (docs/SECURITY.md).
    r = await live.client.post("/api/notifications", headers=headers(user_jwt(make_user("super_admin")), org.id),
                               json=bulk[0])
    assert r.status_code == 403


async def test_sync_send_answers_queued_when_no_owner_answers_in_time(live_env, make_app, monkeypatch, make_org,
                                                                     make_key):
    from fleet_dashboard.notifications import sending
    from tests.support.live import live_stack

    monkeypatch.setattr(sending, "SEND_WAIT_SECONDS", 0.5)
    async with live_stack(make_app, with_worker=False) as live:
        org, key = await connected_org(live, make_org, make_key)
        r = await live.client.post("/api/messages/send", headers=headers(key, org.id),
                                   json={"recipient": PHONE, "message": "later"})
        assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["whatsapp_message_id"] is None
        r = await live.client.get(f"/api/messages/{r.json()['message_id']}", headers=headers(key, org.id))
        assert r.json()["message"]["status"] == "queued"
        await asyncio.sleep(0)
        assert await live.sent_count(org.id) == 0


async def test_pair_code_links_by_phone_number_in_the_simulator(db, make_org, make_key, live):
    org = make_org()
    key = make_key(org)
    r = await live.client.post(f"/api/sessions/{org.id}/pair-code", json={"phone": "+20 100 123 4567"},
                               headers=headers(key, org.id))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and len(body["code"]) == 9 and body["code"][4] == "-"
    assert body["expires_at"] and body["status"] == "qr_pending"
    r = await live.client.post(f"/api/simulator/{org.id}/confirm-code", json={"code": "WRONG-CODE"})
    assert r.status_code == 409
    r = await live.client.post(f"/api/simulator/{org.id}/confirm-code", json={"code": body["code"].lower()})
    assert r.status_code == 200, r.text
    await live.until(lambda: live.engine.is_connected(org.id), what="connected")
    r = await live.client.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))
    assert r.json()["status"] == "connected" and r.json()["phone_number"] == "+201001234567"
    # Connected: no second device on top of it.
    r = await live.client.post(f"/api/sessions/{org.id}/pair-code", json={"phone": "+201001234567"},
                               headers=headers(key, org.id))
    assert r.status_code == 409 and r.json()["code"] == "already_connected"


async def test_pair_code_with_the_real_library_answers_a_clear_error_quickly(live_env, make_app, make_org, make_key,
                                                                             db):
    from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
    from tests.support.live import live_stack

    org = make_org()
    key = make_key(org)
    async with live_stack(make_app, with_worker=False, factory=NeonizeFactory()) as stack:
        started = time.monotonic()
        r = await stack.client.post(f"/api/sessions/{org.id}/pair-code", json={"phone": "+201001234567"},
                                    headers=headers(key, org.id))
        assert time.monotonic() - started < 20
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == "pair_code_failed"
    assert "websocket not connected" in body["error"]


async def test_pair_code_refuses_a_bad_number(client, make_org, make_key):
    org = make_org()
    key = make_key(org)
    r = await client.post(f"/api/sessions/{org.id}/pair-code", json={"phone": "12"}, headers=headers(key, org.id))
    assert r.status_code == 422 and r.json()["success"] is False


async def test_pair_code_without_a_running_engine_is_accepted_at_once_and_shows_in_status(client, make_org, make_key):
    org = make_org()
    key = make_key(org)
    started = time.monotonic()
    r = await client.post(f"/api/sessions/{org.id}/pair-code", json={"phone": "+201001234567"},
                          headers=headers(key, org.id))
    assert r.status_code == 202 and time.monotonic() - started < 5, r.text
    assert r.json()["success"] is True and "no WhatsApp engine is running" in r.json()["message"]
    status = (await client.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))).json()
    assert status["status"] == "connecting" and status["pair_code"] is None
