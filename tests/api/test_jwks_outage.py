"""JWKS while the key URL is down or slow: one fetch at a time, failures remembered with backoff, stale keys
kept, and nobody else (API keys, health, the event loop) waits on it.

No wall-clock bounds: a slow key URL is one the test holds open until the callers it must not delay have
answered, and the backoff runs on a clock the test moves."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from fleet_dashboard.api import tokens
from tests.support.api import headers

pytestmark = pytest.mark.anyio

KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
# Only a liveness guard: an answer that never comes (a caller stuck behind a held fetch) fails instead of hanging.
NEVER = 30.0


@dataclass
class KeyServer:
    """A JWKS URL the test drives: 'ok' answers the keys, 'error' answers 503, 'hold' keeps each request open
    until the test releases it (then answers as `mode` says by then)."""

    mode: str = "ok"
    hits: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        self.arrived.clear()
        self.released.clear()
        self.mode = "hold"

    def release(self, mode: str) -> None:
        """Let the held requests answer: `mode` is 'ok' or 'error'."""
        self.mode = mode
        self.released.set()

    async def fetch_arrived(self) -> None:
        assert await asyncio.to_thread(self.arrived.wait, NEVER), "no key fetch reached the key URL"


@contextmanager
def key_server(mode: str) -> Iterator[KeyServer]:
    state = KeyServer()
    if mode == "hold":
        state.hold()
    else:
        state.mode = mode
    document = json.dumps(KeySet([KEY]).as_dict(private=False)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.hits += 1
            state.arrived.set()
            if state.mode == "hold":
                state.released.wait(NEVER)
            status, body = (200, document) if state.mode == "ok" else (503, b"down")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the fetch gave up waiting and closed the connection
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()


class Clock:
    """The key cache's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def monotonic(self) -> float:
        return self.now


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


async def answered(request: Awaitable[Any], what: str = "the request") -> Any:
    """The answer, which must come while the key URL is held open (it never comes if the caller waits on it)."""
    try:
        return await asyncio.wait_for(request, NEVER)
    except TimeoutError:
        raise AssertionError(f"{what} waited on the held key fetch") from None


async def test_a_hanging_key_url_costs_one_fetch_then_every_request_is_refused_without_one(
        jwks, make_app, make_org, make_user, make_key, monkeypatch):
    org = make_org()
    token, key = _token(make_user("owner", org)), make_key(org)
    with key_server("hold") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            # A cold burst: one fetch in flight (it gives up after its timeout), the others wait for it rather
            # than start their own.
            burst = await asyncio.gather(*(c.get(_url(org), headers=headers(token, org.id)) for _ in range(12)))
            assert {r.status_code for r in burst} == {401}
            assert "signing keys are unavailable" in burst[0].json()["error"]
            assert server.hits == 1

            # The failure is remembered: during the backoff nobody fetches, so nobody waits, however long a
            # fetch would now hang.
            monkeypatch.setattr(tokens, "JWKS_FETCH_TIMEOUT", 3 * NEVER)
            for _ in range(20):
                r = await answered(c.get(_url(org), headers=headers(token, org.id)), "a JWT request in the backoff")
                assert r.status_code == 401
            assert server.hits == 1
            # API keys never touch the key URL.
            assert (await answered(c.get(_url(org), headers=headers(key, org.id)))).status_code == 200


async def test_the_event_loop_and_other_callers_do_not_wait_on_a_key_fetch(jwks, make_app, make_org, make_user,
                                                                           make_key, monkeypatch):
    monkeypatch.setattr(tokens, "JWKS_FETCH_TIMEOUT", 3 * NEVER)  # the fetch ends when the test says
    org = make_org()
    token, key = _token(make_user("owner", org)), make_key(org)
    with key_server("hold") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            slow = asyncio.create_task(c.get(_url(org), headers=headers(token, org.id)))
            await server.fetch_arrived()  # its key fetch is open, and stays open
            assert (await answered(c.get("/api/health"), "/api/health")).status_code in (200, 503)
            r = await answered(c.get(_url(org), headers=headers(key, org.id)), "an API-key request")
            assert r.status_code == 200
            assert not slow.done(), "the JWT request is still waiting for its keys meanwhile"
            server.release("ok")
            assert (await answered(slow)).status_code == 200, "the keys came, and the waiting caller used them"
            assert server.hits == 1


async def test_after_the_backoff_a_recovered_key_url_is_used_again(jwks, make_app, make_org, make_user,
                                                                   monkeypatch):
    clock = Clock()
    monkeypatch.setattr(tokens, "time", clock)
    org = make_org()
    token = _token(make_user("owner", org))
    with key_server("error") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 401
            server.mode = "ok"
            clock.now += tokens.JWKS_BACKOFF_BASE_SECONDS / 2 - 1  # the shortest first backoff, nearly over
            assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 401, "still backing off"
            assert server.hits == 1
            clock.now += tokens.JWKS_BACKOFF_BASE_SECONDS  # past the longest one
            r = await c.get(_url(org), headers=headers(token, org.id))
            assert r.status_code == 200, r.text
            assert server.hits == 2


async def test_stale_keys_keep_working_while_the_key_url_is_down(jwks, make_app, make_org, make_user, monkeypatch,
                                                                 caplog):
    monkeypatch.setattr(tokens, "JWKS_FETCH_TIMEOUT", 3 * NEVER)  # the refresh ends when the test says
    org = make_org()
    token = _token(make_user("owner", org))
    with key_server("ok") as server:
        jwks.setenv("JWT_JWKS_URL", server.url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 200
            monkeypatch.setattr(tokens, "JWKS_TTL_SECONDS", 0)  # every use now finds them stale
            server.hold()
            assert (await answered(c.get(_url(org), headers=headers(token, org.id)))).status_code == 200
            await server.fetch_arrived()  # the refresh runs aside, held open
            for _ in range(10):
                r = await answered(c.get(_url(org), headers=headers(token, org.id)), "a request with stale keys")
                assert r.status_code == 200
            assert server.hits == 2, "one refresh at a time"

            server.release("error")  # the refresh fails, and its failure is remembered
            assert await asyncio.to_thread(_logged, caplog, "could not fetch JWKS"), "the refresh never failed"
            for _ in range(5):
                assert (await c.get(_url(org), headers=headers(token, org.id))).status_code == 200
            assert server.hits == 2, "no more refreshes during the backoff"


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    deadline = time.monotonic() + NEVER
    while text not in caplog.text:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
