"""The simulator's control routes: open in development/test, locked by SIMULATOR_TOKEN when set; never in production."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from fleet_dashboard.core.settings import Settings
from tests.support.api import headers, user_jwt

pytestmark = pytest.mark.anyio

TOKEN = "simulator-token-for-this-test-0123"


def _routes(org_id) -> list[tuple[str, str, dict | None]]:
    base = f"/api/simulator/{org_id}"
    return [("post", f"{base}/scan", {"phone": "+201001234567"}), ("post", f"{base}/drop", None),
            ("post", f"{base}/logout", None), ("post", f"{base}/inbound", {"from": "+201001234567", "text": "x"}),
            ("post", f"{base}/fail-sends", {"count": 1}), ("post", f"{base}/fail-connects", {"count": 1}),
            ("post", f"{base}/unknown-sends", {"count": 1}),
            ("post", f"{base}/receipt", {"whatsapp_message_id": "w", "type": "read"}), ("get", f"{base}/sent", None)]


@pytest.fixture
def sim_app(api_env, make_app):
    api_env.setenv("SIMULATOR_TOKEN", TOKEN)
    return make_app


async def _call(client, method, path, body, hdrs):
    return await getattr(client, method)(path, headers=hdrs, **({"json": body} if body is not None else {}))


async def test_every_control_route_refuses_a_caller_without_the_token_or_a_credential(sim_app, db, make_org,
                                                                                      make_key):
    import httpx

    org, other = make_org(), make_org("Other")
    other_key = make_key(other)
    read_only = make_key(org, scopes=["read"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app()), base_url="http://t") as client:
        for method, path, body in _routes(org.id):
            for hdrs, status in (({}, 401), ({"Authorization": "Bearer wrong-token"}, 401),
                                 ({"Authorization": f"Bearer {TOKEN}x"}, 401),
                                 (headers(other_key, other.id), 403), (headers(other_key, None), 403),
                                 (headers(read_only, org.id), 403)):
                r = await _call(client, method, path, body, hdrs)
                assert r.status_code == status, (path, hdrs, r.text)
                assert r.json()["success"] is False


async def test_the_token_and_the_organisations_own_credentials_pass(sim_app, db, make_org, make_key):
    import httpx

    from fleet_dashboard.accounts import users

    org = make_org()
    key = make_key(org)
    owner = users.create_user(session=db, email=f"o-{uuid.uuid4().hex[:6]}@example.com", password="pw-0123456789",
                              role="owner", org_id=org.id)
    db.commit()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app()), base_url="http://t") as client:
        for hdrs in ({"Authorization": f"Bearer {TOKEN}"}, headers(key, org.id), headers(key, None),
                     headers(user_jwt(owner), org.id)):
            r = await client.get(f"/api/simulator/{org.id}/sent", headers=hdrs)
            assert r.status_code == 200, r.text
            assert r.json() == {"success": True, "count": 0, "messages": []}


async def test_without_a_token_setting_the_routes_stay_open_in_development_and_test(api_env, make_app, db,
                                                                                      make_org):
    import httpx

    api_env.delenv("SIMULATOR_TOKEN", raising=False)
    org = make_org()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as client:
        r = await client.get(f"/api/simulator/{org.id}/sent")
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 0


def test_simulator_mode_is_refused_outside_development_and_test(monkeypatch):
    monkeypatch.delenv("WHATSAPP_BACKEND", raising=False)
    real = {"secret_key": "a-real-secret-0123456789", "_env_file": None}
    with pytest.raises(ValidationError, match="WHATSAPP_BACKEND=simulator"):
        Settings(environment="production", whatsapp_backend="simulator", **real)
    for environment in ("development", "test"):
        assert Settings(environment=environment, whatsapp_backend="simulator", **real).whatsapp_backend == "simulator"
    assert Settings(environment="production", whatsapp_backend="neonize", **real)


def test_the_cli_refuses_to_start_with_one_clear_line(monkeypatch, capsys):
    from fleet_dashboard import cli
    from fleet_dashboard.core.settings import get_settings

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-0123456789")
    monkeypatch.setenv("WHATSAPP_BACKEND", "simulator")
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 2
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "WHATSAPP_BACKEND=simulator" in err and "Traceback" not in err
