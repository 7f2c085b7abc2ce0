"""What the bus carries is only a wake-up: a person's request or a simulator command whose event never arrived
(a listener reconnecting, a full queue) still happens, from its row; and the bus says when it resumed."""

from __future__ import annotations

import asyncio
import time
from unittest import mock

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.events import get_bus, is_resumed
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory, jid_for
from tests.whatsapp.conftest import ask, connect, paired, run, running_engine, wait_row

PHONE = "+201001234567"


def _no_events():
    """The request commits, its NOTIFY never reaches anyone."""
    return mock.patch("fleet_dashboard.core.events.emit")


def test_a_retry_whose_event_was_lost_still_skips_the_backoff(sim_env, monkeypatch, db: Session, make_org):
    from tests.support.process_state import reset_process_state

    monkeypatch.setenv("RECONNECT_BASE_SECONDS", "30")
    monkeypatch.setenv("RECONNECT_MAX_SECONDS", "60")
    reset_process_state()
    org = make_org()
    paired(db, org.id, jid_for(PHONE), PHONE)
    factory = SimulatorFactory()
    factory.apply(org.id, "fail-connects", {"count": 1})

    async def body():
        async with running_engine(factory):
            await asyncio.to_thread(connect, db, org.id)
            await wait_row(org.id, lambda r: r.connection_error_code == "connect_failed")
            with _no_events():
                await asyncio.to_thread(ask, db, org.id, sessions.request_retry)
            # Without the event, only the row says a retry was asked; the 30 s backoff is not waited out.
            row = await wait_row(org.id, lambda r: r.status == "connected", timeout=5)
            assert row.command == "retry" and row.retry_count == 0

    run(body)


def test_a_simulator_command_whose_event_was_lost_is_done_once(sim_env, db: Session, make_org):
    from fleet_dashboard.api.routes.simulator import command

    org = make_org()
    paired(db, org.id, jid_for(PHONE), PHONE)

    def replies() -> int:
        with get_engine().connect() as conn:
            return conn.execute(text("SELECT count(*) FROM whatsapp_inbound_messages WHERE org_id = :o"),
                                {"o": org.id}).scalar()

    async def body():
        async with running_engine(SimulatorFactory()):
            await asyncio.to_thread(connect, db, org.id)
            await wait_row(org.id, lambda r: r.status == "connected")
            started = time.monotonic()
            with _no_events():
                assert await command(org.id, "inbound", {"from": "+201009998887", "text": "وصلت"}) == \
                    {"success": True, "action": "inbound"}
            took = time.monotonic() - started
            deadline = time.monotonic() + 5
            while await asyncio.to_thread(replies) < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # a second sweep must not do it again
            return took

    took = run(body)
    assert took < 3, f"the sweep took {took:.1f} s to find the command"
    assert replies() == 1


def test_subscribers_hear_that_the_bus_resumed_after_its_connection_died(sim_env):
    async def body():
        bus = get_bus()
        async with bus.subscribe(types={"queue.wake"}) as sub:
            with get_engine().begin() as conn:  # as a server restart would: our database's listener is cut
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                  "application_name = 'fleet-bus-listener' AND datname = current_database()"))
            event = await sub.get(10)
            assert is_resumed(event) and event["lost"] is True and sub.resumed == 1
            await bus.publish({"type": "queue.wake", "org_id": "o"})
            assert (await sub.get(5))["type"] == "queue.wake"

    run(body)
