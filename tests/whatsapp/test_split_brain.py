"""One owner per organisation, even across a frozen engine: the first engine is SIGSTOPped until a second has
taken the organisation over and connected, then resumed. The simulated server tells the old socket
StreamReplaced when it wakes (one socket per device); the old engine's writes are fenced by the lease
generation, so it stops its client and writes nothing, and the organisation stays connected on the second."""

from __future__ import annotations

import signal
import time
import uuid

from sqlalchemy import func, select
from sqlmodel import Session

from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.messaging import messages
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications import queue
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.engine.simulator import jid_for
from fleet_dashboard.whatsapp.models import SimulatorSent, WhatsAppEngine
from tests.whatsapp.conftest import load_row, spawn, stop_process, wait_row_sync

ENGINE = ["-m", "fleet_dashboard.cli", "engine"]
PHONE = "+201001112233"


def _audit_count(org_id: uuid.UUID) -> int:
    with Session(get_engine()) as s:
        return s.execute(select(func.count()).select_from(WhatsAppAuditLog)
                         .where(WhatsAppAuditLog.org_id == org_id)).scalar_one()


def _engine_row(engine_id: str) -> WhatsAppEngine | None:
    with Session(get_engine()) as s:
        return s.get(WhatsAppEngine, engine_id)


def _send(org_id: uuid.UUID, text: str) -> uuid.UUID:
    with session_scope() as s:
        msg, _ = messages.create_message(session=s, org_id=org_id, recipient="+201005550000", text=text,
                                         status="queued", actor=SYSTEM)
        queue.enqueue_message(session=s, org_id=org_id, message=msg)
        return msg.id


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def test_a_frozen_engine_woken_after_a_takeover_writes_nothing_and_the_second_stays_connected(
        sim_env, db: Session, make_org, tmp_path):
    org = make_org()
    row = sessions.get_or_create(session=db, org_id=org.id)
    row.whatsapp_id, row.phone_number, row.enabled = jid_for(PHONE), PHONE, True
    db.add(row)
    db.commit()
    env = {**sim_env, "ENGINE_LEASE_SECONDS": "2"}
    first = spawn(ENGINE, env, tmp_path / "first.log")
    second = None
    try:
        on_first = wait_row_sync(org.id, lambda r: r.status == "connected", timeout=30)
        first_id = on_first.engine_id
        assert first_id and first_id.endswith(f":{first.pid}")

        first.send_signal(signal.SIGSTOP)
        second = spawn(ENGINE, env, tmp_path / "second.log")
        taken = wait_row_sync(org.id, lambda r: r.status == "connected" and r.engine_id != first_id
                              and r.last_connected_at > on_first.last_connected_at, timeout=30)
        assert taken.engine_id.endswith(f":{second.pid}")
        assert taken.lease_generation > on_first.lease_generation
        audits, updated = _audit_count(org.id), taken.updated_at

        first.send_signal(signal.SIGCONT)
        # The first engine wakes, finds its socket replaced and its lease gone, and lets the organisation go.
        _wait(lambda: "lost the lease of" in (tmp_path / "first.log").read_text(), 20,
              "the first engine noticing it lost the organisation")
        _wait(lambda: (e := _engine_row(first_id)) is not None and e.owned == 0, 20,
              "the first engine's heartbeat holding nothing")
        time.sleep(1.5)  # room for any late write it might still make

        after = load_row(org.id)
        assert (after.status, after.enabled, after.engine_id) == ("connected", True, taken.engine_id)
        assert after.connection_error_code is None and after.updated_at == updated
        assert after.lease_generation == taken.lease_generation
        assert _audit_count(org.id) == audits  # not one row from the first engine

        # Sends go through, on the second engine's socket.
        message_id = _send(org.id, "after the split brain")
        sent = _wait(lambda: (m := _message(message_id)).status in ("sent", "delivered") and m, 30,
                     "the message sent")
        with Session(get_engine()) as s:
            logged = s.execute(select(SimulatorSent).where(
                SimulatorSent.whatsapp_message_id == sent.whatsapp_message_id)).scalars().all()
        assert len(logged) == 1
        assert load_row(org.id).status == "connected"
    finally:
        for proc in (first, second):
            if proc is not None:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
                stop_process(proc, signal.SIGKILL)


def _message(message_id: uuid.UUID) -> WhatsAppMessage:
    with session_scope() as s:
        return s.get(WhatsAppMessage, message_id)


def test_stream_replaced_read_before_the_lease_check_writes_nothing(sim_env, db: Session, make_org):
    """The other order: the old engine reads StreamReplaced before it looks at its lease connection. Its
    `disconnected / enabled=false / stream_replaced` write is fenced by the generation: the client is stopped,
    nothing is written, and the new owner stays connected."""
    import asyncio

    from sqlalchemy import text

    from fleet_dashboard.whatsapp.engine.engine import Engine
    from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
    from tests.whatsapp.conftest import run, wait_row

    org = make_org()
    row = sessions.get_or_create(session=db, org_id=org.id)
    row.whatsapp_id, row.phone_number, row.enabled = jid_for(PHONE), PHONE, True
    db.add(row)
    db.commit()

    async def body():
        # The old engine never looks at its lease again by itself (its reconcile is an hour away).
        old = Engine(SimulatorFactory(), reconcile_seconds=3600, engine_id="old-engine")
        await old.start()
        new = None
        try:
            first = await wait_row(org.id, lambda r: r.status == "connected" and r.engine_id == "old-engine")
            old_sup = old.supervisor(org.id)
            # The old engine's lease connection ends (as PostgreSQL ends a frozen engine's), and a new engine
            # takes the organisation over and connects with the same device.
            pid = (await (await old.leases.conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
            with get_engine().connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            new = Engine(SimulatorFactory(), reconcile_seconds=0.3, engine_id="new-engine")
            await new.start()
            taken = await wait_row(org.id, lambda r: r.status == "connected" and r.engine_id == "new-engine"
                                   and r.last_connected_at > first.last_connected_at)
            assert taken.lease_generation == first.lease_generation + 1
            audits = await asyncio.to_thread(_audit_count, org.id)
            # The old socket is told StreamReplaced on its next sweep; its write is refused by the fence.
            deadline = time.monotonic() + 10
            while old.supervisor(org.id) is not None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert old.supervisor(org.id) is None and old_sup.lease_lost
            assert not old.is_connected(org.id)
            after = await asyncio.to_thread(load_row, org.id)
            assert (after.status, after.enabled, after.engine_id) == ("connected", True, "new-engine")
            assert after.connection_error_code is None and after.updated_at == taken.updated_at
            assert await asyncio.to_thread(_audit_count, org.id) == audits
            assert new.is_connected(org.id)
            await new.send_text(org.id, "+201005550001", "still connected on the new engine")
            # The old engine's shutdown marks nothing either (its rows were taken over).
            await old.stop()
            after_stop = await asyncio.to_thread(load_row, org.id)
            assert (after_stop.status, after_stop.updated_at) == ("connected", taken.updated_at)
        finally:
            await old.stop()
            if new is not None:
                await new.stop()

    run(body)


def test_a_write_at_a_stale_generation_changes_nothing_and_says_the_lease_is_lost(sim_env, db: Session, make_org):
    import pytest

    from fleet_dashboard.whatsapp.engine import store

    org = make_org()
    row = sessions.get_or_create(session=db, org_id=org.id)
    row.enabled, row.engine_id, row.lease_generation, row.status = True, "a", 3, "connected"
    db.add(row)
    db.commit()
    with pytest.raises(store.LeaseLost):
        store.transition(org.id, {"status": "disconnected", "enabled": False}, fence=store.Fence("a", 2))
    with pytest.raises(store.LeaseLost):
        store.transition(org.id, {"status": "disconnected"}, fence=store.Fence("b", 3))
    with pytest.raises(store.LeaseLost):
        store.pause(org.id, "sends_failing", "stale", fence=store.Fence("a", 2))
    assert (load_row(org.id).status, load_row(org.id).enabled) == ("connected", True)
    assert store.transition(org.id, {"status": "connecting"}, fence=store.Fence("a", 3)).status == "connecting"


def test_with_the_real_library_a_stale_engine_told_stream_replaced_writes_nothing(sim_env, database_url,
                                                                                 neonize_connecting):
    """The same with real neonize clients (they cannot reach WhatsApp here, so the server's StreamReplaced is fed
    to the old client as Go would hand it over): the old engine's write is refused by the generation, its client
    is stopped, and the organisation stays connected on the new engine."""
    import asyncio

    from neonize.proto import Neonize_pb2 as pb
    from sqlalchemy import text

    from fleet_dashboard.whatsapp.engine.engine import Engine
    from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
    from tests.support.neonize import PHONE_USER, feed, jid, store_device
    from tests.whatsapp.conftest import run, wait_row

    org, old_factory = neonize_connecting
    device = f"{PHONE_USER}:7@s.whatsapp.net"

    async def body():
        await NeonizeFactory().prepare_store()  # whatsmeow's tables: the new engine checks the device is stored
        await asyncio.to_thread(store_device, database_url, device)
        old = Engine(old_factory, reconcile_seconds=3600, engine_id="old-engine")
        await old.start()
        new = None
        try:
            while org.id not in old_factory.live:
                await asyncio.sleep(0.02)
            old_client = old_factory.live[org.id].client
            await asyncio.to_thread(feed, old_client, pb.PairStatus(ID=jid(PHONE_USER, device=7),
                                                                    BusinessName="Fleet", Platform="android",
                                                                    Status=2))
            await asyncio.to_thread(feed, old_client, pb.Connected(status=True))
            first = await wait_row(org.id, lambda r: r.status == "connected" and r.engine_id == "old-engine")
            pid = (await (await old.leases.conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
            with get_engine().connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            new_factory = NeonizeFactory(dial=False)
            new = Engine(new_factory, reconcile_seconds=0.3, engine_id="new-engine")
            await new.start()
            deadline = time.monotonic() + 20
            while org.id not in new_factory.live and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.to_thread(feed, new_factory.live[org.id].client, pb.Connected(status=True))
            taken = await wait_row(org.id, lambda r: r.status == "connected" and r.engine_id == "new-engine"
                                   and r.last_connected_at > first.last_connected_at)
            audits = await asyncio.to_thread(_audit_count, org.id)
            old_sup = old.supervisor(org.id)

            await asyncio.to_thread(feed, old_client, pb.StreamReplaced())
            deadline = time.monotonic() + 15
            while old.supervisor(org.id) is not None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert old.supervisor(org.id) is None and old_sup.lease_lost
            assert org.id not in old_factory.live  # its client was stopped
            after = await asyncio.to_thread(load_row, org.id)
            assert (after.status, after.enabled, after.engine_id) == ("connected", True, "new-engine")
            assert after.connection_error_code is None and after.updated_at == taken.updated_at
            assert await asyncio.to_thread(_audit_count, org.id) == audits
            assert new.is_connected(org.id)
        finally:
            await old.stop()
            if new is not None:
                await new.stop()

    run(body, timeout=120)
