"""The auth matrix: API keys and scopes, JWTs (user, super_admin, service role) and X-Org-Id rules."""

from __future__ import annotations

import uuid

import pytest

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.integrations import api_keys
from tests.support.api import headers, make_jwt, service_role_jwt, user_jwt

pytestmark = pytest.mark.anyio


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_token(claims: dict, secret: bytes) -> str:
    """HS256 by hand, so even a key no JOSE library would accept can be tried."""
    import hashlib
    import hmac
    import json

    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def status_url(org) -> str:
    return f"/api/sessions/{org.id}/status"


async def test_api_key_with_the_right_scope_reads_status(client, make_org, make_key):
    org = make_org()
    key = make_key(org, scopes=["sessions"])
    r = await client.get(status_url(org), headers=headers(key, org.id))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "status": "disconnected", "phone_number": None, "display_name": None,
                        "last_connected_at": None, "connection_error": None, "connection_error_code": None,
                        "next_retry_at": None, "pair_code": None, "pair_code_expires_at": None}


async def test_api_key_with_a_wrong_scope_is_403(client, make_org, make_key):
    org = make_org()
    key = make_key(org, scopes=["read"])
    r = await client.get(status_url(org), headers=headers(key, org.id))
    assert r.status_code == 403
    assert r.json()["success"] is False and "scope" in r.json()["error"]
    r = await client.post("/api/messages/send", headers=headers(key, org.id),
                          json={"recipient": "+201001234567", "message": "hi"})
    assert r.status_code == 403


async def test_revoked_key_is_401(client, db, make_org, make_key):
    org = make_org()
    key = make_key(org)
    assert (await client.get(status_url(org), headers=headers(key, org.id))).status_code == 200
    api_keys.revoke_key(session=db, key_id_or_prefix=key[:12], actor=SYSTEM)
    db.commit()
    r = await client.get(status_url(org), headers=headers(key, org.id))
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"success": False, "error": "invalid or revoked API key", "code": "unauthorized"}


async def test_key_is_stored_only_as_a_hash(db, make_org, make_key):
    org = make_org()
    key = make_key(org)
    row = api_keys.list_keys(session=db, org_id=org.id, actor=SYSTEM)[0]
    assert key not in (row.key_hash, row.prefix) and row.key_hash == api_keys.hash_key(key)
    assert key.startswith(row.prefix)


async def test_api_key_of_another_org_is_403(client, make_org, make_key):
    mine, other = make_org(), make_org("Other Fleet")
    key = make_key(mine)
    r = await client.get(status_url(other), headers=headers(key, other.id))
    assert r.status_code == 403


@pytest.mark.parametrize("credential", ["", "Basic abc", "Bearer fdk_nonsense", "Bearer not.a.jwt",
                                        "Bearer just-a-string"])
async def test_missing_or_garbage_credential_is_401(client, make_org, credential):
    org = make_org()
    r = await client.get(status_url(org), headers={"Authorization": credential, "X-Org-Id": str(org.id)})
    assert r.status_code == 401
    assert r.json()["success"] is False


async def test_jwt_signed_with_a_wrong_secret_is_401(client, make_org, make_user):
    org = make_org()
    owner = make_user("owner", org)
    token = make_jwt({"sub": str(owner.id), "aud": "authenticated"}, secret="another-secret-" + "y" * 32)
    r = await client.get(status_url(org), headers=headers(token, org.id))
    assert r.status_code == 401


async def test_expired_jwt_is_401(client, make_org, make_user):
    org = make_org()
    token = user_jwt(make_user("owner", org), exp=1_600_000_000)
    r = await client.get(status_url(org), headers=headers(token, org.id))
    assert r.status_code == 401 and "expired" in r.json()["error"]


async def test_jwt_without_exp_is_401(client, make_org, make_user):
    org = make_org()
    owner = make_user("owner", org)
    token = make_jwt({"sub": str(owner.id), "aud": "authenticated"}, ttl=None)
    assert (await client.get(status_url(org), headers=headers(token, org.id))).status_code == 401


async def test_alg_none_is_401(client, make_org, make_user):
    import base64
    import json
    import time

    org = make_org()
    owner = make_user("owner", org)

    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"sub": str(owner.id), "aud": "authenticated", "exp": int(time.time()) + 600}
    for alg in ("none", "None", "NONE"):
        token = f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}."
        r = await client.get(status_url(org), headers=headers(token, org.id))
        assert r.status_code == 401, alg
        assert "not accepted" in r.json()["error"]


async def test_wrong_audience_is_401(client, make_org, make_user):
    org = make_org()
    token = user_jwt(make_user("owner", org), aud="some-other-service")
    r = await client.get(status_url(org), headers=headers(token, org.id))
    assert r.status_code == 401 and "audience" in r.json()["error"]


@pytest.mark.parametrize("role", ["owner", "admin"])
async def test_owner_and_admin_jwts_work(client, make_org, make_user, role):
    org = make_org()
    r = await client.get(status_url(org), headers=headers(user_jwt(make_user(role, org)), org.id))
    assert r.status_code == 200, r.text


async def test_a_members_jwt_reads_but_may_not_connect_or_unlink(client, make_org, make_user):
    org = make_org()
    member = headers(user_jwt(make_user("member", org)), org.id)
    assert (await client.get(status_url(org), headers=member)).status_code == 200
    for method, path in (("POST", "/api/sessions/init"), ("GET", f"/api/sessions/{org.id}/qr"),
                         ("POST", f"/api/sessions/{org.id}/logout")):
        r = await client.request(method, path, headers=member)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (path, r.text)
        assert "member role may not" in r.json()["error"]


async def test_inactive_user_and_unknown_sub_are_401(client, db, make_org, make_user):
    org = make_org()
    owner = make_user("owner", org)
    owner.is_active = False
    db.add(owner)
    db.commit()
    assert (await client.get(status_url(org), headers=headers(user_jwt(owner), org.id))).status_code == 401
    token = make_jwt({"sub": str(uuid.uuid4()), "aud": "authenticated"})
    assert (await client.get(status_url(org), headers=headers(token, org.id))).status_code == 401


async def test_another_organisations_x_org_id_is_403(client, make_org, make_user):
    mine, other = make_org(), make_org("Other Fleet")
    token = user_jwt(make_user("owner", mine))
    r = await client.get(status_url(other), headers=headers(token, other.id))
    assert r.status_code == 403


async def test_path_org_id_differing_from_the_header_is_403(client, make_org, make_user, make_key):
    mine, other = make_org(), make_org("Other Fleet")
    for credential in (user_jwt(make_user("owner", mine)), make_key(mine)):
        r = await client.get(status_url(other), headers=headers(credential, mine.id))
        assert r.status_code == 403
        assert r.json()["code"] == "org_mismatch"


async def test_body_org_id_differing_from_the_header_is_403(client, make_org, make_key):
    mine, other = make_org(), make_org("Other Fleet")
    r = await client.post("/api/sessions/init", headers=headers(make_key(mine), mine.id),
                          json={"org_id": str(other.id)})
    assert r.status_code == 403 and r.json()["code"] == "org_mismatch"


async def test_super_admin_reads_any_organisation_but_writes_in_none(client, make_org, make_user):
    org = make_org()
    root = make_user("super_admin")
    r = await client.get(status_url(org), headers=headers(user_jwt(root), org.id))
    assert r.status_code == 200, r.text
    # Read-only, as on the dashboard: no connect, no unlink, no send (docs/SECURITY.md).
    for method, path in (("POST", "/api/sessions/init"), ("POST", f"/api/sessions/{org.id}/logout"),
                         ("POST", "/api/messages/send")):
        r = await client.request(method, path, headers=headers(user_jwt(root), org.id),
                                 json={"recipient": "+201001234567", "message": "hi"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (path, r.text)
    r = await client.get(f"/api/sessions/{uuid.uuid4()}/status", headers=headers(user_jwt(root), None))
    assert r.status_code == 400 and "X-Org-Id" in r.json()["error"]


async def test_service_role_acts_for_the_named_org(client, make_org):
    org = make_org()
    r = await client.get(status_url(org), headers=headers(service_role_jwt(), org.id))
    assert r.status_code == 200, r.text
    r = await client.get(status_url(org), headers=headers(service_role_jwt("wrong-" + "z" * 40), org.id))
    assert r.status_code == 401
    unknown = uuid.uuid4()
    r = await client.get(f"/api/sessions/{unknown}/status", headers=headers(service_role_jwt(), unknown))
    assert r.status_code == 404


async def test_bad_x_org_id_is_400(client, make_org, make_key):
    org = make_org()
    key = make_key(org)
    r = await client.get(status_url(org), headers=headers(key, None))
    assert r.status_code == 400
    r = await client.get(status_url(org), headers=headers(key, "not-a-uuid"))
    assert r.status_code == 400


async def test_rs256_and_es256_tokens_verify_against_a_jwks_url(api_env, make_app, make_org, make_user):
    """A local JWKS server on 127.0.0.1; keys are picked by kid, HS256 forgery with the public key fails."""
    import httpx
    from joserfc import jwt
    from joserfc.jwk import ECKey, KeySet, RSAKey

    from fleet_dashboard.api.tokens import JWKS
    from tests.support.receiver import serve_json

    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    with serve_json(KeySet([rsa, ec]).as_dict(private=False)) as url:
        api_env.setenv("JWT_JWKS_URL", url)
        JWKS.clear()
        org = make_org()
        owner = make_user("owner", org)
        claims = {"sub": str(owner.id), "aud": "authenticated", "exp": 4_000_000_000}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            for alg, key in (("RS256", rsa), ("ES256", ec)):
                token = jwt.encode({"alg": alg, "kid": key.kid}, claims, key)
                r = await c.get(status_url(org), headers=headers(token, org.id))
                assert r.status_code == 200, (alg, r.text)
            # Classic confusion attack: sign HS256 with the RSA public key as the HMAC secret.
            forged = _hmac_token(claims, rsa.as_pem(private=False))
            r = await c.get(status_url(org), headers=headers(forged, org.id))
            assert r.status_code == 401
            other = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
            r = await c.get(status_url(org), headers=headers(jwt.encode({"alg": "RS256", "kid": "rsa-1"},
                                                                         claims, other), org.id))
            assert r.status_code == 401
    JWKS.clear()
