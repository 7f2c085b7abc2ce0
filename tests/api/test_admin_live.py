"""The seed's own requests, replayed against SaaS-made ids on the live stack (engine + simulator + worker)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from fleet_dashboard.accounts.models import User
from fleet_dashboard.messaging.models import WhatsAppTemplate
from fleet_dashboard.notifications.models import NotificationQueue
from tests.support.api import headers, service_role_jwt, user_jwt

pytestmark = pytest.mark.anyio

SERVICE_ROLE = service_role_jwt()
PHONE = "+201001234567"
VARIABLES = {"customer_name": "أحمد", "company_name": "النقل السريع", "plan_name": "الذهبية",
             "expiry_date": "2025-02-01"}


async def provision(live, org_id, user_id):
    """What the SaaS does once: its organisation and its owner, under its own ids."""
    sr = {"Authorization": f"Bearer {SERVICE_ROLE}"}
    r = await live.client.put(f"/api/admin/organizations/{org_id}", headers=sr,
                              json={"name": "شركة النقل السريع", "slug": f"fast-{str(org_id)[:8]}"})
    assert r.status_code == 200, r.text
    r = await live.client.put(f"/api/admin/organizations/{org_id}/users/{user_id}", headers=sr,
                              json={"email": f"owner-{str(user_id)[:8]}@fleet.local", "role": "owner"})
    assert r.status_code == 200, r.text


async def test_the_seed_frontend_and_edge_function_work_with_no_manual_step(live, db):
    org_id, user_id = uuid.uuid4(), uuid.uuid4()  # made by the SaaS, not by us
    await provision(live, org_id, user_id)
    await provision(live, org_id, user_id)  # the SaaS repeats itself: nothing changes
    access_token = user_jwt(db.get(User, user_id))

    # WhatsAppConnect.tsx: init with the user's JWT, X-Org-Id and the body's org_id.
    r = await live.client.post("/api/sessions/init", headers=headers(access_token, org_id),
                               json={"org_id": str(org_id)})
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["qr_code"], r.text
    r = await live.client.get(f"/api/sessions/{org_id}/qr", headers=headers(access_token, org_id))
    assert r.status_code == 200 and r.json()["qr_code"]
    await live.scan(org_id)
    r = await live.client.get(f"/api/sessions/{org_id}/status", headers=headers(access_token, org_id))
    assert r.json()["status"] == "connected"

    # process-whatsapp-queue: send-template with the service-role key, the template by id.
    template = db.exec(select(WhatsAppTemplate).where(WhatsAppTemplate.name == "trial_welcome")).one()
    r = await live.client.post("/api/messages/send-template", headers=headers(SERVICE_ROLE, org_id), json={
        "org_id": str(org_id), "recipient": PHONE, "template_id": str(template.id), "variables": VARIABLES})
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["status"] == "sent", r.text
    assert await live.sent_count(org_id) == 1

    r = await live.client.post(f"/api/sessions/{org_id}/logout", headers=headers(access_token, org_id))
    assert r.status_code == 200 and r.json()["success"] is True
    await live.until(lambda: org_id not in live.engine.owned_org_ids(), what="session released")


async def test_a_suspended_organisation_holds_its_queue_and_sends_it_on_resume(live, db):
    org_id, user_id = uuid.uuid4(), uuid.uuid4()
    await provision(live, org_id, user_id)
    owner = headers(user_jwt(db.get(User, user_id)), org_id)
    await live.client.post("/api/sessions/init", headers=owner, json={"org_id": str(org_id)})
    await live.scan(org_id)
    due = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    r = await live.client.post("/api/notifications", headers=headers(SERVICE_ROLE, org_id), json={
        "recipient": PHONE, "template_name": "trial_welcome", "variables": VARIABLES, "scheduled_for": due})
    assert r.status_code == 202, r.text
    queued_id = uuid.UUID(r.json()["id"])

    sr = {"Authorization": f"Bearer {SERVICE_ROLE}"}
    r = await live.client.post(f"/api/admin/organizations/{org_id}/suspend", headers=sr)
    assert r.status_code == 200
    await live.until(lambda: org_id not in live.engine.owned_org_ids(), what="session stopped")
    await asyncio.sleep(3)  # well past the due time: nothing may go out, nothing may be lost
    assert org_id not in live.engine.owned_org_ids()  # the engine did not take the session back
    db.expire_all()
    assert db.get(NotificationQueue, queued_id).status == "pending"
    assert await live.sent_count(org_id) == 0
    r = await live.client.get(f"/api/sessions/{org_id}/status", headers=owner)
    assert r.status_code == 403 and r.json()["code"] == "organization_suspended"

    r = await live.client.post(f"/api/admin/organizations/{org_id}/resume", headers=sr)
    assert r.status_code == 200
    await live.until(lambda: live.engine.is_connected(org_id), what="reconnected without a scan")

    def completed():
        db.expire_all()
        return db.get(NotificationQueue, queued_id).status == "completed"

    await live.until(completed, timeout=15, what="held notification sent")
    assert await live.sent_count(org_id) == 1
