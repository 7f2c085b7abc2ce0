"""The seed guide's exact requests against the live stack: settings component and edge function."""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import select

from fleet_dashboard.messaging.models import WhatsAppMessage, WhatsAppTemplate
from tests.support.api import service_role_jwt, user_jwt

pytestmark = pytest.mark.anyio


def guide_headers(token: str, org_id, *, json_body: bool = True) -> dict[str, str]:
    """Headers exactly as WhatsAppSettings.tsx and the edge function build them."""
    out = {"Authorization": f"Bearer {token}", "X-Org-Id": str(org_id)}
    if json_body:
        out["Content-Type"] = "application/json"
    return out


async def test_settings_component_init_qr_status_logout(live, db, make_org, make_user):
    org = make_org()
    token = user_jwt(make_user("owner", org))
    c = live.client

    # connectWhatsApp(): POST /api/sessions/init with {org_id}; the QR comes back in the answer.
    r = await c.post("/api/sessions/init", headers=guide_headers(token, org.id),
                     content=json.dumps({"org_id": str(org.id)}))
    assert r.status_code == 200, r.text
    init = r.json()
    assert init["success"] is True and init["status"] == "qr_pending"
    assert init["session_id"] and init["qr_code"]

    r = await c.get(f"/api/sessions/{org.id}/qr", headers=guide_headers(token, org.id, json_body=False))
    assert r.status_code == 200, r.text
    qr = r.json()
    assert qr["success"] is True and qr["status"] == "qr_pending"
    assert qr["qr_code"] == init["qr_code"] and qr["expires_at"]
    assert qr["qr_svg"].startswith("<svg") and "</svg>" in qr["qr_svg"]

    await live.scan(org.id, phone="+201001112223", name="Fleet Ops")
    r = await c.get(f"/api/sessions/{org.id}/status", headers=guide_headers(token, org.id, json_body=False))
    status = r.json()
    assert status["success"] is True and status["status"] == "connected"
    assert status["phone_number"] == "+201001112223" and status["display_name"] == "Fleet Ops"
    assert status["last_connected_at"]
    r = await c.get(f"/api/sessions/{org.id}/qr", headers=guide_headers(token, org.id, json_body=False))
    assert r.status_code == 404 and r.json()["success"] is False

    # Init on a connected session answers at once, with no QR.
    started = time.monotonic()
    r = await c.post("/api/sessions/init", headers=guide_headers(token, org.id),
                     content=json.dumps({"org_id": str(org.id)}))
    assert r.json()["status"] == "connected" and "qr_code" not in r.json()
    assert time.monotonic() - started < 2

    # disconnectWhatsApp(): POST .../logout with no Content-Type and no body.
    r = await c.post(f"/api/sessions/{org.id}/logout", headers=guide_headers(token, org.id, json_body=False))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "message": "Session logged out successfully"}
    await live.until(lambda: not live.engine.is_connected(org.id), what="socket closed")
    r = await c.get(f"/api/sessions/{org.id}/status", headers=guide_headers(token, org.id, json_body=False))
    assert r.json()["status"] == "disconnected" and r.json()["phone_number"] is None


async def test_edge_function_send_template_with_service_role(live, db, make_org, make_user):
    org = make_org()
    owner = make_user("owner", org)
    await live.client.post("/api/sessions/init", headers=guide_headers(user_jwt(owner), org.id),
                           content=json.dumps({"org_id": str(org.id)}))
    await live.scan(org.id)
    template = db.exec(select(WhatsAppTemplate).where(WhatsAppTemplate.name == "payment_reminder",
                                                      WhatsAppTemplate.org_id.is_(None))).one()
    notification = {"org_id": str(org.id), "recipient_phone": "+201009998887", "template_id": str(template.id),
                    "message_data": {"customer_name": "منى", "amount": "250 ج.م", "due_date": "2026-12-01"}}

    # The body the edge function builds from a notification_queue row, byte for byte.
    r = await live.client.post("/api/messages/send-template",
                               headers=guide_headers(service_role_jwt(), notification["org_id"]),
                               content=json.dumps({"org_id": notification["org_id"],
                                                   "recipient": notification["recipient_phone"],
                                                   "template_id": notification["template_id"],
                                                   "variables": notification["message_data"]}))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["success"] is True and result["status"] == "sent"
    assert result["message_id"] and result["whatsapp_message_id"]
    assert set(result) == {"success", "message_id", "whatsapp_message_id", "status"}
    assert await live.sent_count(org.id) == 1

    db.expire_all()
    row = db.get(WhatsAppMessage, result["message_id"])
    assert row.org_id == org.id and row.template_name == "payment_reminder"
    assert "منى" in row.message_body and "250 ج.م" in row.message_body
    assert db.get(WhatsAppTemplate, template.id).usage_count >= 1
