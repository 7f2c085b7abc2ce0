"""Reconnects: backoff timing, error past the limit while still retrying, a user's retry, and a restart that
resumes without a QR."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from sqlmodel import Session

from fleet_dashboard.core.backoff import backoff_delay
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory, jid_for
from tests.whatsapp.conftest import (
    ask,
    audit_rows,
    audit_types,
    connect,
    load_row,
    paired,
    run,
    running_engine,
    scan,
    wait_row,
)

PHONE = "+201001234567"


def test_delay_doubles_with_jitter_and_caps():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (9, 300), (30, 300)]:
        delays = [backoff_delay(attempt, base=2, cap=300, rng=rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # jittered, so sessions never retry in step


def _failing_connects(org_id, count: int) -> SimulatorFactory:
    """A simulator on which the organisation's next `count` connects fail, as when WhatsApp does not answer."""
    factory = SimulatorFactory()
    factory.apply(org_id, "fail-connects", {"count": count})
    factory.owned.add(org_id)
    return factory


def test_failed_connects_back_off_show_error_past_the_limit_and_keep_trying_at_the_cap(sim_env, db: Session,
                                                                                      make_org):
    org = make_org()
    paired(db, org.id, jid_for(PHONE), PHONE)

    async def body():
        async with running_engine(_failing_connects(org.id, 6)):
            started = time.monotonic()
            await asyncio.to_thread(connect, db, org.id)
            row = await wait_row(org.id, lambda r: r.status == "error", timeout=10)
            assert row.retry_count == 4 and "4 failed attempts in a row" in row.connection_error
            assert "simulated connection failure" in row.connection_error
            assert row.connection_error_code == "connect_gave_up"
            assert row.next_retry_at is not None  # the page can say when the next try is
            waits = [a.event_data["retry_in_seconds"] for a in audit_rows(org.id, "session_disconnected")]
            # base 0.2 s, cap 0.8 s: each wait within [ceiling/2, ceiling].
            for wait, ceiling in zip(waits, [0.2, 0.4, 0.8], strict=True):
                assert ceiling / 2 - 0.01 <= wait <= ceiling + 0.01
            assert audit_types(org.id).count("session_error") == 1

            # Past the limit it never gives up for good: it keeps trying at the cap (no storm), and
            # comes back by itself once WhatsApp answers again.
            row = await wait_row(org.id, lambda r: r.status == "connected", timeout=15)
            elapsed = time.monotonic() - started
            assert row.retry_count == 0 and row.connection_error is None and row.connection_error_code is None
            attempts = audit_rows(org.id, "session_disconnected") + audit_rows(org.id, "session_error")
            assert len(attempts) == 6
            later = [a.event_data["retry_in_seconds"] for a in audit_rows(org.id, "session_disconnected")[3:]]
            assert all(0.4 - 0.01 <= w <= 0.8 + 0.01 for w in later), later
            assert elapsed >= sum(waits) + sum(later)
            assert "qr_generated" not in audit_types(org.id)

    run(body)


def test_a_user_retry_skips_the_backoff_wait(sim_env, monkeypatch, db: Session, make_org):
    from tests.support.process_state import reset_process_state

    monkeypatch.setenv("RECONNECT_BASE_SECONDS", "30")
    monkeypatch.setenv("RECONNECT_MAX_SECONDS", "60")
    reset_process_state()
    org = make_org()
    paired(db, org.id, jid_for(PHONE), PHONE)

    async def body():
        async with running_engine(_failing_connects(org.id, 1)):
            await asyncio.to_thread(connect, db, org.id)
            row = await wait_row(org.id, lambda r: r.connection_error_code == "connect_failed")
            assert row.next_retry_at is not None
            await asyncio.to_thread(ask, db, org.id, sessions.request_retry)
            row = await wait_row(org.id, lambda r: r.status == "connected", timeout=5)
            assert row.retry_count == 0

    run(body)


def test_restart_resumes_a_connected_session_without_a_qr(sim_env, db: Session, make_org):
    org = make_org()
    connect(db, org.id)

    async def first_run():
        async with running_engine(SimulatorFactory()):
            return await scan(org.id, PHONE, "Depot")

    before = run(first_run)
    stopped = load_row(org.id)
    assert stopped.status == "disconnected" and stopped.enabled and stopped.whatsapp_id == before.whatsapp_id

    async def second_run():
        async with running_engine(SimulatorFactory()) as engine:
            row = await wait_row(org.id, lambda r: r.status == "connected")
            assert engine.is_connected(org.id)
            return row

    after = run(second_run)
    assert (after.whatsapp_id, after.phone_number, after.display_name) == (before.whatsapp_id, PHONE, "Depot")
    assert audit_types(org.id).count("qr_generated") == 1
    assert audit_types(org.id).count("session_connected") == 2


def test_user_logout_unlinks_and_stop_keeps_the_device(sim_env, db: Session, make_org):
    org = make_org()
    paired(db, org.id, jid_for(PHONE), PHONE)
    connect(db, org.id)

    async def body():
        async with running_engine(SimulatorFactory()) as engine:
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(ask, db, org.id, sessions.request_stop)
            row = await wait_row(org.id, lambda r: not r.enabled and r.status == "disconnected")
            await _until(lambda: org.id not in engine.owned_org_ids())
            assert row.whatsapp_id == jid_for(PHONE)

            await asyncio.to_thread(connect, db, org.id)
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(ask, db, org.id, sessions.request_logout)
            await _until(lambda: org.id not in engine.owned_org_ids())
            row = await asyncio.to_thread(load_row, org.id)
            assert row.whatsapp_id is None and row.status == "disconnected"
            assert audit_types(org.id)[-1] == "logged_out"

    run(body)


async def _until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.05)


def test_connected_but_every_send_failing_is_its_own_reason_on_the_bus(sim_env, monkeypatch, db: Session, make_org):
    """The top complaint against every peer: "connected", yet nothing goes out. It shows, and clears once a send
    succeeds; the session.status event (what webhooks get) carries the reason."""
    from fleet_dashboard.core.events import get_bus
    from fleet_dashboard.whatsapp.gateway import SendFailed

    org = make_org()
    paired(db, org.id, jid_for(PHONE), PHONE)
    factory = SimulatorFactory()

    async def body():
        async with running_engine(factory) as engine:
            async with get_bus().subscribe(org_id=org.id, types={"session.status"}) as seen:
                await asyncio.to_thread(connect, db, org.id)
                await wait_row(org.id, lambda r: r.status == "connected")
                factory.apply(org.id, "fail-sends", {"count": 3})
                for _ in range(3):
                    with pytest.raises(SendFailed):
                        await engine.send_text(org.id, "+201009998887", "hello")
                row = await wait_row(org.id, lambda r: r.connection_error_code == "sends_failing")
                assert row.status == "connected" and "3 sends in a row failed" in row.connection_error
                event = await seen.wait_for(lambda e: e.get("connection_error_code") == "sends_failing", 5)
                assert event["status"] == "connected"
                await engine.send_text(org.id, "+201009998887", "hello again")
                row = await wait_row(org.id, lambda r: r.connection_error_code is None)
                assert row.status == "connected"
            assert [a.event_data["reason"] for a in audit_rows(org.id, "session_health")] == ["sends_failing",
                                                                                               "healthy"]

    run(body)
