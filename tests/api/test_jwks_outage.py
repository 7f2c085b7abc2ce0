"""JWKS while the key URL is down or slow: one fetch at a time, failures remembered with backoff, stale keys
kept, and nobody else (API keys, health, the event loop) waits on it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from fleet_dashboard.api import tokens
from tests.support.api import headers

pytestmark = pytest.mark.anyio

KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})


@dataclass
class KeyServer:
    """A JWKS URL whose behaviour the test switches: 'ok', 'hang' (sleeps past the timeout) or 'error' (503)."""

    mode: str = "ok"
    hits: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def key_server(mode: str) -> Iterator[KeyServer]:
    state = KeyServer(mode=mode)
    document = json.dumps(KeySet([KEY]).as_dict(private=False)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.hits += 1
            if state.mode == "hang":
                time.sleep(3)
                return
            status, body = (200, document) if state.mode == "ok" else (503, b"down")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def jwks(api_env, monkeypatch):
    """A fast fetch timeout and a long backoff, a clean cache before and after."""
    monkeypatch.setattr(tokens, "JWKS_FETCH_TIMEOUT", 0.5, raising=False)
    monkeypatch.setattr(tokens, "JWKS_BACKOFF_BASE_SECONDS", 60.0, raising=False)
    tokens.JWKS.clear()
    yield api_env
    tokens.JWKS.clear()


def _token(user) -> str:
    claims = {"sub": str(user.id), "aud": "authenticated", "exp": int(time.time()) + 600}
    return jwt.encode({"alg": "ES256", "kid": KEY.kid}, claims, KEY)


def _url(org) -> str:
    return f"/api/sessions/{org.id}/status"


async def test_a_hanging_key_url_costs_one_wait_then_every_request_is_refused_at_once(jwks, make_app, make_org,
                                                                                       make_user, make_key):
    org = make_org()
    token, key = _token(make_user("owner", org)), make_key(org)
    with key_server("hang") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            # A cold burst: one fetch in flight, the others wait for it rather than start their own.
            started = time.monotonic()
            burst = await asyncio.gather(*(c.get(_url(org), headers=headers(token, org.id)) for _ in range(12)))
            assert {r.status_code for r in burst} == {401}
            assert time.monotonic() - started < 2.5
            assert "signing keys are unavailable" in burst[0].json()["error"]

            started = time.monotonic()
            for _ in range(20):
                assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 401
            assert time.monotonic() - started < 1.0, "the failure is remembered: no second wait"
            assert server.hits == 1
            # API keys never touch the key URL.
            assert (await c.get(_url(org), headers=headers(key, org.id))).status_code == 200


async def test_the_event_loop_and_other_callers_do_not_wait_on_a_key_fetch(jwks, make_app, make_org, make_user,
                                                                           make_key):
    org = make_org()
    token, key = _token(make_user("owner", org)), make_key(org)
    with key_server("hang") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            slow = asyncio.create_task(c.get(_url(org), headers=headers(token, org.id)))
            await asyncio.sleep(0.1)  # the fetch is hanging now
            started = time.monotonic()
            assert (await c.get("/api/health")).status_code in (200, 503)
            assert (await c.get(_url(org), headers=headers(key, org.id))).status_code == 200
            assert time.monotonic() - started < 0.4
            assert not slow.done(), "the JWT request is still waiting for its keys meanwhile"
            assert (await slow).status_code == 401


async def test_after_the_backoff_a_recovered_key_url_is_used_again(jwks, make_app, make_org, make_user,
                                                                   monkeypatch):
    monkeypatch.setattr(tokens, "JWKS_BACKOFF_BASE_SECONDS", 0.4, raising=False)
    org = make_org()
    token = _token(make_user("owner", org))
    with key_server("error") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 401
            server.mode = "ok"
            assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 401, "still backing off"
            assert server.hits == 1
            await asyncio.sleep(0.5)
            r = await c.get(_url(org), headers=headers(token, org.id))
            assert r.status_code == 200, r.text
            assert server.hits == 2


async def test_stale_keys_keep_working_while_the_key_url_is_down(jwks, make_app, make_org, make_user, monkeypatch):
    org = make_org()
    token = _token(make_user("owner", org))
    with key_server("ok") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 200
            monkeypatch.setattr(tokens, "JWKS_TTL_SECONDS", 0)  # every use now finds them stale
            server.mode = "hang"
            started = time.monotonic()
            for _ in range(10):
                assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 200
            assert time.monotonic() - started < 1.0, "stale keys verify at once; the refresh runs aside"
            await asyncio.sleep(0.8)  # the refresh times out and its failure is remembered
            for _ in range(5):
                assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 200
            assert server.hits == 2, "one background refresh, then no more during the backoff"
