"""Requests crafted as attackers send them, against every API route the app has (its own route list).

Anonymous, a garbage or expired token, a deactivated person's token, another organisation's owner
(with the victim's X-Org-Id, or with their own and the victim's ids): none gets anything of the victim's."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM, Action
from fleet_dashboard.messaging import messages
from fleet_dashboard.notifications import queue
from tests.security.catalog import api_routes
from tests.support.api import headers, make_jwt, user_jwt

pytestmark = pytest.mark.anyio

PHONE = "+201005550123"
SECRET_TEXT = "VICTIM-API-SECRET"


@pytest.fixture
def victim(db, make_org, make_user, monkeypatch):
    from fleet_dashboard.api.routes import sessions

    monkeypatch.setattr(sessions, "INIT_WAIT_SECONDS", 0.05)
    org = make_org("Victim Fleet")
    owner = make_user("owner", org)
    message, _ = messages.create_message(session=db, org_id=org.id, recipient=PHONE, text=SECRET_TEXT,
                                          actor=SYSTEM)
    row, _ = queue.enqueue(session=db, org_id=org.id, recipient=PHONE, template_name="payment_reminder",
                           variables={"customer_name": SECRET_TEXT, "amount": "1", "due_date": "x"}, actor=SYSTEM)
    db.commit()
    return org, owner, {"message_id": message.id, "notification_id": row.id}


def _requests(org_id, ids):
    """Every declared route, its path filled with the victim's organisation and rows."""
    for route in api_routes():
        if route.action is None:
            continue
        method = sorted(route.methods - {"HEAD"})[0]
        path = route.path.replace("{org_id}", str(org_id))
        for name, value in ids.items():
            path = path.replace("{" + name + "}", str(value))
        yield route, method, path


def _snapshot(db, org_id):
    return [tuple(r) for r in db.execute(text(
        "SELECT 'q', status FROM notification_queue WHERE org_id = :o UNION ALL "
        "SELECT 's', coalesce(status, '') FROM whatsapp_sessions WHERE org_id = :o UNION ALL "
        "SELECT 'm', status FROM whatsapp_messages WHERE org_id = :o ORDER BY 1, 2"), {"o": org_id})]


async def test_no_credential_or_a_dead_one_gets_401_everywhere(client, db, victim, make_user):
    org, owner, ids = victim
    before = _snapshot(db, org.id)
    gone = make_user("admin", org)
    gone.is_active = False
    db.add(gone)
    db.commit()
    callers = {
        "anonymous": {"X-Org-Id": str(org.id)},
        "garbage": headers("not-a-credential", org.id),
        "forged key": headers("fdk_" + "A" * 43, org.id),
        "expired": headers(user_jwt(owner, exp=1), org.id),
        "wrong secret": headers(make_jwt({"sub": str(owner.id), "aud": "authenticated"},
                                         secret="z" * 44), org.id),
        "alg none": headers("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", org.id),
        "deactivated": headers(user_jwt(gone), org.id),
    }
    for who, h in callers.items():
        for route, method, path in _requests(org.id, ids):
            r = await client.request(method, path, headers=h, json={})
            assert r.status_code == 401, (who, method, route.path, r.status_code, r.text[:200])
            assert SECRET_TEXT not in r.text
    assert _snapshot(db, org.id) == before


async def test_another_organisations_owner_gets_nothing_of_the_victims(client, db, victim, make_org, make_user):
    org, _, ids = victim
    before = _snapshot(db, org.id)
    mine = make_org("Intruder Fleet")
    intruder = user_jwt(make_user("owner", mine))
    for route, method, path in _requests(org.id, ids):
        # The victim's X-Org-Id: refused before anything is read.
        r = await client.request(method, path, headers=headers(intruder, org.id), json={})
        assert r.status_code == 403, (method, route.path, r.text[:200])
        # Their own X-Org-Id with the victim's ids: the org in the path does not match, the rows do not exist.
        own_path = path.replace(str(org.id), str(mine.id)) if "{org_id}" not in route.path else path
        r = await client.request(method, own_path, headers=headers(intruder, mine.id),
                                 json={"org_id": str(org.id)})
        assert r.status_code < 500, (method, route.path, r.status_code, r.text[:200])
        assert SECRET_TEXT not in r.text and PHONE not in r.text
    assert _snapshot(db, org.id) == before


async def test_a_super_admin_token_cannot_be_turned_into_a_writer(client, db, victim, make_user):
    """Whatever it sends, a super_admin's JWT changes nothing: the API agrees with the read-only dashboard."""
    org, _, ids = victim
    before = _snapshot(db, org.id)
    root = headers(user_jwt(make_user("super_admin"), role="service_role", app_metadata={"role": "owner"}), org.id)
    for route, method, path in _requests(org.id, ids):
        if route.action is Action.organizations:
            continue  # the provisioning bridge is the super_admin's own column (tests/api/test_admin_*)
        r = await client.request(method, path, headers=root, json={"org_id": str(org.id)})
        if route.action is not Action.view:
            assert r.status_code == 403, (method, route.path, r.text[:200])
    assert _snapshot(db, org.id) == before
    unknown = uuid.uuid4()
    r = await client.get(f"/api/sessions/{unknown}/status", headers=headers(user_jwt(make_user("super_admin")),
                                                                            unknown))
    assert r.status_code == 404
