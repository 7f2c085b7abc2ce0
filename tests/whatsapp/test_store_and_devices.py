"""The WhatsApp store in our database: TLS and idle connections, a device that is gone, and linking by phone
number with the real library (WhatsApp is unreachable here, so it must fail clearly and quickly)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from neonize.proto import Neonize_pb2 as pb
from sqlmodel import Session

from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
from fleet_dashboard.whatsapp.engine.store_connections import store_dsn
from fleet_dashboard.whatsapp.gateway import GatewayError
from tests.support.neonize import PHONE_USER, feed, jid, map_lid, store_device
from tests.whatsapp.conftest import audit_rows, connect, load_row, run, spawn, stop_process, wait_row_sync

DEVICE = f"{PHONE_USER}:7@s.whatsapp.net"
GONE = "201001111111:3@s.whatsapp.net"


@pytest.mark.parametrize(("url", "sslmode"), [
    ("postgresql://u:p@db.example.com:5432/fleet", "require"),  # identity keys never cross a network in clear
    ("postgresql://u:p@db.example.com/fleet?sslmode=prefer", "require"),  # lib/pq cannot "prefer"
    ("postgresql://u:p@db.example.com/fleet?sslmode=verify-full", "verify-full"),
    ("postgresql://u:p@db.example.com/fleet?sslmode=disable", "disable"),  # the operator's explicit choice
    ("postgresql://postgres@127.0.0.1:5432/fleet", "disable"),
    ("postgresql://postgres:@/postgres?host=/tmp/fdpg", "disable"),
])
def test_the_store_url_keeps_tls_for_remote_servers(url, sslmode):
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(store_dsn(url, "fwa-1-1", idle_seconds=30)).query)
    assert query["sslmode"] == [sslmode]
    assert query["application_name"] == ["fwa-1-1"] and query["idle_session_timeout"] == ["30000"]


def _store_connections(database_url: str, app_name: str) -> int:
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            (app_name,)).fetchone()[0]


def test_an_idle_client_holds_no_store_connection_and_still_works(sim_env, monkeypatch, database_url,
                                                                  db: Session, make_org):
    from tests.support.process_state import reset_process_state

    monkeypatch.setenv("NEONIZE_STORE_IDLE_SECONDS", "1")
    reset_process_state()
    org = make_org()

    async def body():
        factory = NeonizeFactory()
        await factory.prepare_store()
        await asyncio.to_thread(store_device, database_url, DEVICE, "99887766:7@lid")
        await asyncio.to_thread(map_lid, database_url, "55512345", "201007654321")
        gateway = factory.create(org.id, lambda _e: None)
        await gateway.start(resume_jid=DEVICE)
        try:
            while not gateway.end_reason:  # the dial failed; Go still holds the client and its store
                await asyncio.sleep(0.05)
            await asyncio.to_thread(feed, gateway.client, pb.Connected(status=True))
            while not gateway.connected:
                await asyncio.sleep(0.02)
            first = await gateway._pn_for_lid(jid("55512345", server="lid"))
            busy = await asyncio.to_thread(_store_connections, database_url, gateway.app_name)
            await asyncio.sleep(2.5)
            idle = await asyncio.to_thread(_store_connections, database_url, gateway.app_name)
            again = await gateway._pn_for_lid(jid("55512345", server="lid"))  # lib/pq reconnects by itself
        finally:
            await gateway.stop()
            await factory.close()
        return first, busy, idle, again

    first, busy, idle, again = run(body)
    assert first.User == again.User == "201007654321"
    assert busy >= 1 and idle == 0


def test_pair_phone_on_the_real_library_fails_clearly_without_hanging(sim_env, db: Session, make_org):
    org = make_org()

    async def body():
        factory = NeonizeFactory()
        gateway = factory.create(org.id, lambda _e: None)
        await gateway.start(resume_jid=None)
        started = time.monotonic()
        try:
            with pytest.raises(GatewayError) as caught:
                await gateway.pair_phone("+201001234567")
        finally:
            await gateway.stop()
            await factory.close()
        return str(caught.value), time.monotonic() - started

    message, seconds = run(body)
    assert message.startswith("WhatsApp gave no linking code: websocket not connected")
    assert "failed to dial" in message and seconds < 10


ENGINE = ["-m", "fleet_dashboard.cli", "engine"]


def test_a_stored_session_whose_device_is_gone_needs_relinking_on_every_start_and_never_aborts(
        sim_env, database_url, db: Session, make_org, tmp_path):
    env = {**sim_env, "WHATSAPP_BACKEND": "neonize", "RECONNECT_BASE_SECONDS": "5", "RECONNECT_MAX_SECONDS": "5"}
    gone, kept = make_org(name="Gone"), make_org(name="Kept")
    run(lambda: NeonizeFactory().prepare_store())
    store_device(database_url, DEVICE)
    for org, device in ((gone, GONE), (kept, DEVICE)):
        row = sessions.get_or_create(session=db, org_id=org.id)
        row.whatsapp_id, row.phone_number, row.enabled = device, "+" + device.split(":")[0], True
        db.add(row)
    db.commit()

    for start in (1, 2):
        engine = spawn(ENGINE, env, tmp_path / f"engine{start}.log")
        try:
            row = wait_row_sync(gone.id, lambda r: r.connection_error_code == "needs_relink", timeout=30)
            assert row.status == "disconnected" and not row.enabled and row.whatsapp_id is None
            # The organisation with its device still resumes it (and fails to dial, as in an outage).
            wait_row_sync(kept.id, lambda r, n=start: len(audit_rows(kept.id, "session_disconnected")) >= n
                          and r.whatsapp_id == DEVICE, timeout=30)
            time.sleep(1.0)
            assert engine.poll() is None, (tmp_path / f"engine{start}.log").read_text()[-3000:]
        finally:
            assert stop_process(engine) == 0, (tmp_path / f"engine{start}.log").read_text()[-3000:]
    assert len(audit_rows(gone.id, "session_error")) == 1  # written once; the second start found it disabled

    # The next connect pairs a new device (here: a pairing whose dial fails), never the missing one.
    connect(db, gone.id)
    engine = spawn(ENGINE, env, tmp_path / "engine3.log")
    try:
        row = wait_row_sync(gone.id, lambda r: r.connection_error_code == "connect_failed", timeout=30)
        assert row.whatsapp_id is None and "failed to dial" in row.connection_error
        assert engine.poll() is None
    finally:
        stop_process(engine)
    assert load_row(gone.id).status == "disconnected"
