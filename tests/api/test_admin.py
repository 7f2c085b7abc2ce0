"""The provisioning bridge as the fleet SaaS calls it: credentials, idempotent PUTs, errors, login links."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from fleet_dashboard.accounts import links
from fleet_dashboard.accounts.links import LinkError
from fleet_dashboard.accounts.models import OneTimeLink, User, WhatsAppAuditLog
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.integrations import api_keys
from tests.support.api import headers, make_jwt, service_role_jwt, user_jwt

pytestmark = pytest.mark.anyio

SR = {"Authorization": f"Bearer {service_role_jwt()}"}


def org_url(org_id) -> str:
    return f"/api/admin/organizations/{org_id}"


def user_url(org_id, user_id) -> str:
    return f"/api/admin/organizations/{org_id}/users/{user_id}"


def audit_count(db, org_id, event_type) -> int:
    rows = db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org_id,
                                                  WhatsAppAuditLog.event_type == event_type))
    return len(list(rows))


async def test_every_platform_credential_works_and_nothing_else_does(client, db, make_org, make_user, make_key):
    org = make_org()
    owner, root = make_user("owner", org), make_user("super_admin")
    _, platform_key = api_keys.create_platform_key(session=db, name="saas", actor=SYSTEM)
    db.commit()
    body = {"name": "Acme Fleet"}
    for credential in (service_role_jwt(), user_jwt(root), platform_key):
        r = await client.put(org_url(org.id), json=body, headers={"Authorization": f"Bearer {credential}"})
        assert r.status_code == 200, r.text
    for credential, status in ((user_jwt(owner), 403), (make_key(org), 403), ("fdk_not-a-key", 401),
                               (service_role_jwt(secret="another-secret-0123456789abcdef"), 401)):
        r = await client.put(org_url(org.id), json=body, headers={"Authorization": f"Bearer {credential}"})
        assert r.status_code == status, r.text
        assert r.json()["success"] is False
    r = await client.put(org_url(org.id), json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    # A platform key opens only /api/admin.
    r = await client.get(f"/api/sessions/{org.id}/status", headers=headers(platform_key, org.id))
    assert r.status_code == 403
    api_keys.revoke_key(session=db, key_id_or_prefix=platform_key[:12], actor=SYSTEM)
    db.commit()
    r = await client.put(org_url(org.id), json=body, headers={"Authorization": f"Bearer {platform_key}"})
    assert r.status_code == 401


async def test_put_organization_creates_then_repeats_idempotently(client, db):
    org_id = uuid.uuid4()
    body = {"name": "شركة النقل السريع", "slug": "fast-transport"}
    first = await client.put(org_url(org_id), json=body, headers=SR)
    assert first.status_code == 200, first.text
    assert first.json() == {"success": True, "organization": {"id": str(org_id), "name": body["name"],
                                                              "slug": "fast-transport"}}
    again = await client.put(org_url(org_id), json=body, headers=SR)
    assert again.status_code == 200 and again.json() == first.json()
    assert audit_count(db, org_id, "org_created") == 1 and audit_count(db, org_id, "org_renamed") == 0

    renamed = await client.put(org_url(org_id), json={"name": "Fast Transport"}, headers=SR)
    assert renamed.json()["organization"] == {"id": str(org_id), "name": "Fast Transport", "slug": "fast-transport"}
    r = await client.put(org_url(org_id), json={"name": "Fast Transport", "timezone": "Asia/Riyadh"}, headers=SR)
    assert r.status_code == 200
    detail = (await client.get(org_url(org_id), headers=SR)).json()["organization"]
    assert (detail["timezone"], detail["suspended"]) == ("Asia/Riyadh", False)


async def test_put_organization_errors(client, make_org):
    taken = make_org("Taken", slug="taken")
    new_id = uuid.uuid4()
    r = await client.put(org_url(new_id), json={"name": "Mine", "slug": "taken"}, headers=SR)
    assert r.status_code == 409 and r.json()["code"] == "org_exists"
    r = await client.put(org_url(new_id), json={"name": "Taken"}, headers=SR)  # derived slug: made unique
    assert r.status_code == 200 and r.json()["organization"]["slug"] == "taken-2"
    for body, code in (({"name": ""}, "validation"), ({"name": "X", "slug": "Bad Slug!"}, "org_slug"),
                       ({"slug": "x"}, "validation"), ({"name": "X", "timezone": "Mars/Base"}, "invalid_timezone")):
        r = await client.put(org_url(uuid.uuid4()), json=body, headers=SR)
        assert r.status_code == 422 and r.json()["code"] == code, (body, r.text)
    r = await client.put("/api/admin/organizations/not-a-uuid", json={"name": "X"}, headers=SR)
    assert r.status_code == 422
    r = await client.put(org_url(taken.id), content=b"{not json", headers={**SR, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    r = await client.get(org_url(uuid.uuid4()), headers=SR)
    assert r.status_code == 404 and r.json()["code"] == "unknown_org"


async def test_put_user_creates_updates_and_guards_emails(client, db, make_org, make_user):
    org = make_org()
    other_user = make_user("member", org, email="taken@fleet.local")
    user_id = uuid.uuid4()
    body = {"email": "Ops@Fleet.Local", "role": "owner", "full_name": "مدير العمليات"}
    first = await client.put(user_url(org.id, user_id), json=body, headers=SR)
    assert first.status_code == 200, first.text
    assert first.json() == {"success": True, "user": {"id": str(user_id), "org_id": str(org.id),
                                                      "email": "ops@fleet.local", "role": "owner",
                                                      "full_name": "مدير العمليات", "is_active": True}}
    assert (await client.put(user_url(org.id, user_id), json=body, headers=SR)).json() == first.json()
    assert db.get(User, user_id).password_hash is None
    assert audit_count(db, org.id, "user_provisioned") == 1 and audit_count(db, org.id, "user_updated") == 0

    r = await client.put(user_url(org.id, user_id), json={"email": "ops@fleet.local", "role": "admin"}, headers=SR)
    assert r.json()["user"]["role"] == "admin" and r.json()["user"]["full_name"] == "مدير العمليات"
    r = await client.put(user_url(org.id, user_id), json={"email": "taken@fleet.local", "role": "admin"}, headers=SR)
    assert r.status_code == 409 and r.json()["code"] == "email_exists"
    r = await client.put(user_url(org.id, uuid.uuid4()), json={"email": other_user.email, "role": "member"},
                         headers=SR)
    assert r.status_code == 409 and r.json()["code"] == "email_exists"
    for bad in ({"email": "nope", "role": "member"}, {"email": "a@fleet.local", "role": "super_admin"},
                {"role": "member"}):
        r = await client.put(user_url(org.id, uuid.uuid4()), json=bad, headers=SR)
        assert r.status_code == 422, (bad, r.text)
    r = await client.put(user_url(uuid.uuid4(), uuid.uuid4()), json={"email": "z@fleet.local", "role": "member"},
                         headers=SR)
    assert r.status_code == 404 and r.json()["code"] == "unknown_org"


async def test_delete_deactivates_and_the_users_jwt_stops_working(client, db, make_org):
    org = make_org()
    user_id = uuid.uuid4()
    await client.put(user_url(org.id, user_id), json={"email": "leaver@fleet.local", "role": "admin"}, headers=SR)
    token = user_jwt(db.get(User, user_id))
    assert (await client.get(f"/api/sessions/{org.id}/status", headers=headers(token, org.id))).status_code == 200
    for _ in range(2):  # idempotent
        r = await client.delete(user_url(org.id, user_id), headers=SR)
        assert r.status_code == 200 and r.json()["user"]["is_active"] is False
    assert audit_count(db, org.id, "user_deactivated") == 1
    r = await client.get(f"/api/sessions/{org.id}/status", headers=headers(token, org.id))
    assert r.status_code == 401
    r = await client.post(f"/api/admin/users/{user_id}/login-link", headers=SR)
    assert r.status_code == 409 and r.json()["code"] == "user_inactive"
    r = await client.delete(user_url(uuid.uuid4(), user_id), headers=SR)
    assert r.status_code == 404
    # The SaaS adds them back: PUT reactivates.
    r = await client.put(user_url(org.id, user_id), json={"email": "leaver@fleet.local", "role": "admin"},
                         headers=SR)
    assert r.json()["user"]["is_active"] is True
    assert (await client.get(f"/api/sessions/{org.id}/status", headers=headers(token, org.id))).status_code == 200


def _token(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


async def test_login_link_works_once_and_not_after_it_expires(client, db, make_org, make_user):
    org = make_org()
    user = make_user("member", org)
    r = await client.post(f"/api/admin/users/{user.id}/login-link", headers=SR, json={"next": "/history"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"success", "url", "expires_at"} and data["success"] is True
    assert data["url"].startswith("http://testserver/login/link?token=")
    expires = datetime.fromisoformat(data["expires_at"])
    assert timedelta(minutes=1) < expires - datetime.now(UTC) <= timedelta(minutes=5)
    signed = links.use_login_link(session=db, token=_token(data["url"]))
    db.commit()
    assert (signed.user.id, signed.next_path, signed.break_glass_by) == (user.id, "/history", None)
    with pytest.raises(LinkError) as twice:
        links.use_login_link(session=db, token=_token(data["url"]))
    assert twice.value.code == "link_used"
    db.rollback()

    r = await client.post(f"/api/admin/users/{user.id}/login-link", headers=SR)
    link = db.exec(select(OneTimeLink).where(OneTimeLink.used_at.is_(None))).one()
    link.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()
    with pytest.raises(LinkError) as expired:
        links.use_login_link(session=db, token=_token(r.json()["url"]))
    assert expired.value.code == "link_expired"
    db.rollback()
    r = await client.post(f"/api/admin/users/{uuid.uuid4()}/login-link", headers=SR)
    assert r.status_code == 404 and r.json()["code"] == "unknown_user"


async def test_suspended_organisation_gets_403_on_every_seed_route(client, db, make_org, make_user, make_key):
    org = make_org()
    owner = make_user("owner", org)
    key = make_key(org)
    r = await client.post(f"{org_url(org.id)}/suspend", headers=SR, json={"reason": "subscription ended"})
    assert r.status_code == 200 and r.json()["organization"]["suspended"] is True
    calls = [("post", "/api/sessions/init", {"org_id": str(org.id)}), ("get", f"/api/sessions/{org.id}/qr", None),
             ("get", f"/api/sessions/{org.id}/status", None), ("post", f"/api/sessions/{org.id}/logout", None),
             ("post", "/api/messages/send-template", {"recipient": "+201001234567", "template_name": "trial_welcome",
                                                      "variables": {"customer_name": "x"}})]
    for credential in (user_jwt(owner), service_role_jwt(), key):
        for method, path, body in calls:
            kwargs = {"json": body} if body is not None else {}
            r = await getattr(client, method)(path, headers=headers(credential, org.id), **kwargs)
            assert r.status_code == 403, (path, r.text)
            assert r.json() == {"success": False, "error": f"organisation {org.id} is suspended",
                                "code": "organization_suspended"}
    r = await client.post(f"{org_url(org.id)}/resume", headers=SR)
    assert r.json()["organization"]["suspended"] is False
    r = await client.get(f"/api/sessions/{org.id}/status", headers=headers(user_jwt(owner), org.id))
    assert r.status_code == 200


@pytest.fixture
def jit(api_env):
    api_env.setenv("JWT_PROVISION_FROM_CLAIMS", "true")


def saas_jwt(user_id, org_id, role, email, *, iat=None, name=None):
    claims = {"sub": str(user_id), "aud": "authenticated", "role": "authenticated", "email": email,
              "app_metadata": {"provider": "email", "org_id": str(org_id), "role": role}}
    if name:
        claims["user_metadata"] = {"full_name": name}
    if iat is not None:
        claims["iat"] = iat
    return make_jwt(claims)


async def test_jit_provisioning_from_supabase_claims(jit, client, db, make_org):
    org = make_org()
    user_id = uuid.uuid4()
    status = f"/api/sessions/{org.id}/status"
    token = saas_jwt(user_id, org.id, "owner", "Boss@Fleet.Local", name="المالك")
    r = await client.get(status, headers=headers(token, org.id))
    assert r.status_code == 200, r.text
    user = db.get(User, user_id)
    assert (user.email, user.role, user.org_id, user.full_name) == ("boss@fleet.local", "owner", org.id, "المالك")
    assert (await client.get(status, headers=headers(token, org.id))).status_code == 200
    assert audit_count(db, org.id, "user_provisioned") == 1

    member_id = uuid.uuid4()  # a member is created, and has a member's rights: it reads, it may not pair
    member = headers(saas_jwt(member_id, org.id, "member", "m@fleet.local"), org.id)
    assert (await client.get(status, headers=member)).status_code == 200
    r = await client.get(f"/api/sessions/{org.id}/qr", headers=member)
    assert r.status_code == 403 and db.get(User, member_id).role == "member"

    ghost = uuid.uuid4()  # no such organisation: nothing is created
    r = await client.get(status, headers=headers(saas_jwt(ghost, uuid.uuid4(), "owner", "g@fleet.local"), org.id))
    assert r.status_code == 401 and db.get(User, ghost) is None


async def test_jit_never_undoes_a_newer_change_nor_revives_a_deactivated_user(jit, client, db, make_org):
    org = make_org()
    user_id = uuid.uuid4()
    old_iat = int(datetime.now(UTC).timestamp()) - 600
    status = f"/api/sessions/{org.id}/status"
    await client.put(user_url(org.id, user_id), json={"email": "a@fleet.local", "role": "member"}, headers=SR)
    stale = saas_jwt(user_id, org.id, "admin", "a@fleet.local", iat=old_iat)  # issued before the bridge's PUT
    # The stale claims say admin; the row says member, and a member may not see the pairing QR.
    assert (await client.get(f"/api/sessions/{org.id}/qr", headers=headers(stale, org.id))).status_code == 403
    db.expire_all()
    assert db.get(User, user_id).role == "member"
    fresh = saas_jwt(user_id, org.id, "admin", "a@fleet.local", iat=int(datetime.now(UTC).timestamp()) + 5)
    assert (await client.get(status, headers=headers(fresh, org.id))).status_code == 200
    db.expire_all()
    assert db.get(User, user_id).role == "admin"
    await client.delete(user_url(org.id, user_id), headers=SR)
    later = saas_jwt(user_id, org.id, "admin", "a@fleet.local", iat=int(datetime.now(UTC).timestamp()) + 60)
    assert (await client.get(status, headers=headers(later, org.id))).status_code == 401


async def test_without_the_setting_claims_create_nobody(client, db, make_org):
    org = make_org()
    user_id = uuid.uuid4()
    r = await client.get(f"/api/sessions/{org.id}/status",
                         headers=headers(saas_jwt(user_id, org.id, "owner", "x@fleet.local"), org.id))
    assert r.status_code == 401 and db.get(User, user_id) is None


async def test_the_bridge_is_in_the_openapi_schema(client):
    schema = (await client.get("/api/openapi.json")).json()
    for path, method in (("/api/admin/organizations/{org_id}", "put"),
                         ("/api/admin/organizations/{org_id}/users/{user_id}", "put"),
                         ("/api/admin/organizations/{org_id}/users/{user_id}", "delete"),
                         ("/api/admin/users/{user_id}/login-link", "post")):
        op = schema["paths"][path][method]
        assert op["summary"] and "admin" in op["tags"] and "422" in op["responses"], path


async def test_the_dashboards_team_changes_bind_the_saas_users_jwt(client, db, make_org):
    """A SaaS-made user managed on the dashboard's people page: their user JWT follows each change."""
    from fleet_dashboard.accounts import people
    from fleet_dashboard.accounts.permissions import Actor

    org_id, owner_id, member_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert (await client.put(org_url(org_id), json={"name": "SaaS Org"}, headers=SR)).status_code == 200
    for user_id, email, role in ((owner_id, "boss@fleet.local", "owner"), (member_id, "ops@fleet.local", "member")):
        r = await client.put(user_url(org_id, user_id), json={"email": email, "role": role}, headers=SR)
        assert r.status_code == 200, r.text
    member = headers(user_jwt(db.get(User, member_id)), org_id)
    qr = f"/api/sessions/{org_id}/qr"
    assert (await client.get(qr, headers=member)).status_code == 403  # a member may not pair

    owner = Actor(role="owner", org_id=org_id, user_id=owner_id, ip_address="10.0.0.9")
    people.change_role(session=db, actor=owner, org_id=org_id, user_id=member_id, role="admin")
    db.commit()
    r = await client.post("/api/sessions/init", headers=member, json={"org_id": str(org_id)})
    assert r.status_code == 200, r.text  # an admin may
    people.deactivate(session=db, actor=owner, org_id=org_id, user_id=member_id)
    db.commit()
    assert (await client.get(f"/api/sessions/{org_id}/status", headers=member)).status_code == 401
    r = await client.post(f"/api/admin/users/{member_id}/login-link", headers=SR)
    assert r.status_code == 409 and r.json()["code"] == "user_inactive"
    for event_type in ("user_provisioned", "role_changed", "user_deactivated"):
        assert audit_count(db, org_id, event_type) >= 1, event_type
