"""What any HTTP client sees: health, limits with Retry-After, 4xx for bad bodies, headers, CORS, docs."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.api import BASE_URL, headers

pytestmark = pytest.mark.anyio

# The health check's detail is for operators: the metrics token (or a super_admin's JWT; tests/security).
OPERATOR = {"Authorization": "Bearer health-operator-token"}


@pytest.fixture
def operator(api_env):
    """METRICS_TOKEN set to OPERATOR's token."""
    from fleet_dashboard.core.settings import get_settings

    api_env.setenv("METRICS_TOKEN", OPERATOR["Authorization"].split()[1])
    get_settings.cache_clear()


async def test_health_reports_database_and_engine_to_an_operator(client, operator):
    r = await client.get("/api/health", headers=OPERATOR)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["status"] == "healthy"
    assert body["checks"]["database"] == "ok" and "status" in body["checks"]["engine"]
    assert body["timestamp"]


async def test_health_says_degraded_while_redis_is_away_and_keeps_serving(make_app, api_env, operator):
    api_env.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        r = await c.get("/api/health", headers=OPERATOR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["success"], body["status"], body["checks"]["redis"]) == (True, "degraded", "unreachable")
    assert body["checks"]["database"] == "ok" and body["degraded"][0]["check"] == "redis"


async def test_sessions_routes_answer_429_with_retry_after(make_app, api_env, make_org, make_key):
    api_env.setenv("RATE_LIMIT_SESSIONS", "3/15minutes")
    org = make_org()
    key = make_key(org)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        for _ in range(3):
            assert (await c.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))).status_code == 200
        r = await c.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))
        assert r.status_code == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 15 * 60
        assert r.json()["success"] is False and r.json()["code"] == "rate_limited"
        # Counted per organisation after auth: a stranger's bad credential is refused as such, not counted.
        r = await c.get(f"/api/sessions/{org.id}/status", headers=headers("fdk_guess", org.id))
        assert r.status_code == 401


async def test_send_routes_are_limited_per_organisation(make_app, api_env, make_org, make_key):
    api_env.setenv("RATE_LIMIT_SEND", "2/minute")
    org, other = make_org(), make_org("Other Fleet")
    key, other_key = make_key(org), make_key(other)
    body = {"recipient": "+201001234567", "message": "hello"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        codes = [(await c.post("/api/messages/send", headers=headers(key, org.id), json=body)).status_code
                 for _ in range(3)]
        assert codes[:2] == [409, 409], "not connected: refused fast, but counted"
        assert codes[2] == 429
        r = await c.post("/api/messages/send", headers=headers(other_key, other.id), json=body)
        assert r.status_code == 409, "another organisation has its own budget"


@pytest.mark.parametrize(("content", "status"), [
    (b"{not json", 400),
    (b'{"recipient": 201001234567, "message": "hi"}', 422),
    (b'{"recipient": "+201001234567"}', 422),
    (b'{"recipient": "+201001234567", "message": "hi", "type": "image"}', 422),
    (b'["+201001234567", "hi"]', 422),
    (b'"just a string"', 422),
    (b"null", 422),
    (b'{"recipient": "not a phone", "message": "hi"}', 422),
    (b'{"recipient": "+201001234567", "message": ""}', 422),
])
async def test_bad_send_bodies_get_a_4xx_with_the_error_shape(client, make_org, make_key, content, status):
    org = make_org()
    r = await client.post("/api/messages/send", headers=headers(make_key(org), org.id), content=content)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and isinstance(body["error"], str) and body["error"]


@pytest.mark.parametrize("payload", [
    {"recipient": "+201001234567", "template_id": "not-a-uuid"},
    {"recipient": "+201001234567", "template_id": "00000000-0000-0000-0000-000000000000"},
    {"recipient": "+201001234567", "template_name": "no_such_template"},
    {"recipient": "+201001234567"},
    {"recipient": "+201001234567", "template_name": "x", "variables": ["not", "a", "dict"]},
])
async def test_unknown_templates_and_bad_template_bodies_get_a_4xx(client, make_org, make_key, payload):
    org = make_org()
    r = await client.post("/api/messages/send-template", headers=headers(make_key(org), org.id), json=payload)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["success"] is False


async def test_body_size_is_capped(make_app, api_env, make_org, make_key):
    """MAX_BODY_BYTES caps every route but the three that take a file (those fit the largest file)."""
    api_env.setenv("MAX_BODY_BYTES", "1000")
    api_env.setenv("MEDIA_MAX_DOCUMENT_BYTES", "3000")
    api_env.setenv("MEDIA_MAX_IMAGE_BYTES", "2000")
    org = make_org()
    key = make_key(org)
    big = b'{"org_id": "' + b"x" * 2000 + b'"}'
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        r = await c.post("/api/sessions/init", headers=headers(key, org.id), content=big)
        assert r.status_code == 413 and r.json()["code"] == "body_too_large"

        async def chunks(n):  # no Content-Length: the cap must still hold
            for _ in range(n):
                yield b"x" * 300

        r = await c.post("/api/sessions/init", headers=headers(key, org.id), content=chunks(10))
        assert r.status_code == 413
        # A file route takes the largest file in base64 plus its JSON (3000 * 4/3 + 64 KiB), and no more.
        r = await c.post("/api/messages/send", headers=headers(key, org.id), content=chunks(10))
        assert r.status_code != 413
        r = await c.post("/api/messages/send", headers=headers(key, org.id), content=chunks(240))
        assert r.status_code == 413 and r.json()["code"] == "body_too_large"


async def test_helmet_security_headers_on_api_responses(client):
    r = await client.get("/api/health")
    for name, value in {"x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN",
                        "referrer-policy": "no-referrer", "x-dns-prefetch-control": "off",
                        "cross-origin-opener-policy": "same-origin", "x-xss-protection": "0",
                        "strict-transport-security": "max-age=31536000; includeSubDomains"}.items():
        assert r.headers[name] == value
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "server" not in r.headers


async def test_cors_follows_allowed_origins(make_app, api_env):
    api_env.setenv("ALLOWED_ORIGINS", "https://fleet.example.com, https://admin.example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type,x-org-id"}
        r = await c.options("/api/messages/send", headers={"Origin": "https://admin.example.com", **preflight})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://admin.example.com"
        assert "x-org-id" in r.headers["access-control-allow-headers"].lower()
        r = await c.options("/api/messages/send", headers={"Origin": "https://evil.example", **preflight})
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers


async def test_a_browser_at_an_allowed_origin_may_use_every_method_the_api_has(make_app, api_env):
    """PUT /api/settings/sending (and the bridge's PUTs) from the SaaS's own page: the preflight must allow PUT."""
    from tests.security.catalog import api_routes

    api_env.setenv("ALLOWED_ORIGINS", "https://fleet.example.com")
    used = {m for r in api_routes() if "{rest:path}" not in r.path for m in r.methods} - {"HEAD"}
    assert {"GET", "POST", "PUT", "DELETE"} <= used
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        for method in sorted(used):
            r = await c.options("/api/settings/sending", headers={
                "Origin": "https://fleet.example.com", "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type,x-org-id"})
            assert r.status_code == 200, (method, r.text)
            assert method in r.headers["access-control-allow-methods"]


async def test_openapi_and_self_hosted_docs(client):
    spec = (await client.get("/api/openapi.json")).json()
    for path in ("/api/sessions/init", "/api/sessions/{org_id}/qr", "/api/sessions/{org_id}/status",
                 "/api/sessions/{org_id}/logout", "/api/messages/send", "/api/messages/send-template",
                 "/api/messages/{message_id}", "/api/messages", "/api/notifications",
                 "/api/notifications/{notification_id}", "/api/notifications/{notification_id}/cancel"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # Nothing loaded from the internet: every script and stylesheet comes from this server.
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/api/") for a in assets), assets
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
    assert "'unsafe-inline'" in docs.headers["content-security-policy"]


async def test_unknown_api_paths_and_methods_answer_json(client):
    r = await client.get("/api/nope")
    assert r.status_code == 404 and r.json()["success"] is False
    r = await client.delete("/api/messages/send")
    assert r.status_code == 405 and r.json()["success"] is False


async def test_database_down_is_503_not_500(make_app, api_env, make_org, make_key, operator):
    from tests.conftest import reset_caches

    org = make_org()
    key = make_key(org)
    app = make_app()
    api_env.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unreachable")
    reset_caches()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
            r = await c.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
            assert r.headers["Retry-After"] == "5"
            r = await c.get("/api/health", headers=OPERATOR)
            assert r.status_code == 503 and r.json()["checks"]["database"] == "unreachable"
    finally:
        api_env.undo()
        reset_caches()


async def test_health_reads_engine_heartbeats_from_the_database(client, db, operator):
    """The web process hosts no engine: it reports the engine processes' heartbeats, stale ones excluded."""
    from datetime import timedelta

    from sqlalchemy import update

    from fleet_dashboard.core.tables import utcnow
    from fleet_dashboard.whatsapp import engines
    from fleet_dashboard.whatsapp.models import WhatsAppEngine

    assert (await client.get("/api/health", headers=OPERATOR)).json()["checks"]["engine"] == \
        {"status": "not running", "processes": 0}
    for engine_id, owned in (("h:1", 20), ("h:2", 5), ("h:3", 7)):
        engines.beat(session=db, engine_id=engine_id, hostname="h", pid=int(engine_id[2:]), backend="neonize",
                     capacity=25, owned=owned, connected=owned - 1, stuck_threads=0)
    db.execute(update(WhatsAppEngine).where(WhatsAppEngine.engine_id == "h:3")
               .values(heartbeat_at=utcnow() - timedelta(minutes=5)))  # died without a word
    db.commit()
    engine = (await client.get("/api/health", headers=OPERATOR)).json()["checks"]["engine"]
    assert engine["status"] == "ok" and engine["processes"] == 2
    assert (engine["owned_sessions"], engine["connected_sessions"]) == (25, 23)
