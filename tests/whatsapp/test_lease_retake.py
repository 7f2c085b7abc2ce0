"""An engine that loses its lease connection and takes its own organisations again must end with each of them
connected. Its old clients are stopped while the database is slow (the old socket's release waits on a row
lock here, as it waits behind a loaded server in bench/queue.py at load 40-80), so the simulated server still
names the old socket when the new client connects: the new client must not be told StreamReplaced for it,
and nothing may switch the session off as "another client took over"."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select, text
from sqlmodel import Session

from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.core.db import get_engine
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.engine.engine import Engine
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory, jid_for
from fleet_dashboard.whatsapp.models import SessionReason
from tests.whatsapp.conftest import load_row, run, wait_row

PHONE = "+201001112244"


def _replaced_audits(org_id) -> int:
    with Session(get_engine()) as s:
        return s.execute(select(func.count()).select_from(WhatsAppAuditLog).where(
            WhatsAppAuditLog.org_id == org_id,
            WhatsAppAuditLog.event_data["code"].as_string() == SessionReason.stream_replaced.value)).scalar_one()


def test_an_engine_that_retakes_its_own_organisation_after_losing_its_lease_connects_it_again(
        sim_env, db: Session, make_org):
    org = make_org()
    row = sessions.get_or_create(session=db, org_id=org.id)
    row.whatsapp_id, row.phone_number, row.enabled = jid_for(PHONE), PHONE, True
    db.add(row)
    db.commit()
    device = f"{org.id}/{jid_for(PHONE)}"

    async def body():
        engine = Engine(SimulatorFactory(), reconcile_seconds=0.3, engine_id="the-engine")
        await engine.start()
        blocker = get_engine().connect()
        try:
            first = await wait_row(org.id, lambda r: r.status == "connected" and r.engine_id == "the-engine")
            # The database is slow: the old socket's release waits (a row lock held by another transaction).
            blocker.execute(text("SELECT 1 FROM simulator_sockets WHERE device = :d FOR UPDATE"), {"d": device})
            pid = (await (await engine.leases.conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
            with get_engine().connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            # Long enough for the engine to give up waiting on its old client and take the organisation again.
            await asyncio.sleep(18)
            blocker.rollback()
            taken = await wait_row(org.id, lambda r: r.lease_generation > first.lease_generation
                                   and r.status == "connected" and r.last_connected_at > first.last_connected_at,
                                   timeout=40)
            await asyncio.sleep(3)  # a few sweeps of the simulated server: a StreamReplaced would show now
            after = await asyncio.to_thread(load_row, org.id)
            assert (after.status, after.enabled, after.engine_id) == ("connected", True, "the-engine")
            assert after.connection_error_code is None
            assert after.lease_generation == taken.lease_generation
            assert await asyncio.to_thread(_replaced_audits, org.id) == 0
            assert engine.is_connected(org.id)
            await engine.send_text(org.id, "+201005550002", "connected again after the lease came back")
        finally:
            blocker.close()
            await engine.stop()

    started = time.monotonic()
    run(body, timeout=120)
    assert time.monotonic() - started < 120
