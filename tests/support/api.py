"""API fixtures shared by the API, CLI, integrations, web and security suites: the real app in process (httpx
ASGITransport), real PostgreSQL, signed JWTs, API keys; each suite's conftest.py re-exports them."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from fleet_dashboard.accounts.permissions import SYSTEM

JWT_SECRET = "test-jwt-secret-for-the-api-suite-0123456789"
BASE_URL = "http://testserver"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _reset_settings() -> None:
    from fleet_dashboard.core.events import reset_bus
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    reset_bus()


@pytest.fixture
def api_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings for an in-process API: HS256 secret, in-memory bus, simulator gateway."""
    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("BUS_BACKEND", "memory")
    monkeypatch.setenv("WHATSAPP_BACKEND", "simulator")
    monkeypatch.delenv("JWT_JWKS_URL", raising=False)
    monkeypatch.delenv("ALLOWED_ORIGINS", raising=False)
    _reset_settings()
    yield monkeypatch
    monkeypatch.undo()
    _reset_settings()


@pytest.fixture
def make_app(api_env):
    """Build a fresh API app (fresh rate-limit counters) after any env tweaks."""

    def _make():
        from fleet_dashboard.api.app import create_api
        from fleet_dashboard.core.settings import get_settings

        get_settings.cache_clear()
        return create_api()

    return _make


@pytest.fixture
async def client(make_app) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        yield c


def make_jwt(claims: dict[str, Any], *, secret: str = JWT_SECRET, alg: str = "HS256",
             ttl: int | None = 3600) -> str:
    """An HS256 token; `ttl=None` leaves exp out, a negative ttl makes it expired."""
    body = dict(claims)
    if ttl is not None:
        body.setdefault("exp", int(time.time()) + ttl)
    body.setdefault("iat", int(time.time()))
    return jwt.encode({"alg": alg, "typ": "JWT"}, body, OctKey.import_key(secret))


def user_jwt(user, **overrides: Any) -> str:
    """A Supabase-style user access token for this user."""
    claims = {"sub": str(user.id), "aud": "authenticated", "role": "authenticated", "email": user.email}
    claims.update(overrides)
    return make_jwt(claims)


def service_role_jwt(secret: str = JWT_SECRET) -> str:
    """A Supabase service-role key as the guide's edge function sends it: no sub, no aud."""
    return make_jwt({"iss": "supabase", "ref": "fleet", "role": "service_role"}, secret=secret,
                    ttl=10 * 365 * 86400)


def headers(credential: str, org_id: uuid.UUID | str | None) -> dict[str, str]:
    """Bearer + X-Org-Id, exactly as the guide's callers send them."""
    out = {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
    if org_id is not None:
        out["X-Org-Id"] = str(org_id)
    return out


@pytest.fixture
def make_key(db):
    """Create an API key for an organisation and return its plain text."""
    from fleet_dashboard.integrations import api_keys

    def _make(org, scopes=None, name="test"):
        _, plain = api_keys.create_key(session=db, org_id=org.id, name=name, scopes=scopes, actor=SYSTEM)
        db.commit()
        return plain

    return _make


@pytest.fixture
def live_env(api_env):
    """The live stack's settings: simulator with fast timings, PostgreSQL bus, no throttle."""
    from tests.support.live import LIVE_ENV
    from tests.support.process_state import reset_process_state

    for key, value in LIVE_ENV.items():
        api_env.setenv(key, value)
    reset_process_state()
    yield api_env
    reset_process_state()


@pytest.fixture
async def live(live_env, make_app):
    """Engine + simulator + worker + API in this test's event loop."""
    from tests.support.live import live_stack

    async with live_stack(make_app) as stack:
        yield stack
