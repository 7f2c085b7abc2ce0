"""Behind a reverse proxy every audit row and every limit names the real client, through one helper; IPv6
clients are counted per /64 (one machine owns a whole /64)."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from fleet_dashboard.core.ratelimit import limit_key
from tests.support.api import BASE_URL, headers, service_role_jwt, user_jwt

ROOT = Path(__file__).resolve().parents[2] / "fleet_dashboard"
PROXY, CLIENT = "10.0.0.2", "203.0.113.9"


@pytest.mark.anyio
async def test_every_api_audit_row_names_the_client_behind_the_proxy(make_app, api_env, db, make_org, make_user,
                                                                    make_key):
    api_env.setenv("TRUSTED_PROXIES", "1")
    org = make_org()
    member = make_user("member", org)
    key = make_key(org)
    via = {"X-Forwarded-For": f"6.6.6.6, {CLIENT}"}  # the left entry is the client's own claim: ignored
    # The rows already there (the fixtures' own, e.g. the key made by the service with no client) are not the
    # requests': only the rows written after this mark are asserted on.
    before = {r[0] for r in db.execute(text("SELECT id FROM whatsapp_audit_logs"))}
    transport = httpx.ASGITransport(app=make_app(), client=(PROXY, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        queued = await c.post("/api/notifications", headers={**headers(key, org.id), **via},
                              json={"recipient": "+201001234567", "template_name": "payment_reminder",
                                    "variables": {"customer_name": "x", "amount": "1", "due_date": "y"},
                                    "scheduled_for": "2099-01-01T00:00:00Z"})
        assert queued.status_code == 202, queued.text
        cancelled = await c.post(f"/api/notifications/{queued.json()['id']}/cancel",
                                 headers={**headers(key, org.id), **via})
        assert cancelled.status_code == 200, cancelled.text
        added = await c.post("/api/opt-outs", headers={**headers(key, org.id), **via}, json={"phone": "+201001234568"})
        assert added.status_code in (200, 201), added.text
        removed = await c.delete("/api/opt-outs/+201001234568", headers={**headers(key, org.id), **via})
        assert removed.status_code == 200, removed.text
        denied = await c.post("/api/sessions/init", headers={**headers(user_jwt(member), org.id), **via})
        assert denied.status_code == 403
        created = await c.put(f"/api/admin/organizations/{uuid.uuid4()}", headers={
            "Authorization": f"Bearer {service_role_jwt()}", **via}, json={"name": "Proxied Fleet"})
        assert created.status_code == 200, created.text
    # Every row the requests wrote, and only those.
    rows = [(kind, ip) for row_id, kind, ip in db.execute(text(
        "SELECT id, event_type, ip_address FROM whatsapp_audit_logs ORDER BY created_at")) if row_id not in before]
    assert rows, "the requests wrote no audit row"
    kinds = {kind for kind, _ in rows}
    assert {"message_scheduled", "opt_out_added", "opt_out_removed", "access_denied", "org_created"} <= kinds, kinds
    assert {ip for _, ip in rows} == {CLIENT}, rows


def test_no_api_route_reads_the_peer_address_itself():
    """One helper: no route module or dependency reads request.client on its own."""
    offenders = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        if path == ROOT / "api" / "limits.py":  # the helper itself
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "host" and \
                    isinstance(node.value, ast.Attribute) and node.value.attr == "client":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize(("address", "key"), [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2:ffff::9", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("unknown", "unknown"),
])
def test_limits_key_ipv6_clients_per_64(address, key):
    assert limit_key(address) == key
