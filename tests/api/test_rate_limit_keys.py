"""Rate limits count what they protect: per organisation after auth, per real client behind proxies, in Redis
across processes, and a failed-login limit that one client cannot spend for everyone."""

from __future__ import annotations

import importlib
import logging
import subprocess
import time
import uuid

import httpx
import pytest
import redis

from fleet_dashboard.core.ratelimit import Limiter, client_address
from tests.support.api import BASE_URL, headers

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix(api_env):
    """REDIS_URL and a key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"test-10b-{uuid.uuid4().hex[:10]}"
    api_env.setenv("REDIS_URL", REDIS_URL)
    api_env.setenv("RATE_LIMIT_PREFIX", prefix)
    client = redis.Redis.from_url(REDIS_URL)
    yield prefix, client
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _client(app, address: str = "10.0.0.7") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url=BASE_URL)


async def test_one_organisation_spending_the_sessions_limit_leaves_others_behind_the_same_proxy(
        make_app, api_env, make_org, make_key):
    api_env.setenv("RATE_LIMIT_SESSIONS", "3/15minutes")
    busy, other = make_org(), make_org("Other Fleet")
    busy_key, other_key = make_key(busy), make_key(other)
    async with _client(make_app()) as c:  # both come through one proxy address
        for _ in range(3):
            r = await c.get(f"/api/sessions/{busy.id}/status", headers=headers(busy_key, busy.id))
            assert r.status_code == 200
        assert (await c.get(f"/api/sessions/{busy.id}/status",
                            headers=headers(busy_key, busy.id))).status_code == 429
        for _ in range(3):
            r = await c.get(f"/api/sessions/{other.id}/status", headers=headers(other_key, other.id))
            assert r.status_code == 200, r.text
        # Anonymous junk from that address neither counts against nor is blocked by an organisation's budget.
        for _ in range(5):
            assert (await c.get(f"/api/sessions/{other.id}/status",
                                headers=headers("fdk_guess", other.id))).status_code == 401
        r = await c.get(f"/api/sessions/{busy.id}/status", headers=headers(busy_key, busy.id))
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"


@pytest.mark.parametrize(("trusted", "forwarded", "expected"), [
    (0, "203.0.113.9", "10.0.0.7"),                      # no proxy: the header is the client's to forge
    (1, "203.0.113.9", "203.0.113.9"),                   # one proxy appended the real client
    (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),          # a forged entry on the left is ignored
    (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
    (2, "203.0.113.9", "10.0.0.7"),                      # fewer hops than proxies: not trusted
    (1, None, "10.0.0.7"),
])
def test_client_address_honours_trusted_proxies(trusted, forwarded, expected):
    assert client_address("10.0.0.7", forwarded, trusted) == expected


def test_trusted_proxies_reach_reflex_too(api_env):
    import rxconfig

    api_env.setenv("TRUSTED_PROXIES", "2")
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    try:
        assert importlib.reload(rxconfig).config.trusted_proxy_hops == 2
    finally:
        api_env.delenv("TRUSTED_PROXIES")
        get_settings.cache_clear()
        importlib.reload(rxconfig)


async def test_api_counters_are_shared_through_redis(make_app, api_env, make_org, make_key, redis_prefix):
    prefix, client = redis_prefix
    api_env.setenv("RATE_LIMIT_SESSIONS", "4/15minutes")
    org = make_org()
    key = make_key(org)
    first, second = make_app(), make_app()  # two server processes, as far as counters go
    async with _client(first) as a, _client(second) as b:
        codes = [(await c.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))).status_code
                 for c in (a, b, a, b, a, b)]
    assert codes == [200, 200, 200, 200, 429, 429]
    assert any(str(org.id) in k.decode() for k in client.scan_iter(f"{prefix}*"))


async def test_an_unreachable_redis_counts_each_process_alone_with_a_warning(make_app, api_env, make_org, make_key,
                                                                            caplog):
    api_env.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    api_env.setenv("RATE_LIMIT_SESSIONS", "2/15minutes")
    org = make_org()
    key = make_key(org)
    with caplog.at_level(logging.WARNING, logger="fleet_dashboard.core.ratelimit"):
        async with _client(make_app()) as c:
            codes = [(await c.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))).status_code
                     for _ in range(3)]
    # Served while Redis is away, and still limited: this process counts alone until Redis answers.
    assert codes == [200, 200, 429]
    assert "rate-limit storage unavailable" in caplog.text


def test_a_unix_socket_redis_url_counts_in_redis_as_reflex_reads_it(api_env, tmp_path):
    from limits import parse

    from fleet_dashboard.core.settings import get_settings

    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        api_env.setenv("REDIS_URL", f"unix://{sock}?db=0")
        get_settings.cache_clear()
        web1, web2 = Limiter(), Limiter()
        rule = parse("3/minute")
        assert [w.hit(rule, "k") for w in (web1, web2, web1, web2)] == [True, True, True, False]
        assert not web1.degraded and redis.Redis(unix_socket_path=str(sock)).dbsize() > 0
    finally:
        server.kill()
        server.wait()


# ---- dashboard sign-in ----

def _limiter(rule: str = "5/minute"):
    from fleet_dashboard.accounts.signin import LoginLimiter

    return LoginLimiter(rule)


def _wrong_password(limiter, email: str, ip: str) -> bool:
    """What the login handler does before it checks a password: count the attempt; False when refused."""
    return limiter.attempt(email=email, ip=ip).allowed


def test_one_client_cannot_lock_an_account_for_its_owner(api_env):
    limiter = _limiter()
    tried = sum(_wrong_password(limiter, "victim@example.com", "198.51.100.66") for _ in range(500))
    assert tried == 5
    assert not limiter.attempt(email="victim@example.com", ip="198.51.100.66").allowed
    assert limiter.attempt(email="victim@example.com", ip="203.0.113.10").allowed, "the owner signs in from elsewhere"


def test_one_client_cannot_spend_the_address_allowance_of_a_shared_office(api_env):
    limiter = _limiter()
    for i in range(4):  # each account within its own allowance
        for _ in range(5):
            assert _wrong_password(limiter, f"user{i}@example.com", "198.51.100.66")
    assert not _wrong_password(limiter, "someone-else@example.com", "198.51.100.66"), "20 attempts: spraying stops"
    assert _wrong_password(limiter, "someone-else@example.com", "198.51.100.67")


def test_many_addresses_guessing_one_account_hit_its_email_limit(api_env):
    limiter = _limiter()
    for i in range(50):
        assert _wrong_password(limiter, "target@example.com", f"198.51.100.{i}")
    assert not _wrong_password(limiter, "target@example.com", "203.0.113.10")
    assert _wrong_password(limiter, "other@example.com", "203.0.113.10")


def test_a_good_password_forgets_the_pairs_attempts(api_env):
    limiter = _limiter()
    for _ in range(4):
        assert _wrong_password(limiter, "a@example.com", "198.51.100.1")
    limiter.succeeded(email="a@example.com", ip="198.51.100.1")
    for _ in range(4):
        assert _wrong_password(limiter, "a@example.com", "198.51.100.1")
    assert limiter.attempt(email="a@example.com", ip="198.51.100.1").allowed


def test_login_attempts_are_shared_by_every_process_through_redis(api_env, redis_prefix):
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    web1, web2 = _limiter(), _limiter()
    for limiter in (web1, web2, web1, web2, web1):
        assert _wrong_password(limiter, "a@example.com", "198.51.100.1")
    assert not web2.attempt(email="a@example.com", ip="198.51.100.1").allowed
    assert web2.attempt(email="a@example.com", ip="198.51.100.2").allowed


def test_the_limiter_storage_follows_redis_url(api_env, redis_prefix):
    from limits.storage import MemoryStorage, RedisStorage

    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    assert isinstance(Limiter().storage, RedisStorage)
    api_env.delenv("REDIS_URL")
    get_settings.cache_clear()
    assert isinstance(Limiter().storage, MemoryStorage)
