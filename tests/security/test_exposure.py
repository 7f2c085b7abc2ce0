"""What leaks to whom: the linking code only to callers who may link a phone (never to webhooks or their stored
deliveries), the health check's detail only with the metrics token or a super_admin, and the API docs only where a
setting opens them (off in production by default)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.integrations import webhooks
from fleet_dashboard.whatsapp import engines, sessions
from tests.support.api import BASE_URL, headers, user_jwt

pytestmark = pytest.mark.anyio
CODE, QR = "WXYZ-1234", "2@secret-qr-payload"


@pytest.fixture
def pairing(db, make_org, make_user):
    """An organisation whose WhatsApp is being linked by a code (and shows a QR), with one person of each role."""
    org = make_org()
    row = sessions.get_or_create(session=db, org_id=org.id)
    row.status, row.qr_code, row.pair_code = "qr_pending", QR, CODE
    row.pair_code_expires_at = row.qr_expires_at = datetime.now(UTC) + timedelta(minutes=3)
    db.add(row)
    db.commit()
    people = {role: make_user(role, org) for role in ("owner", "admin", "member")}
    people["super_admin"] = make_user("super_admin")
    return org, people


@pytest.mark.parametrize(("role", "sees"), [("owner", True), ("admin", True), ("member", False),
                                            ("super_admin", False)])
async def test_the_linking_code_reaches_only_those_who_may_see_the_qr(client, pairing, role, sees):
    org, people = pairing
    auth = headers(user_jwt(people[role]), org.id)
    status = await client.get(f"/api/sessions/{org.id}/status", headers=auth)
    assert status.status_code == 200, status.text
    assert (status.json().get("pair_code") == CODE) is sees, status.json()
    assert (QR in status.text) is False
    qr = await client.get(f"/api/sessions/{org.id}/qr", headers=auth)
    assert (qr.status_code == 200) is sees


async def test_an_api_key_without_the_sessions_scope_never_sees_it(client, pairing, make_key):
    org, _ = pairing
    r = await client.get(f"/api/sessions/{org.id}/status", headers=headers(make_key(org, scopes=["sessions"]), org.id))
    assert r.json()["pair_code"] == CODE  # the organisation's own integration, allowed to link


async def test_webhooks_and_their_stored_deliveries_carry_no_pairing_secret(db, make_org):
    from fleet_dashboard.integrations import delivery

    org = make_org()
    webhooks.set_webhook(session=db, org_id=org.id, url="https://receiver.example/hook", events=["session.status"],
                         actor=SYSTEM)
    db.commit()
    event = {"type": "session.status", "org_id": str(org.id), "status": "qr_pending", "qr_code": QR,
             "pair_code": CODE, "pair_phone": "+201001234567", "qr_expires_at": "2030-01-01T00:00:00+00:00"}
    body = webhooks.build_payload(event)
    assert QR.encode() not in body and CODE.encode() not in body
    assert json.loads(body)["data"]["status"] == "qr_pending"
    delivery._owe(event)
    stored = db.execute(text("SELECT event::text FROM webhook_deliveries WHERE org_id = :o"), {"o": org.id}).all()
    assert stored and all(QR not in s[0] and CODE not in s[0] for s in stored), stored


@pytest.fixture
def engine_running(db):
    engines.beat(session=db, engine_id="host-a:4242", hostname="host-a", pid=4242, backend="neonize", capacity=50,
                 owned=7, connected=6, stuck_threads=0)
    db.commit()


async def test_anonymous_health_is_up_or_down_only(client, engine_running, db, make_org, make_user):
    r = await client.get("/api/health")
    assert r.status_code == 200 and set(r.json()) == {"success", "status"}, r.json()
    assert "4242" not in r.text and "host-a" not in r.text
    owner = make_user("owner", make_org())  # an organisation's person is no operator
    r = await client.get("/api/health", headers={"Authorization": f"Bearer {user_jwt(owner)}"})
    assert set(r.json()) == {"success", "status"}


async def test_health_detail_needs_the_metrics_token_or_a_super_admin(make_app, api_env, engine_running, make_user):
    api_env.setenv("METRICS_TOKEN", "health-detail-token")
    root = make_user("super_admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        for credential in ("health-detail-token", user_jwt(root)):
            r = await c.get("/api/health", headers={"Authorization": f"Bearer {credential}"})
            engine = r.json()["checks"]["engine"]
            assert engine["processes"] == 1 and engine["engines"][0]["pid"] == 4242, r.json()
        r = await c.get("/api/health", headers={"Authorization": "Bearer wrong-token"})
        assert set(r.json()) == {"success", "status"}


@pytest.mark.parametrize(("environment", "setting", "open_"), [
    ("production", None, False), ("production", "true", True), ("development", None, True),
    ("test", None, True), ("development", "false", False)])
async def test_api_docs_follow_a_setting_that_is_off_in_production(make_app, api_env, environment, setting, open_):
    api_env.setenv("ENVIRONMENT", environment)
    api_env.setenv("SECRET_KEY", "a-real-secret-" + uuid.uuid4().hex)
    api_env.setenv("WHATSAPP_BACKEND", "neonize")
    if setting is None:
        api_env.delenv("API_DOCS", raising=False)
    else:
        api_env.setenv("API_DOCS", setting)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        for path in ("/api/docs", "/api/openapi.json"):
            r = await c.get(path)
            assert (r.status_code == 200) is open_, (path, r.status_code)
            if not open_:
                assert r.status_code == 404 and r.json()["code"] == "not_found"
