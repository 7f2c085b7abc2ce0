"""Deny by default over the sending guards' API, each route called by name: the rules (GET|PUT /api/settings/sending),
the number's health and its manual resume, the look-up cache (GET /api/contacts/{phone}), and the simulator's
controls of the sending number (unregistered, ban, fail-sends, ...) when SIMULATOR_TOKEN locks them.

A member, another organisation, the read-only super_admin and an anonymous caller each get the right refusal, with
crafted payloads; nothing of the victim's changes, and nothing of it is read by another organisation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.deliverability import contacts, pauses, rules
from fleet_dashboard.deliverability.contacts import Answer
from tests.support.api import BASE_URL, headers, service_role_jwt, user_jwt

pytestmark = pytest.mark.anyio

CACHED = "+201005550199"  # the victim's look-up cache knows this number
VICTIM_RULES = {"typing": False, "quiet_hours": {"start": "23:00", "end": "07:00", "days_off": ["friday"]},
                "daily_cap": 321, "warmup": False}
# Bodies an attacker would try on PUT: another organisation named inside, junk types, huge values, nesting.
CRAFTED_RULES = [
    {"daily_cap": 1}, {"org_id": "VICTIM", "daily_cap": 1}, {"daily_cap": 10**30}, {"daily_cap": -5},
    {"daily_cap": [1]}, {"quiet_hours": "22:00-08:00"}, {"quiet_hours": {"start": "'; DROP TABLE x; --",
                                                                         "end": "08:00"}},
    {"quiet_hours": {"start": "22:00", "end": "08:00", "days_off": ["friday"] * 10_000}},
    {"quiet_hours": {"days_off": {"a": {"b": {"c": 1}}}}}, {"typing": None}, {"warmup": "x" * 70_000}, [], "x", 7,
]


@pytest.fixture
def victim(db, make_org, make_user):
    """An organisation with its own rules, a paused number and a cached look-up, and a person of every role."""
    org = make_org("Victim Fleet")
    people = {role: make_user(role, org) for role in ("owner", "admin", "member")}
    people["super_admin"] = make_user("super_admin")
    rules.set_rules(session=db, org_id=org.id, actor=SYSTEM, body=VICTIM_RULES)
    pauses.pause(session=db, org_id=org.id, reason="temporary_ban", detail="victim-ban")
    contacts.record(session=db, answers=[(org.id, Answer(phone=CACHED, on_whatsapp=False))])
    db.commit()
    return org, people


def _state(db, org_id) -> tuple:
    """What a refused caller must not change: the rules, the open pause, the look-up cache."""
    return (rules.get_rules(session=db, org_id=org_id).view(),
            db.execute(text("SELECT count(*) FROM sending_pauses WHERE org_id = :o AND resumed_at IS NULL"),
                       {"o": org_id}).scalar(),
            [tuple(r) for r in db.execute(text("SELECT phone, on_whatsapp FROM contact_checks WHERE org_id = :o"),
                                          {"o": org_id})])


def _denied(db, user_id) -> list[str]:
    return [r[0] for r in db.execute(text(
        "SELECT event_data->>'action' FROM whatsapp_audit_logs WHERE event_type = 'access_denied' AND actor_id = :u "
        "ORDER BY created_at"), {"u": user_id})]


async def _writes(client, h, victim_org_id) -> list[httpx.Response]:
    out = []
    for body in CRAFTED_RULES:
        if isinstance(body, dict) and body.get("org_id") == "VICTIM":
            body = {**body, "org_id": str(victim_org_id)}
        out.append(await client.put("/api/settings/sending", headers=h, json=body))
    out.append(await client.post("/api/number-health/resume", headers=h, json={"org_id": str(victim_org_id)}))
    return out


@pytest.mark.parametrize("role", ["member", "super_admin"])
async def test_a_member_and_the_super_admin_read_the_guards_and_change_nothing(client, db, victim, role):
    org, people = victim
    before = _state(db, org.id)
    h = headers(user_jwt(people[role]), org.id)
    rules_view = await client.get("/api/settings/sending", headers=h)
    assert rules_view.status_code == 200 and rules_view.json()["daily_cap"] == 321, rules_view.text
    health = await client.get("/api/number-health", headers=h)
    assert health.status_code == 200 and health.json()["paused"] is True, health.text
    contact = await client.get(f"/api/contacts/{CACHED}", headers=h)
    assert contact.status_code == 200 and contact.json()["on_whatsapp"] is False, contact.text
    for r in await _writes(client, h, org.id):
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
        assert r.json()["success"] is False
    assert _state(db, org.id) == before
    # Each refusal is on record, naming the column.
    assert _denied(db, people[role].id) == ["sending"] * (len(CRAFTED_RULES) + 1)


@pytest.mark.parametrize("role", ["owner", "admin"])
async def test_owners_and_admins_change_the_rules_and_crafted_bodies_are_clear_422s(client, db, victim, role):
    org, people = victim
    h = headers(user_jwt(people[role]), org.id)
    for r in (await _writes(client, h, org.id))[:-1]:
        assert r.status_code in (200, 422), r.text
        assert r.headers["content-type"].startswith("application/json")
        if r.status_code == 422:
            assert r.json()["success"] is False and r.json()["code"], r.text
    # The first body (daily_cap 1) was a fair change; an org_id inside the body names nothing else.
    assert rules.get_rules(session=db, org_id=org.id).daily_cap == 1
    resumed = await client.post("/api/number-health/resume", headers=h)
    assert resumed.status_code == 409 and resumed.json()["code"] == "not_paused"  # the crafted body's resume won
    assert _state(db, org.id)[1] == 0


async def test_another_organisation_reads_and_changes_nothing_of_the_victims(client, db, victim, make_org,
                                                                            make_user, make_key):
    org, _ = victim
    before = _state(db, org.id)
    mine = make_org("Intruder Fleet")
    for credential in (user_jwt(make_user("owner", mine)), make_key(mine)):
        # The victim's X-Org-Id: refused before anything is read.
        for method, path in (("GET", "/api/settings/sending"), ("GET", "/api/number-health"),
                             ("GET", f"/api/contacts/{CACHED}"), ("PUT", "/api/settings/sending"),
                             ("POST", "/api/number-health/resume")):
            r = await client.request(method, path, headers=headers(credential, org.id), json={"daily_cap": 1})
            assert r.status_code == 403, (method, path, r.text)
            assert "321" not in r.text and "victim-ban" not in r.text
        # Their own X-Org-Id: their own organisation's answers, whatever the body names.
        own = headers(credential, mine.id)
        contact = await client.get(f"/api/contacts/{CACHED}", headers=own)
        assert contact.status_code == 200 and contact.json()["on_whatsapp"] is None, contact.text
        health = await client.get("/api/number-health", headers=own)
        assert health.json()["paused"] is False and "victim-ban" not in health.text
        r = await client.put("/api/settings/sending", headers=own, json={"org_id": str(org.id), "daily_cap": 2})
        assert r.status_code == 422, r.text  # an unknown field, not a way to name another organisation
        r = await client.post("/api/number-health/resume", headers=own, json={"org_id": str(org.id)})
        assert r.status_code == 409 and r.json()["code"] == "not_paused"
    assert _state(db, org.id) == before


async def test_anonymous_and_dead_credentials_get_401_on_every_guard_route(client, db, victim):
    org, people = victim
    before = _state(db, org.id)
    for h in ({"X-Org-Id": str(org.id)}, headers("fdk_" + "B" * 43, org.id),
              headers(user_jwt(people["owner"], exp=1), org.id), headers("a.b.c", org.id)):
        for method, path in (("GET", "/api/settings/sending"), ("PUT", "/api/settings/sending"),
                             ("GET", "/api/number-health"), ("POST", "/api/number-health/resume"),
                             ("GET", f"/api/contacts/{CACHED}")):
            r = await client.request(method, path, headers=h, json={"daily_cap": 1})
            assert r.status_code == 401, (h, method, path, r.text)
    assert _state(db, org.id) == before


@pytest.mark.parametrize("phone", ["not-a-phone", "%2B201005550199", "..%2F..%2Fetc%2Fpasswd", "%27%20OR%201%3D1",
                                   "9" * 64, "+2010055501990000", "٠١٠٠٥٥٥٠١٩٩", "%00"])
async def test_crafted_contact_look_ups_are_clear_answers(client, db, victim, phone):
    org, people = victim
    r = await client.get(f"/api/contacts/{phone}", headers=headers(user_jwt(people["member"]), org.id))
    assert r.status_code in (200, 404, 422), r.text
    assert r.headers["content-type"].startswith("application/json") and "Traceback" not in r.text
    if r.status_code == 200:  # a spelling of a real number: the organisation's own answer for it
        assert r.json()["phone"].startswith("+")


# ---- the simulator's controls of the sending number, locked by SIMULATOR_TOKEN ----

TOKEN = "simulator-token-for-the-security-suite"


def _controls(org_id) -> list[tuple[str, str, dict | None]]:
    base = f"/api/simulator/{org_id}"
    return [("POST", f"{base}/unregistered", {"phones": [CACHED]}), ("POST", f"{base}/ban", {"seconds": 600}),
            ("POST", f"{base}/fail-sends", {"count": 5, "code": 463}), ("POST", f"{base}/unknown-sends", {"count": 1}),
            ("POST", f"{base}/fail-connects", {"count": 1}), ("POST", f"{base}/scan", {"phone": "+201001234567"}),
            ("POST", f"{base}/confirm-code", {"code": "ABCD1234"}), ("POST", f"{base}/drop", None),
            ("POST", f"{base}/logout", None), ("POST", f"{base}/inbound", {"from": "+201001234567", "text": "x"}),
            ("POST", f"{base}/receipt", {"whatsapp_message_id": "w", "type": "read"}), ("GET", f"{base}/sent", None)]


@pytest.fixture
def locked_simulator(api_env, make_app):
    api_env.setenv("SIMULATOR_TOKEN", TOKEN)
    transport = httpx.ASGITransport(app=make_app())
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


async def test_a_member_or_the_super_admin_cannot_drive_the_organisations_phone(locked_simulator, db, victim,
                                                                              make_org, make_user):
    """A member may not link the number (no QR), nor the super_admin: their JWTs must not ban it, fail its sends or
    mark its customers unregistered through the simulator either. Nothing is even submitted to an engine."""
    org, people = victim
    other_owner = make_user("owner", make_org("Other Fleet"))
    async with locked_simulator as c:
        for who, credential, status in (("member", user_jwt(people["member"]), 403),
                                        ("super_admin", user_jwt(people["super_admin"]), 403),
                                        ("other org's owner", user_jwt(other_owner), 403),
                                        ("anonymous", None, 401)):
            for method, path, body in _controls(org.id):
                h = {"Authorization": f"Bearer {credential}", "X-Org-Id": str(org.id)} if credential else {}
                r = await c.request(method, path, headers=h, **({"json": body} if body is not None else {}))
                assert r.status_code == status, (who, path, r.text)
                assert r.json()["success"] is False
        # The organisation's own owner holds the phone (read here: no engine runs to take a command).
        r = await c.get(f"/api/simulator/{org.id}/sent", headers=headers(user_jwt(people["owner"]), org.id))
        assert r.status_code == 200, r.text
    assert db.execute(text("SELECT count(*) FROM simulator_commands WHERE org_id = :o"), {"o": org.id}).scalar() == 0
    assert set(_denied(db, people["member"].id)) == {"connect"}
    assert set(_denied(db, people["super_admin"].id)) == {"connect"}


async def test_the_service_role_and_keys_still_drive_their_own_phone(locked_simulator, db, victim, make_key):
    org, _ = victim
    async with locked_simulator as c:
        for credential in (service_role_jwt(), make_key(org, scopes=["sessions"])):
            r = await c.get(f"/api/simulator/{org.id}/sent", headers=headers(credential, org.id))
            assert r.status_code == 200, r.text
        r = await c.get(f"/api/simulator/{org.id}/sent", headers=headers(make_key(org, scopes=["read", "send"]),
                                                                        org.id))
        assert r.status_code == 403 and r.json()["code"] == "missing_scope"
