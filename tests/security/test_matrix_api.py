"""The permission matrix through the API: every route, every role, and the retry_unknown cell on real rows.

The routes come from the app; each cell is asserted from accounts/permissions.py, so a change to either
the matrix or a route's declaration is checked here without editing this file."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.passwords import hash_password
from fleet_dashboard.accounts.permissions import SYSTEM, Action
from fleet_dashboard.notifications import queue
from tests.security.catalog import api_routes
from tests.support.api import headers, service_role_jwt, user_jwt

pytestmark = pytest.mark.anyio

PHONE = "+201001234567"
HASH = hash_password("correct-horse-1")
WELCOME = {"customer_name": "سارة", "company_name": "أسطول", "plan_name": "أساسي", "expiry_date": "2030-01-01"}
# A body each route accepts, so an allowed caller gets past validation; a new route gets {} and still
# shows a refusal as 403 (the caller is checked before the body).
BODIES = {
    "/api/messages/send": {"recipient": PHONE, "message": "مرحبا"},
    "/api/messages/send-template": {"recipient": PHONE, "template_name": "trial_welcome", "variables": WELCOME},
    "/api/notifications": {"recipient": PHONE, "template_name": "trial_welcome", "variables": WELCOME},
}


@pytest.fixture
def world(db, make_org, make_user, monkeypatch):
    """One organisation with a person of every role, a pending, a failed and an unknown notification."""
    from fleet_dashboard.accounts import users
    from fleet_dashboard.api.routes import sessions

    monkeypatch.setattr(sessions, "INIT_WAIT_SECONDS", 0.05)
    monkeypatch.setattr(users, "hash_password", lambda _password: HASH)  # these people never type it
    org = make_org()
    people = {role: make_user(role, org) for role in ("owner", "admin", "member")}
    people["super_admin"] = make_user("super_admin")
    rows = {}
    for status in ("pending", "failed", "unknown"):
        row, _ = queue.enqueue(session=db, org_id=org.id, recipient=PHONE, template_name="trial_welcome",
                               variables=WELCOME, idempotency_key=status, actor=SYSTEM)
        rows[status] = row.id
    db.commit()
    db.execute(text("UPDATE notification_queue SET status = 'failed' WHERE id = :i"), {"i": rows["failed"]})
    db.execute(text("UPDATE notification_queue SET status = 'unknown' WHERE id = :i"), {"i": rows["unknown"]})
    db.commit()
    return org, people, rows


def _request(route, org_id, rows) -> tuple[str, str, dict]:
    method = sorted(route.methods - {"HEAD"})[0]
    path = route.path.replace("{org_id}", str(org_id))
    path = path.replace("{notification_id}", str(rows["failed"] if path.endswith("/retry") else rows["pending"]))
    path = path.replace("{message_id}", str(uuid.uuid4()))
    return method, path, BODIES.get(route.path, {})


def _declared():
    """The organisation's own routes. /api/admin has its own credentials (platform ones, no X-Org-Id), tested in
    tests/api/test_admin*.py and tests/security/test_api_attackers.py."""
    return [r for r in api_routes() if r.action is not None and r.scope != "admin"]


@pytest.mark.parametrize("role", permissions.ROLES)
async def test_every_api_route_follows_the_matrix_for_a_persons_jwt(client, api_env, world, db, role):
    org, people, rows = world
    caller = headers(user_jwt(people[role]), org.id)
    seen = set()
    for route in _declared():
        method, path, body = _request(route, org.id, rows)
        r = await client.request(method, path, headers=caller, json=body)
        allowed = permissions.can(role, route.action)
        label = f"{role} {method} {route.path} ({route.action.value}): {r.status_code} {r.text[:200]}"
        if allowed:
            assert r.status_code not in (401, 403) and r.status_code < 500, label
        else:
            assert r.status_code == 403 and r.json()["code"] == "forbidden", label
            assert route.action.value in r.json()["error"]
        seen.add(route.action)
    assert seen == {r.action for r in _declared()}
    refused = {a for a in seen if not permissions.can(role, a)}
    audited = {row[0] for row in db.execute(text(
        "SELECT event_data->>'action' FROM whatsapp_audit_logs WHERE event_type = 'access_denied' "
        "AND actor_id = :u AND event_data->>'via' = 'api'"), {"u": people[role].id})}
    assert audited == {a.value for a in refused}


async def test_integration_credentials_get_the_owner_row_within_their_scopes(client, world, make_key):
    org, _, rows = world
    for credential in (make_key(org), service_role_jwt()):
        for route in _declared():
            method, path, body = _request(route, org.id, rows)
            r = await client.request(method, path, headers=headers(credential, org.id), json=body)
            assert r.status_code not in (401, 403) and r.status_code < 500, (route.path, r.text[:200])
    # A key without the route's scope is refused before the matrix is asked.
    read_only = headers(make_key(org, scopes=["read"]), org.id)
    r = await client.post(f"/api/notifications/{rows['pending']}/cancel", headers=read_only)
    assert r.status_code == 403 and r.json()["code"] == "missing_scope"


@pytest.mark.parametrize("role", permissions.ROLES)
async def test_retrying_an_unknown_notification_needs_the_retry_unknown_column(client, world, db, role):
    org, people, rows = world
    r = await client.post(f"/api/notifications/{rows['unknown']}/retry", headers=headers(user_jwt(people[role]),
                                                                                         org.id))
    status = db.execute(text("SELECT status FROM notification_queue WHERE id = :i"), {"i": rows["unknown"]}).scalar()
    if permissions.can(role, Action.retry_unknown):
        assert r.status_code == 200 and r.json()["notification"]["status"] == "pending", r.text
        assert status == "pending"
    else:
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
        assert status == "unknown"  # nothing was resent


async def test_retry_of_a_failed_notification_and_its_audit(client, world, db):
    org, people, rows = world
    r = await client.post(f"/api/notifications/{rows['failed']}/retry", headers=headers(user_jwt(people["member"]),
                                                                                        org.id))
    assert r.status_code == 200 and r.json()["notification"]["status"] == "pending", r.text
    r = await client.post(f"/api/notifications/{rows['failed']}/retry", headers=headers(user_jwt(people["member"]),
                                                                                        org.id))
    assert r.status_code == 409 and r.json()["code"] == "not_retryable"
    actors = [row[0] for row in db.execute(text(
        "SELECT actor_id FROM whatsapp_audit_logs WHERE event_type = 'queue_retried'"))]
    assert actors == [people["member"].id]


async def test_a_super_admin_jwt_reads_every_organisation_and_writes_in_none(client, world, make_org, make_user):
    org, people, rows = world
    elsewhere = make_org("Elsewhere")
    root = user_jwt(people["super_admin"])
    for target in (org, elsewhere):
        r = await client.get(f"/api/sessions/{target.id}/status", headers=headers(root, target.id))
        assert r.status_code == 200, r.text
    for method, path, body in (("POST", "/api/notifications", BODIES["/api/notifications"]),
                               ("POST", f"/api/notifications/{rows['pending']}/cancel", {}),
                               ("POST", "/api/sessions/init", {}), ("GET", f"/api/sessions/{org.id}/qr", {})):
        r = await client.request(method, path, headers=headers(root, org.id), json=body)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (path, r.text)
