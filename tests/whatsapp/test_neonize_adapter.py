"""The real neonize adapter: real neonize event objects fed through the client's own dispatch path,
and real connect attempts (WhatsApp is unreachable here) that must not leak database connections."""

from __future__ import annotations

import asyncio
import threading
import time

from neonize.proto import Neonize_pb2 as pb
from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.events import get_bus
from fleet_dashboard.messaging import optouts
from fleet_dashboard.whatsapp.engine.engine import Engine
from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
from tests.support.neonize import PHONE_USER, feed, feed_qr, inbound, jid, message_row, receipt, sent_message, until
from tests.whatsapp.conftest import audit_rows, audit_types, connect, run, wait_row


def test_neonize_events_drive_the_session_rows_and_bus(sim_env, monkeypatch, db: Session, make_org):
    org = make_org()
    connect(db, org.id)
    factory = NeonizeFactory(dial=False)

    async def body():
        engine = Engine(factory, reconcile_seconds=0.3)
        async with get_bus().subscribe(org_id=org.id) as seen:
            await engine.start()
            try:
                while org.id not in factory.live:
                    await asyncio.sleep(0.02)
                client = factory.live[org.id].client
                assert client.new_device  # no stored device yet: pair a new one

                # As the library does it: whatsmeow's QR channel hands over one code at a time.
                await asyncio.to_thread(feed_qr, client, "2@first,abc")
                row = await wait_row(org.id, lambda r: r.status == "qr_pending")
                assert row.qr_code == "2@first,abc"
                await asyncio.to_thread(feed_qr, client, "2@second,def")
                row = await wait_row(org.id, lambda r: r.qr_code == "2@second,def")
                assert audit_types(org.id).count("qr_generated") == 1

                me = jid(PHONE_USER, device=7)
                await asyncio.to_thread(feed, client, pb.PairStatus(ID=me, BusinessName="Fleet Co",
                                                                    Platform="android", Status=2))
                await asyncio.to_thread(feed, client, pb.Device(JID=me, Platform="android", BussinessName="",
                                                                PushName="Fleet Co", Initialized=True))
                await asyncio.to_thread(feed, client, pb.Connected(status=True))
                row = await wait_row(org.id, lambda r: r.status == "connected")
                assert (row.whatsapp_id, row.phone_number) == (f"{PHONE_USER}:7@s.whatsapp.net", "+" + PHONE_USER)
                assert row.display_name == "Fleet Co" and row.qr_code is None
                assert engine.is_connected(org.id)

                # Delivered then read receipts move a sent message forward.
                message_id = await asyncio.to_thread(sent_message, org.id, "3EB0AAA111")
                await asyncio.to_thread(feed, client, receipt(["3EB0AAA111"], 1))
                await until(lambda: message_row(message_id).status == "delivered")
                await asyncio.to_thread(feed, client, receipt(["3EB0AAA111"], 4))
                await until(lambda: message_row(message_id).status == "read")
                assert message_row(message_id).read_at is not None

                # An inbound STOP puts the sender on the opt-out list.
                await asyncio.to_thread(feed, client, inbound("201005550000", "STOP", "ABCD1"))
                await until(lambda: _opted_out(db, org.id, "+201005550000"))

                # A dropped socket: whatsmeow reconnects a paired client by itself, so the same client stays;
                # sends wait (not connected) until it is back.
                await asyncio.to_thread(feed, client, pb.Disconnected(status=True))
                row = await wait_row(org.id, lambda r: r.connection_error_code == "reconnecting")
                assert row.status == "connecting" and not engine.is_connected(org.id)
                assert factory.live[org.id].client is client
                await asyncio.to_thread(feed, client, pb.Connected(status=True))
                row = await wait_row(org.id, lambda r: r.status == "connected" and r.connection_error_code is None)
                assert engine.is_connected(org.id) and factory.live[org.id].client is client

                # The phone unlinks the device: disconnected, forgotten, not retried.
                await asyncio.to_thread(feed, client, pb.LoggedOut(OnConnect=False, Reason=2))
                row = await wait_row(org.id, lambda r: r.status == "disconnected" and not r.enabled)
                assert row.whatsapp_id is None
                # ... and its sending pauses (the queue waits) until the number is linked again.
                await until(lambda: audit_types(org.id)[-1] == "sending_paused")
                assert audit_types(org.id)[-2] == "logged_out"
                await asyncio.sleep(0.5)
                assert org.id not in engine.owned_org_ids()
            finally:
                await engine.stop()
            events = []
            while not seen.queue.empty():
                events.append(seen.queue.get_nowait())
        statuses = [e["status"] for e in events if e["type"] == "session.status"]
        assert statuses[:2] == ["connecting", "qr_pending"] and "connected" in statuses
        assert statuses[-1] == "disconnected"
        receipts = [e["status"] for e in events if e["type"] == "message.status"]
        assert receipts == ["delivered", "read"]
        inbound_events = [e for e in events if e["type"] == "message.inbound"]
        assert inbound_events[0]["from"] == "+201005550000" and inbound_events[0]["opt_out"] == "opted_out"

    run(body)


def test_temporary_ban_stops_sending_until_a_retry(sim_env, db: Session, make_org):
    org = make_org()
    connect(db, org.id)
    factory = NeonizeFactory(dial=False)

    async def body():
        engine = Engine(factory, reconcile_seconds=0.3)
        await engine.start()
        try:
            while org.id not in factory.live:
                await asyncio.sleep(0.02)
            client = factory.live[org.id].client
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(feed, client, pb.TemporaryBan(Code=1, Expire=3600))
            row = await wait_row(org.id, lambda r: r.status == "error")
            assert "temporarily banned" in row.connection_error and "SEND_TO_TOO_MANY_PEOPLE" in row.connection_error
            assert row.connection_error_code == "temporary_ban"
            assert audit_rows(org.id, "temporary_ban")
            assert not engine.is_connected(org.id)
        finally:
            await engine.stop()

    run(body)


def _opted_out(db: Session, org_id, phone) -> bool:
    db.rollback()
    return optouts.is_opted_out(session=db, org_id=org_id, phone=phone)



def _connections(database: str) -> tuple[int, int]:
    """Server connections to our database: all of them, and the ones neonize opened."""
    with get_engine().connect() as conn:
        row = conn.execute(text("""
            SELECT count(*), count(*) FILTER (WHERE application_name LIKE 'fwa-%')
            FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()
        """), {"db": database}).one()
    return int(row[0]), int(row[1])


def test_fifty_failed_connects_keep_connections_bounded_and_the_loop_responsive(sim_env, monkeypatch,
                                                                               db: Session, make_org):
    from tests.support.process_state import reset_process_state

    monkeypatch.setenv("RECONNECT_BASE_SECONDS", "0.02")
    monkeypatch.setenv("RECONNECT_MAX_SECONDS", "0.06")
    monkeypatch.setenv("RECONNECT_MAX_FAILURES", "1000")
    reset_process_state()
    org = make_org()
    connect(db, org.id)
    database = get_engine().url.database
    peak = {"all": 0, "neonize": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            total, neonize = _connections(database)
            peak["all"], peak["neonize"] = max(peak["all"], total), max(peak["neonize"], neonize)
            time.sleep(0.01)

    async def body():
        lags: list[float] = []

        async def watch_loop():
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.01)
                lags.append(time.monotonic() - before - 0.01)

        engine = Engine(NeonizeFactory(), reconcile_seconds=0.5)
        watcher = asyncio.create_task(watch_loop())
        await engine.start()
        baseline = None
        try:
            deadline = time.monotonic() + 120
            while len(audit_rows(org.id, "session_disconnected")) < 50:
                assert time.monotonic() < deadline, "50 connect attempts took too long"
                if baseline is None and audit_rows(org.id, "session_disconnected"):
                    baseline = _connections(database)[0]
                await asyncio.sleep(0.1)
        finally:
            await engine.stop()
            watcher.cancel()
        return lags, baseline

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        lags, baseline = run(body, timeout=180)
    finally:
        stop.set()
        sampler.join(5)
    failures = audit_rows(org.id, "session_disconnected")
    assert len(failures) >= 50
    assert "failed to dial whatsapp" in failures[0].event_data["reason"]
    # Without the reaper every attempt would keep one more server connection (50+).
    assert peak["neonize"] <= 2, peak
    assert peak["all"] <= baseline + 3, (peak, baseline)
    assert _connections(database)[1] == 0
    print(f"\npeak connections {peak}, baseline {baseline}, attempts {len(failures)}, max loop lag {max(lags):.3f}s")
    # The loop never waits on the library (a Go Stop() run on it froze it for ~58 s, a dial costs seconds): a busy
    # machine delays one tick by tenths of a second, so only a stall of seconds is the library's.
    assert max(lags) < 2.0, f"event loop stalled for {max(lags):.3f}s"
