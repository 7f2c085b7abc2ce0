"""Reconnects: backoff timing, the cap to error, a user's retry, and a restart that resumes without a QR."""

from __future__ import annotations

import asyncio
import random
import time

from sqlmodel import Session

from fleet_dashboard.api.simulator import command
from fleet_dashboard.services import sessions
from fleet_dashboard.services.backoff import backoff_delay
from fleet_dashboard.services.permissions import SYSTEM
from fleet_dashboard.whatsapp.engine import Engine
from fleet_dashboard.whatsapp.simulator import SimulatorFactory, jid_for
from tests.engine.conftest import audit_rows, audit_types, connect, load_row, run, wait_row

PHONE = "+201001234567"


def test_delay_doubles_with_jitter_and_caps():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (9, 300), (30, 300)]:
        delays = [backoff_delay(attempt, base=2, cap=300, rng=rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # jittered, so sessions never retry in step


def _paired(db: Session, org_id):
    """A session whose device was paired before, so connects resume without a QR."""
    row = sessions.get_or_create(session=db, org_id=org_id)
    row.whatsapp_id, row.phone_number = jid_for(PHONE), PHONE
    db.add(row)
    db.commit()


def test_failed_connects_back_off_then_cap_to_error_until_a_user_retries(sim_env, db: Session, make_org):
    org = make_org()
    _paired(db, org.id)
    factory = SimulatorFactory()

    async def body():
        engine = Engine(factory, reconcile_seconds=0.3)
        factory.apply(org.id, "fail-connects", {"count": 4})
        factory.owned.add(org.id)
        await engine.start()
        try:
            started = time.monotonic()
            await asyncio.to_thread(connect, db, org.id)
            row = await wait_row(org.id, lambda r: r.status == "error", timeout=10)
            elapsed = time.monotonic() - started
            assert row.retry_count == 4 and "gave up after 4 failed attempts" in row.connection_error
            assert "simulated connection failure" in row.connection_error
            assert row.connection_error_code == "connect_gave_up"
            waits = [a.event_data["retry_in_seconds"] for a in audit_rows(org.id, "session_disconnected")]
            # base 0.2 s, cap 0.8 s: each wait within [ceiling/2, ceiling].
            for wait, ceiling in zip(waits, [0.2, 0.4, 0.8], strict=True):
                assert ceiling / 2 - 0.01 <= wait <= ceiling + 0.01
            assert elapsed >= sum(waits)
            gaps = [b.created_at - a.created_at for a, b in zip(audit_rows(org.id, "session_disconnected"),
                                                                  audit_rows(org.id, "session_disconnected")[1:],
                                                                  strict=False)]
            for gap, wait in zip(gaps, waits, strict=False):
                assert gap.total_seconds() >= wait - 0.01
            assert audit_types(org.id).count("session_error") == 1

            # No reconnect storm: in error, nothing more is tried.
            await asyncio.sleep(1.0)
            assert (await asyncio.to_thread(load_row, org.id)).status == "error"
            assert len(audit_rows(org.id, "session_disconnected")) == 3
            assert org.id in engine.owned_org_ids()

            await asyncio.to_thread(_retry, db, org.id)
            row = await wait_row(org.id, lambda r: r.status == "connected")
            assert row.retry_count == 0 and row.connection_error is None and row.connection_error_code is None
            assert "qr_generated" not in audit_types(org.id)
        finally:
            await engine.stop()

    run(body)


def _retry(db: Session, org_id):
    sessions.request_retry(session=db, org_id=org_id, actor=SYSTEM)
    db.commit()


def test_restart_resumes_a_connected_session_without_a_qr(sim_env, db: Session, make_org):
    org = make_org()
    connect(db, org.id)

    async def first_run():
        engine = Engine(SimulatorFactory(), reconcile_seconds=0.3)
        await engine.start()
        try:
            await wait_row(org.id, lambda r: r.status == "qr_pending")
            await command(org.id, "scan", {"phone": PHONE, "name": "Depot"})
            return await wait_row(org.id, lambda r: r.status == "connected")
        finally:
            await engine.stop()

    before = run(first_run)
    stopped = load_row(org.id)
    assert stopped.status == "disconnected" and stopped.enabled and stopped.whatsapp_id == before.whatsapp_id

    async def second_run():
        engine = Engine(SimulatorFactory(), reconcile_seconds=0.3)
        await engine.start()
        try:
            row = await wait_row(org.id, lambda r: r.status == "connected")
            assert engine.is_connected(org.id)
            return row
        finally:
            await engine.stop()

    after = run(second_run)
    assert (after.whatsapp_id, after.phone_number, after.display_name) == (before.whatsapp_id, PHONE, "Depot")
    assert audit_types(org.id).count("qr_generated") == 1
    assert audit_types(org.id).count("session_connected") == 2


def test_user_logout_unlinks_and_stop_keeps_the_device(sim_env, db: Session, make_org):
    org = make_org()
    _paired(db, org.id)
    connect(db, org.id)

    async def body():
        engine = Engine(SimulatorFactory(), reconcile_seconds=0.3)
        await engine.start()
        try:
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(_stop, db, org.id)
            row = await wait_row(org.id, lambda r: not r.enabled and r.status == "disconnected")
            await _until(lambda: org.id not in engine.owned_org_ids())
            assert row.whatsapp_id == jid_for(PHONE)

            await asyncio.to_thread(connect, db, org.id)
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(_logout, db, org.id)
            await _until(lambda: org.id not in engine.owned_org_ids())
            row = await asyncio.to_thread(load_row, org.id)
            assert row.whatsapp_id is None and row.status == "disconnected"
            assert audit_types(org.id)[-1] == "logged_out"
        finally:
            await engine.stop()

    run(body)


async def _until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.05)


def _stop(db: Session, org_id):
    sessions.request_stop(session=db, org_id=org_id, actor=SYSTEM)
    db.commit()


def _logout(db: Session, org_id):
    sessions.request_logout(session=db, org_id=org_id, actor=SYSTEM)
    db.commit()
