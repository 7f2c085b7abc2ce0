"""Webhooks under hostile receivers and DNS: odd Retry-After values, crashes, fair retries, rebinding, NAT64."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core import safe_http
from fleet_dashboard.core.backoff import RetryPolicy
from fleet_dashboard.integrations import webhooks
from fleet_dashboard.integrations.delivery import Dispatcher, _due, deliver
from fleet_dashboard.integrations.models import WebhookDelivery
from tests.integrations.test_webhooks import SECRET, attempts, event, hook
from tests.support.receiver import _Quiet, _serve, webhook_receiver

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_attempts=3, base_seconds=0.05, max_seconds=0.2, timeout_seconds=5.0)


def _refuse_private(api_env) -> None:
    from fleet_dashboard.core.settings import get_settings

    api_env.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false")
    get_settings.cache_clear()


# ---- Retry-After ----

@pytest.mark.parametrize("value", ["soon", "1.5", "Wed, 99 Foo 2020 25:61:00 GMT", "-3", "٣"])
async def test_an_unreadable_retry_after_falls_back_to_backoff(api_env, db, make_org, value):
    org = make_org()
    headers = {"Retry-After": value.encode("utf-8").decode("latin-1")}
    with webhook_receiver([(429, headers), (200, {})]) as rx:
        target = hook(db, org, rx.url)
        async with httpx.AsyncClient() as client:
            assert await deliver(client=client, target=target, event=event(org), policy=FAST)
        rx.wait_for(2)
    audited = attempts(db, org)
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in audited] == [
        (1, "retrying", 429), (2, "delivered", 200)]
    assert 0 < audited[0]["next_retry_seconds"] <= FAST.max_seconds


async def test_an_http_date_retry_after_is_honoured(api_env, db, make_org):
    org = make_org()
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3), usegmt=True)
    policy = RetryPolicy(max_attempts=2, base_seconds=0.01, max_seconds=10.0)
    with webhook_receiver([(429, {"Retry-After": when}), (200, {})]) as rx:
        target = hook(db, org, rx.url)
        async with httpx.AsyncClient() as client:
            assert await deliver(client=client, target=target, event=event(org), policy=policy)
        calls = rx.wait_for(2)
    # Second-resolution dates: at least ~2 s, never the 10 ms backoff.
    assert calls[1].at - calls[0].at >= 1.5
    assert 1.0 < attempts(db, org)[0]["next_retry_seconds"] <= 3.0


async def test_endless_429s_with_junk_retry_after_are_given_up_through_the_stored_row(api_env, db, make_org):
    """The dispatcher counts every attempt in the row and marks it failed at the limit: no retry loop forever."""
    from fleet_dashboard.core.events import get_bus

    org = make_org()
    with webhook_receiver([(429, {"Retry-After": "later"})] * 10) as rx:
        webhooks.set_webhook(session=db, org_id=org.id, url=rx.url, secret=SECRET, actor=SYSTEM)
        db.commit()
        ready = asyncio.Event()
        task = asyncio.create_task(Dispatcher(policy=FAST, resume_seconds=0.05).run(ready))
        await asyncio.wait_for(ready.wait(), 5)
        await get_bus().publish(event(org))
        await asyncio.to_thread(rx.wait_for, 3)
        await asyncio.sleep(1.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(rx.requests) == 3
    db.expire_all()
    row = db.exec(select(WebhookDelivery).where(WebhookDelivery.org_id == org.id)).one()
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "HTTP 429")


class _Exploding(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug outside the handled errors")


async def test_an_attempt_that_crashes_still_counts(api_env, db, make_org):
    org = make_org()
    webhooks.set_webhook(session=db, org_id=org.id, url="http://127.0.0.1:9/hook", secret=SECRET, actor=SYSTEM)
    db.commit()
    from fleet_dashboard.core.events import get_bus

    async with httpx.AsyncClient(transport=_Exploding()) as client:
        ready = asyncio.Event()
        task = asyncio.create_task(Dispatcher(policy=FAST, client=client, resume_seconds=0.05).run(ready))
        await asyncio.wait_for(ready.wait(), 5)
        await get_bus().publish(event(org))
        deadline = time.monotonic() + 10
        row = None
        while time.monotonic() < deadline:
            db.expire_all()
            row = db.exec(select(WebhookDelivery).where(WebhookDelivery.org_id == org.id)).first()
            if row is not None and row.status == "failed":
                break
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert row is not None and (row.status, row.attempts) == ("failed", 3)
    assert "crashed: RuntimeError" in row.last_error
    assert [a["outcome"] for a in attempts(db, org)] == ["retrying", "retrying", "failed"]


# ---- fairness ----

def _owe_due(db, org, url: str, count: int, *, age_seconds: int) -> None:
    hook, _ = webhooks.set_webhook(session=db, org_id=org.id, url=url, secret=SECRET, actor=SYSTEM)
    db.flush()
    db.execute(text("""
        INSERT INTO webhook_deliveries (id, webhook_id, org_id, event, status, attempts, next_attempt_at, created_at)
        SELECT gen_random_uuid(), :hook, :org, CAST(:event AS jsonb), 'pending', 1,
               now() - make_interval(secs => :age) + make_interval(secs => n * 0.001), now()
        FROM generate_series(1, :count) AS n"""),
        {"hook": hook.id, "org": org.id, "event": f'{{"type": "message.status", "org_id": "{org.id}", '
                                                  f'"status": "read"}}', "age": age_seconds, "count": count})
    db.commit()


async def test_one_organisations_backlog_does_not_hide_anothers_due_retry(api_env, db, make_org):
    noisy, quiet = make_org(), make_org("Quiet Fleet")
    _owe_due(db, noisy, "http://127.0.0.1:9/noisy", 250, age_seconds=3600)
    _owe_due(db, quiet, "http://127.0.0.1:9/quiet", 1, age_seconds=10)
    due = await asyncio.to_thread(_due, 200)
    assert quiet.id in {target.org_id for target, *_ in due}
    # Rows this process already works on are not handed out again.
    busy = [delivery_id for _, _, delivery_id, _ in due]
    again = await asyncio.to_thread(_due, 200, busy=busy)
    assert not set(busy) & {delivery_id for _, _, delivery_id, _ in again}


@contextlib.contextmanager
def _slow_receiver(seconds: float) -> Iterator[str]:
    """A receiver that takes `seconds` to answer 503."""

    class Handler(_Quiet):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(seconds)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with _serve(Handler) as url:
        yield url + "/hook"


async def test_a_hanging_receiver_with_a_backlog_does_not_starve_other_organisations(api_env, db, make_org):
    noisy, quiet = make_org(), make_org("Quiet Fleet")
    policy = RetryPolicy(max_attempts=6, base_seconds=30, max_seconds=60, timeout_seconds=4.0)
    with _slow_receiver(3.0) as slow_url, webhook_receiver() as rx:
        _owe_due(db, noisy, slow_url, 300, age_seconds=3600)
        _owe_due(db, quiet, rx.url, 1, age_seconds=1)
        started = time.monotonic()
        task = asyncio.create_task(Dispatcher(policy=policy, concurrency=8, per_org=2, resume_seconds=0.1).run())
        try:
            await asyncio.to_thread(rx.wait_for, 1, 2.5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert time.monotonic() - started < 2.5


# ---- addresses ----

REFUSED = [
    "64:ff9b::7f00:1",          # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",       # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b::c0a8:101",        # NAT64 of 192.168.1.1
    "64:ff9b:1::a00:1",         # local-use NAT64
    "2002:7f00:1::1",           # 6to4 of 127.0.0.1
    "2002:a00:1::1",            # 6to4 of 10.0.0.1
    "::127.0.0.1",              # IPv4-compatible loopback
    "::10.0.0.1",               # IPv4-compatible private
    "::ffff:0:7f00:1",          # IPv4-translated loopback
    "::ffff:127.0.0.1",         # IPv4-mapped loopback
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]
ALLOWED = ["93.184.215.14", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED)
async def test_ipv6_forms_of_internal_ipv4_addresses_are_refused(api_env, db, make_org, address):
    _refuse_private(api_env)
    assert safe_http.is_internal(address)
    org = make_org()
    with pytest.raises(webhooks.ValidationError) as refused:
        webhooks.set_webhook(session=db, org_id=org.id, url=f"https://[{address}]/hook", actor=SYSTEM)
    assert refused.value.code == "webhook_private"


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address):
    assert not safe_http.is_internal(address)


# ---- DNS rebinding ----

@pytest.fixture
def fake_dns(monkeypatch):
    """A resolver for *.test names: each name answers from its list in turn (the last one for ever)."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    asked: dict[str, int] = {}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in answers:
            return real(host, port, family, type, proto, flags)
        turn = asked.get(name, 0)
        asked[name] = turn + 1
        address = answers[name][min(turn, len(answers[name]) - 1)]
        fam = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        return [(fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


async def test_dns_rebinding_between_the_check_and_the_connection_reaches_nothing(api_env, db, make_org, fake_dns):
    """Public when checked, loopback when dialled: the dispatcher's client never connects to loopback."""
    from fleet_dashboard.core.events import get_bus

    answers, asked = fake_dns
    _refuse_private(api_env)
    org = make_org()
    with webhook_receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        answers["rebind.test"] = ["93.184.215.14", "127.0.0.1"]
        webhooks.set_webhook(session=db, org_id=org.id, url=f"http://rebind.test:{port}/hook", secret=SECRET,
                             actor=SYSTEM)
        db.commit()
        ready = asyncio.Event()
        policy = RetryPolicy(max_attempts=2, base_seconds=60, max_seconds=60, timeout_seconds=3.0)
        task = asyncio.create_task(Dispatcher(policy=policy, resume_seconds=0.1).run(ready))
        await asyncio.wait_for(ready.wait(), 5)
        await get_bus().publish(event(org))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not attempts(db, org):
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert rx.requests == []
    audited = attempts(db, org)
    assert audited and "refused" in audited[0]["error"] and "127.0.0.1" in audited[0]["error"]
    assert asked["rebind.test"] == 2, "checked once before the attempt, resolved once where it dials"


async def test_the_checked_client_dials_the_address_it_resolved_and_keeps_the_host(api_env, fake_dns):
    answers, asked = fake_dns
    answers["hooks.test"] = ["127.0.0.1"]
    with webhook_receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        async with safe_http.checked_client() as client:
            for _ in range(3):
                assert (await client.post(f"http://hooks.test:{port}/hook", content=b"{}")).status_code == 200
        calls = rx.wait_for(3)
    assert {c.headers["host"] for c in calls} == {f"hooks.test:{port}"}
    # The receiver speaks HTTP/1.0: a connection per request, and exactly one resolution per connection.
    assert asked["hooks.test"] == 3


def _self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_tls_still_verifies_the_url_host_name_and_sends_it_as_sni(api_env, fake_dns, tmp_path):
    answers, _ = fake_dns
    answers["hooks.test"] = answers["impostor.test"] = ["127.0.0.1"]
    cert, key = _self_signed(tmp_path, "hooks.test")
    seen_sni: list[str | None] = []
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.sni_callback = lambda sock, name, ctx: seen_sni.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    port = server.server_address[1]
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with safe_http.checked_client(verify=trusted) as client:
            assert (await client.post(f"https://hooks.test:{port}/hook", content=b"{}")).status_code == 204
        async with safe_http.checked_client(verify=trusted) as client:
            with pytest.raises(httpx.ConnectError, match="(?i)certificate|hostname"):
                await client.post(f"https://impostor.test:{port}/hook", content=b"{}")
    finally:
        server.shutdown()
        server.server_close()
    assert seen_sni[0] == "hooks.test"
