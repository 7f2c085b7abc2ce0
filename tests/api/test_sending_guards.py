"""The guards over HTTP as an integrator (and an attacker) uses them: the rules, the number's health, the look-up
cache, resuming a pause, `urgent`, and 202 with `scheduled_for` when a guard holds a message."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from fleet_dashboard.accounts import localtime
from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import pauses
from tests.support.api import headers, user_jwt
from tests.support.live import SIMULATOR

pytestmark = pytest.mark.anyio

PHONE = "+201001234567"
EXAMPLE = {"typing": True, "quiet_hours": {"start": "22:00", "end": "08:00", "days_off": ["friday"]},
           "daily_cap": 1000, "warmup": True}


async def connected_org(live, make_org, make_key):
    org = make_org("Nile Fleet")
    key = make_key(org)
    r = await live.client.post("/api/sessions/init", headers=headers(key, org.id), json={"org_id": str(org.id)})
    assert r.status_code == 200, r.text
    await live.scan(org.id)
    return org, key


def _around_now(org) -> dict:
    now = localtime.to_local(utcnow(), localtime.zone_of(org)).local
    return {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M"),
            "days_off": []}


async def test_the_rules_round_trip_validate_and_are_audited(client, db, make_org, make_key, make_user):
    org = make_org()
    h = headers(make_key(org), org.id)
    r = await client.get("/api/settings/sending", headers=h)
    assert r.status_code == 200
    assert {k: r.json()[k] for k in EXAMPLE} == {"typing": True, "quiet_hours": {"start": None, "end": None,
                                                                                 "days_off": []},
                                                 "daily_cap": 1000, "warmup": True}
    r = await client.put("/api/settings/sending", headers=h, json=EXAMPLE)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in EXAMPLE} == EXAMPLE
    assert {k: (await client.get("/api/settings/sending", headers=h)).json()[k] for k in EXAMPLE} == EXAMPLE
    # Partial changes keep the rest; "quiet_hours": null clears the window.
    r = await client.put("/api/settings/sending", headers=h, json={"daily_cap": 200, "quiet_hours": None})
    assert r.json()["daily_cap"] == 200 and r.json()["quiet_hours"]["start"] is None and r.json()["typing"] is True
    for bad, code in [({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "invalid_quiet_hours"),
                      ({"quiet_hours": {"start": "22:00"}}, "invalid_quiet_hours"),
                      ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "invalid_quiet_hours"),
                      ({"quiet_hours": {"days_off": ["caturday"]}}, "invalid_day_off"),
                      ({"quiet_hours": {"days_off": ["monday", "tuesday", "wednesday", "thursday", "friday",
                                                     "saturday", "sunday"]}}, "invalid_day_off"),
                      ({"daily_cap": 0}, "invalid_daily_cap"), ({"daily_cap": "many"}, "invalid_daily_cap"),
                      ({"typing": "yes"}, "validation"), ({"speed": 9}, "validation")]:
        r = await client.put("/api/settings/sending", headers=h, json=bad)
        assert r.status_code == 422 and r.json()["success"] is False and r.json()["code"] == code, (bad, r.text)
    rows = db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org.id,
                                                   WhatsAppAuditLog.event_type == "sending_rules_changed")
                   .order_by(WhatsAppAuditLog.created_at)).all()
    # Each change audited once, with what it changed (refused ones change nothing).
    assert [r.event_data["after"] for r in rows] == [
        {"quiet_hours": EXAMPLE["quiet_hours"]},
        {"quiet_hours": {"start": None, "end": None, "days_off": []}, "daily_cap": 200}]
    assert rows[1].event_data["before"] == {"quiet_hours": EXAMPLE["quiet_hours"], "daily_cap": 1000}

    # Members read the rules but may not change them; another organisation's key changes nothing here.
    member = make_user("member", org)
    mh = headers(user_jwt(member), org.id)
    assert (await client.get("/api/settings/sending", headers=mh)).status_code == 200
    r = await client.put("/api/settings/sending", headers=mh, json={"daily_cap": 5})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    other = make_org("Other")
    r = await client.put("/api/settings/sending", headers=headers(make_key(other), org.id), json={"daily_cap": 5})
    assert r.status_code == 403
    read_only = make_key(org, scopes=["read"])
    r = await client.put("/api/settings/sending", headers=headers(read_only, org.id), json={"daily_cap": 5})
    assert r.status_code == 403 and r.json()["code"] == "missing_scope"
    assert (await client.get("/api/settings/sending", headers=h)).json()["daily_cap"] == 200


async def test_number_health_and_contacts_answer_in_the_issue_s_shape(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    r = await live.client.get("/api/number-health", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"risk", "reasons", "paused", "pause_reason", "today", "window"} <= set(body)
    # A number linked just now (the simulated scan) warms up: 50 today.
    assert (body["risk"], body["reasons"], body["paused"], body["pause_reason"]) == ("green", [], False, None)
    assert body["today"] == {"sent": 0, "allowance": 50, "urgent_reserve": 5}
    assert body["window"] == {"quiet_now": False, "next_open": None}

    r = await live.client.get(f"/api/contacts/{PHONE}", headers=h)
    assert r.json() == {"success": True, "phone": PHONE, "on_whatsapp": None, "checked_at": None}
    assert (await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "hi"})
            ).json()["status"] == "sent"
    r = await live.client.get("/api/contacts/01001234567", headers=h)  # any way a person writes it
    assert r.json()["phone"] == PHONE and r.json()["on_whatsapp"] is True and r.json()["checked_at"]
    assert (await live.client.get("/api/number-health", headers=h)).json()["today"]["sent"] == 1
    r = await live.client.get("/api/contacts/not-a-phone", headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_phone"


async def test_a_number_not_on_whatsapp_fails_as_not_on_whatsapp_through_the_send_route(live, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    r = await live.client.post(f"/api/simulator/{org.id}/unregistered", json={"phones": ["+201005550123"]},
                               headers=SIMULATOR)
    assert r.status_code == 200, r.text
    r = await live.client.post("/api/messages/send", headers=headers(key, org.id),
                               json={"recipient": "+201005550123", "message": "hello?"})
    assert r.status_code == 502 and r.json()["status"] == "failed"
    message = (await live.client.get(f"/api/messages/{r.json()['message_id']}", headers=headers(key, org.id))).json()
    assert message["message"]["error_code"] == "not_on_whatsapp"
    assert await live.sent_count(org.id) == 0
    assert (await live.client.get("/api/contacts/+201005550123", headers=headers(key, org.id))
            ).json()["on_whatsapp"] is False
    log = (await live.client.get(f"/api/simulator/{org.id}/sent", headers=SIMULATOR)).json()["messages"]
    assert [(m["kind"], m["text"]) for m in log] == [("lookup", "not_on_whatsapp")]


async def test_quiet_hours_answer_202_with_scheduled_for_and_urgent_goes_now(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    window = _around_now(org)
    assert (await live.client.put("/api/settings/sending", headers=h, json={"quiet_hours": window})).status_code == 200
    health = (await live.client.get("/api/number-health", headers=h)).json()
    assert health["window"]["quiet_now"] is True and health["window"]["next_open"]
    opens = datetime.fromisoformat(health["window"]["next_open"])

    r = await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "newsletter"})
    assert r.status_code == 202, r.text
    held = r.json()
    assert held["success"] is True and held["status"] == "queued" and held["wait_reason"] == "quiet_hours"
    assert datetime.fromisoformat(held["scheduled_for"]) == opens and "ساعات الهدوء" in held["wait_text"]

    r = await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "OTP 1234",
                                                                     "urgent": True})
    assert r.status_code == 200 and r.json()["status"] == "sent", r.text

    template = {"recipient": PHONE, "template_name": "payment_reminder",
                "variables": {"customer_name": "منى", "amount": "250", "due_date": "2026-12-31"}}
    r = await live.client.post("/api/notifications", headers=h, json=template)
    assert r.status_code == 202 and r.json()["wait_reason"] == "quiet_hours"
    assert datetime.fromisoformat(r.json()["scheduled_for"]) == opens
    notification = (await live.client.get(f"/api/notifications/{r.json()['id']}", headers=h)).json()["notification"]
    assert notification["wait_reason"] == "quiet_hours" and notification["wait_text"]
    r = await live.client.post("/api/notifications", headers=h, json=[{**template, "urgent": True}, template])
    assert r.status_code == 202
    items = r.json()["items"]
    assert items[0]["wait_reason"] is None and items[1]["wait_reason"] == "quiet_hours"
    r = await live.client.post("/api/messages/send-template", headers=h, json={**template, "urgent": True})
    assert r.status_code == 200 and r.json()["status"] == "sent"
    assert await live.sent_count(org.id) == 3  # the OTP, the urgent notification, the urgent template


async def test_a_paused_number_holds_sends_with_202_and_an_owner_resumes_it(live, db, make_org, make_key, make_user):
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    with session_scope() as s:
        pauses.pause(session=s, org_id=org.id, reason="restricted", detail="server returned error 463")
    health = (await live.client.get("/api/number-health", headers=h)).json()
    assert health["paused"] is True and health["pause_reason"] == "restricted"
    r = await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "waits"})
    assert r.status_code == 202 and r.json()["wait_reason"] == "paused" and r.json()["scheduled_for"] is None
    member = make_user("member", org)
    r = await live.client.post("/api/number-health/resume", headers=headers(user_jwt(member), org.id))
    assert r.status_code == 403
    owner = make_user("owner", org)
    r = await live.client.post("/api/number-health/resume", headers=headers(user_jwt(owner), org.id))
    assert r.status_code == 200 and r.json()["paused"] is False
    await live.until(lambda: live.sent_count(org.id), what="the held message to go")
    r = await live.client.post("/api/number-health/resume", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "not_paused"
    [audit] = db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org.id,
                                                     WhatsAppAuditLog.event_type == "sending_resumed")).all()
    assert audit.actor_id == owner.id


async def test_simulator_controls_validate_their_bodies(live, make_org, make_key):
    org, _ = await connected_org(live, make_org, make_key)
    for path, body in [("ban", {"seconds": 0}), ("ban", {}), ("unregistered", {"phones": ["nope"]}),
                       ("fail-sends", {"code": 12}), ("fail-sends", {"count": -1})]:
        r = await live.client.post(f"/api/simulator/{org.id}/{path}", json=body, headers=SIMULATOR)
        assert r.status_code == 422, (path, body, r.text)


async def test_a_463_from_whatsapp_holds_the_send_with_202_and_pauses_the_number(live, make_org, make_key):
    """The simulator's fail-sends with code 463: the send route answers 202 (queued, waiting in the pause, not
    failed), the number's health says paused as `restricted`, nothing reached the network, and after a resume
    the message goes."""
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    r = await live.client.post(f"/api/simulator/{org.id}/fail-sends", json={"code": 463}, headers=SIMULATOR)
    assert r.status_code == 200, r.text
    r = await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "restricted?"})
    assert r.status_code == 202, r.text
    held = r.json()
    assert (held["status"], held["wait_reason"]) == ("queued", "paused") and held["wait_text"]
    health = (await live.client.get("/api/number-health", headers=h)).json()
    assert (health["paused"], health["pause_reason"]) == (True, "restricted") and health["pause_text"]
    assert await live.sent_count(org.id) == 0
    r = await live.client.post("/api/number-health/resume", headers=h)
    assert r.status_code == 200 and r.json()["paused"] is False
    await live.until(lambda: live.sent_count(org.id), what="the held message to go after the resume")
    message = (await live.client.get(f"/api/messages/{held['message_id']}", headers=h)).json()["message"]
    assert message["status"] in ("sent", "delivered", "read")
