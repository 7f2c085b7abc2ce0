"""Customers' replies through the API (stored, per organisation, searchable) and the opt-out list's routes."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.messaging import optouts
from tests.api.test_sending import PHONE, connected_org
from tests.support.api import headers, user_jwt
from tests.support.live import SIMULATOR

pytestmark = pytest.mark.anyio


def audit_of(db, org_id, event_type):
    db.expire_all()
    return list(db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org_id,
                                                       WhatsAppAuditLog.event_type == event_type)))


async def _reply(live, org_id, sender, text):
    r = await live.client.post(f"/api/simulator/{org_id}/inbound", json={"from": sender, "text": text},
                               headers=SIMULATOR)
    assert r.status_code == 200, r.text


async def test_inbound_replies_are_listed_by_direction_searchable_and_scoped(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    other, other_key = await connected_org(live, make_org, make_key, name="Other Fleet")
    h = headers(key, org.id)
    sent = await live.client.post("/api/messages/send", headers=h,
                                  json={"recipient": PHONE, "message": "فاتورتك جاهزة"})
    assert sent.status_code == 200, sent.text
    await _reply(live, org.id, PHONE, "تم الدفع")
    await _reply(live, org.id, "+201009998887", "paid already")
    await _reply(live, other.id, PHONE, "secret of another org")

    async def listed():
        r = await live.client.get("/api/messages", headers=h, params={"direction": "inbound"})
        return r.json()["messages"] if len(r.json()["messages"]) == 2 else None

    replies = await live.until(listed, what="two replies stored")
    assert [m["direction"] for m in replies] == ["inbound", "inbound"]
    assert {m["message_body"] for m in replies} == {"تم الدفع", "paid already"}
    assert {m["from_phone"] for m in replies} == {PHONE, "+201009998887"}
    assert all(m["org_id"] == str(org.id) for m in replies)

    # The default direction is what was sent, as before.
    out = (await live.client.get("/api/messages", headers=h)).json()["messages"]
    assert [(m["direction"], m["message_body"]) for m in out] == [("outbound", "فاتورتك جاهزة")]

    # Owners search replies by text or number, and by one number.
    found = (await live.client.get("/api/messages", headers=h,
                                   params={"direction": "inbound", "search": "الدفع"})).json()["messages"]
    assert [m["message_body"] for m in found] == ["تم الدفع"]
    by_phone = (await live.client.get("/api/messages", headers=h,
                                      params={"direction": "inbound", "phone": "+201009998887"})).json()["messages"]
    assert [m["message_body"] for m in by_phone] == ["paid already"]

    # One reply by id; another organisation's id looks missing.
    one = await live.client.get(f"/api/messages/{found[0]['id']}", headers=h)
    assert one.status_code == 200 and one.json()["message"]["direction"] == "inbound"
    theirs = (await live.client.get("/api/messages", headers=headers(other_key, other.id),
                                    params={"direction": "inbound"})).json()["messages"]
    assert [m["message_body"] for m in theirs] == ["secret of another org"]
    assert (await live.client.get(f"/api/messages/{theirs[0]['id']}", headers=h)).status_code == 404

    bad = await live.client.get("/api/messages", headers=h, params={"direction": "sideways"})
    assert bad.status_code == 422


async def test_a_redelivered_reply_is_kept_once(live, db, make_org, make_key):
    from fleet_dashboard.whatsapp.engine import store

    org = make_org()
    for _ in range(2):
        await asyncio.to_thread(store.record_inbound, org.id, PHONE, "مرحبا", "WAMID-SAME")
    key = make_key(org)
    r = await live.client.get("/api/messages", headers=headers(key, org.id), params={"direction": "inbound"})
    assert [m["whatsapp_message_id"] for m in r.json()["messages"]] == ["WAMID-SAME"]


async def test_stop_still_opts_out_and_the_reply_is_kept(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    await _reply(live, org.id, PHONE, "STOP")

    async def stored():
        r = await live.client.get("/api/messages", headers=headers(key, org.id), params={"direction": "inbound"})
        return r.json()["messages"] or None

    reply = (await live.until(stored, what="STOP stored"))[0]
    assert reply["message_body"] == "STOP" and reply["opt_out"] == "opted_out"
    listed = (await live.client.get("/api/opt-outs", headers=headers(key, org.id))).json()["opt_outs"]
    assert [(o["phone"], o["keyword"]) for o in listed] == [(PHONE, "STOP")]


async def test_opt_out_add_list_remove_each_audited(client, db, make_org, make_key, make_user):
    org = make_org()
    key = make_key(org)
    h = headers(key, org.id)
    added = await client.post("/api/opt-outs", headers=h, json={"phone": "01001234567", "reason": "طلب بالهاتف"})
    assert added.status_code == 201, added.text
    assert added.json()["opt_out"]["phone"] == PHONE and added.json()["opt_out"]["reason"] == "طلب بالهاتف"
    assert optouts.is_opted_out(session=db, org_id=org.id, phone=PHONE)
    [row] = audit_of(db, org.id, "opt_out_added")
    # The caller's Actor: through the API, with this key's credential (which key did it, not only which org).
    data = dict(row.event_data)
    assert data.pop("credential").startswith("api_key:")
    assert data == {"phone": PHONE, "reason": "طلب بالهاتف", "via": "api"}

    again = await client.post("/api/opt-outs", headers=h, json={"phone": PHONE})
    assert again.status_code == 409 and again.json()["code"] == "opt_out_exists"
    bad = await client.post("/api/opt-outs", headers=h, json={"phone": "12"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_phone"
    assert len(audit_of(db, org.id, "opt_out_added")) == 1

    # A send to the number is refused while it is listed.
    refused = await client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "hi"})
    assert refused.status_code == 409 and refused.json()["code"] == "opted_out"

    await client.post("/api/opt-outs", headers=h, json={"phone": "+201009998887"})
    page = await client.get("/api/opt-outs", headers=h, params={"search": "بالهاتف"})
    assert [o["phone"] for o in page.json()["opt_outs"]] == [PHONE]
    every = await client.get("/api/opt-outs", headers=h, params={"limit": 1})
    assert len(every.json()["opt_outs"]) == 1 and every.json()["next_cursor"]

    removed = await client.delete(f"/api/opt-outs/{PHONE}", headers=h)
    assert removed.status_code == 200 and removed.json()["phone"] == PHONE
    assert not optouts.is_opted_out(session=db, org_id=org.id, phone=PHONE)
    [row] = audit_of(db, org.id, "opt_out_removed")
    assert row.event_data["phone"] == PHONE and row.event_data["via"] == "api"
    gone = await client.delete(f"/api/opt-outs/{PHONE}", headers=h)
    assert gone.status_code == 404 and gone.json()["code"] == "opt_out_unknown"

    # Another organisation sees none of it and cannot remove it.
    other = make_org()
    oh = headers(make_key(other), other.id)
    assert (await client.get("/api/opt-outs", headers=oh)).json()["opt_outs"] == []
    assert (await client.delete("/api/opt-outs/+201009998887", headers=oh)).status_code == 404
    assert optouts.is_opted_out(session=db, org_id=org.id, phone="+201009998887")


async def test_opt_out_writes_follow_the_matrix(client, db, make_org, make_key, make_user):
    org = make_org()
    member = make_user(org=org, role="member")
    h = headers(user_jwt(member), org.id)
    assert (await client.get("/api/opt-outs", headers=h)).status_code == 200
    r = await client.post("/api/opt-outs", headers=h, json={"phone": PHONE})
    assert r.status_code == 403 and r.json()["code"] == "forbidden" and "opt_outs" in r.json()["error"]
    read_key = make_key(org, scopes=["read"])
    r = await client.post("/api/opt-outs", headers=headers(read_key, org.id), json={"phone": PHONE})
    assert r.status_code == 403
    optouts.opt_out(session=db, org_id=org.id, phone=PHONE)
    db.commit()
    assert (await client.delete(f"/api/opt-outs/{PHONE}", headers=h)).status_code == 403
    assert optouts.is_opted_out(session=db, org_id=org.id, phone=PHONE)


def test_replies_follow_the_messages_retention(db, make_org):
    from datetime import timedelta

    from fleet_dashboard.core.tables import utcnow
    from fleet_dashboard.messaging.models import InboundMessage
    from fleet_dashboard.stats import retention

    org = make_org()
    old = InboundMessage(org_id=org.id, phone=PHONE, message_body="old", whatsapp_message_id="W-OLD",
                         created_at=utcnow() - timedelta(days=40))
    new = InboundMessage(org_id=org.id, phone=PHONE, message_body="new", whatsapp_message_id="W-NEW")
    db.add_all([old, new])
    db.commit()
    result = retention.purge(days={"messages": 30}, pause_seconds=0)
    assert result is not None and result.deleted.get("replies") == 1
    db.expire_all()
    assert [r.message_body for r in db.exec(select(InboundMessage).where(InboundMessage.org_id == org.id))] == ["new"]


async def test_the_api_audits_sends_schedules_and_cancels_as_the_dashboard_does(live, db, make_org, make_key):
    from datetime import UTC, datetime, timedelta

    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.messaging import templates

    org, key = await connected_org(live, make_org, make_key)
    templates.create(session=db, org_id=org.id, name="greet", message_template="أهلاً {{name}}", actor=SYSTEM)
    db.commit()
    h = headers(key, org.id)
    sent = await live.client.post("/api/messages/send", headers=h, json={"recipient": PHONE, "message": "hi"})
    assert sent.status_code == 200, sent.text
    [row] = audit_of(db, org.id, "message_sent")
    assert row.event_data["message_id"] == sent.json()["message_id"] and row.event_data["via"] == "api"

    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    queued = await live.client.post("/api/notifications", headers=h, json={
        "recipient": PHONE, "template_name": "greet", "variables": {"name": "x"}, "scheduled_for": later})
    assert queued.status_code == 202, queued.text
    [row] = audit_of(db, org.id, "message_scheduled")
    assert row.event_data["notification_id"] == queued.json()["id"] and row.event_data["via"] == "api"

    cancelled = await live.client.post(f"/api/notifications/{queued.json()['id']}/cancel", headers=h)
    assert cancelled.status_code == 200, cancelled.text
    [row] = audit_of(db, org.id, "queue_cancelled")
    data = dict(row.event_data)
    assert data.pop("credential").startswith("api_key:")
    assert data == {"notification_id": queued.json()["id"], "recipient": PHONE, "via": "api"}


async def test_a_send_to_a_disconnected_organisation_is_refused_by_the_one_send_service(db, make_org, api_env):
    from fleet_dashboard.accounts.permissions import Actor
    from fleet_dashboard.core.errors import NotConnected
    from fleet_dashboard.notifications import sending

    org = make_org()
    req = sending.SendRequest(org_id=org.id, recipient=PHONE, text="hi", actor=Actor("owner", org.id))
    with pytest.raises(NotConnected):
        await sending.send_and_wait(req, wait_seconds=0)
    assert audit_of(db, org.id, "message_sent") == []
