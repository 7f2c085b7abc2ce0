"""A simulated session from QR to logout, as a user and the API would see it: rows, audit and events."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.api.routes.simulator import command
from fleet_dashboard.core.errors import NotConnected, OptedOut
from fleet_dashboard.core.events import get_bus
from fleet_dashboard.messaging import messages, optouts
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.worker import Worker, WorkerConfig
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
from fleet_dashboard.whatsapp.models import SimulatorSent
from tests.whatsapp.conftest import audit_rows, audit_types, connect, load_row, run, running_engine, scan, wait_row

PHONE = "+201001234567"


def test_full_lifecycle(sim_env, db: Session, make_org, make_user):
    org = make_org()
    owner = make_user(org=org)
    connect(db, org.id, owner.id)

    async def body():
        async with get_bus().subscribe(org_id=org.id) as seen:
            async with running_engine(SimulatorFactory()) as engine:
                # A QR appears and rotates; nothing connects before a scan.
                first = await wait_row(org.id, lambda r: r.status == "qr_pending" and r.qr_code)
                assert first.qr_expires_at is not None
                second = await wait_row(org.id, lambda r: r.qr_code and r.qr_code != first.qr_code)
                assert second.status == "qr_pending"
                assert not engine.is_connected(org.id)
                with pytest.raises(NotConnected):
                    await engine.send_text(org.id, PHONE, "too early")

                await command(org.id, "scan", {"phone": PHONE, "name": "Fleet Ops"})
                row = await wait_row(org.id, lambda r: r.status == "connected")
                assert (row.phone_number, row.display_name) == (PHONE, "Fleet Ops")
                assert row.whatsapp_id and row.last_connected_at and row.qr_code is None
                assert engine.is_connected(org.id) and engine.owned_org_ids() == {org.id}
                assert audit_types(org.id).count("qr_generated") == 1
                assert audit_rows(org.id, "session_connected")[0].event_data["phone"] == PHONE

                # A message goes out, gets an id, is logged by the network, then delivered and read.
                msg = await asyncio.to_thread(_create, org.id, "20 100 765 4321")
                worker = Worker(engine, config=WorkerConfig(poll_seconds=0.05))
                sent = await _send_through_worker(worker, msg)
                await worker.close()
                assert sent.status in ("sent", "delivered") and sent.whatsapp_message_id.startswith("3EB0")
                delivered = await _wait_message(msg, "delivered")
                assert delivered.delivered_at is not None
                await command(org.id, "receipt", {"whatsapp_message_id": sent.whatsapp_message_id,
                                                  "type": "read"})
                read = await _wait_message(msg, "read")
                assert read.read_at is not None
                logged = await asyncio.to_thread(_sent_ids, org.id)
                assert logged == [sent.whatsapp_message_id]

                # The drop: reconnects by itself with the stored device, no new QR.
                await command(org.id, "drop")
                await wait_row(org.id, lambda r: audit_types(org.id).count("session_connected") == 2)
                row = await wait_row(org.id, lambda r: r.status == "connected")
                assert row.retry_count == 0 and row.connection_error is None
                assert row.last_disconnected_at is not None
                drop = audit_rows(org.id, "session_disconnected")[-1].event_data
                assert drop["reason"] == "simulated connection drop" and drop["retry_in_seconds"] <= 0.2
                assert audit_types(org.id).count("qr_generated") == 1

                # A phone-side logout: disconnected, device forgotten, never retried.
                await command(org.id, "logout")
                row = await wait_row(org.id, lambda r: r.status == "disconnected" and not r.enabled)
                assert row.whatsapp_id is None and row.phone_number is None
                await asyncio.sleep(0.8)
                assert (await asyncio.to_thread(load_row, org.id)).status == "disconnected"
                assert engine.owned_org_ids() == set()
                # ... and the number's sending pauses (its queue waits) until it is linked again.
                assert audit_types(org.id)[-2:] == ["logged_out", "sending_paused"]
            statuses = []
            kinds = set()
            while not seen.queue.empty():
                event = seen.queue.get_nowait()
                kinds.add(event["type"])
                if event["type"] == "session.status":
                    statuses.append(event["status"])
        assert {"session.status", "message.status", "simulator.ack"} <= kinds
        assert statuses[:2] == ["connecting", "qr_pending"]
        assert "connected" in statuses and statuses[-1] == "disconnected"

    run(body)


def test_inbound_stop_and_start_keywords_opt_out_and_back_in(sim_env, db: Session, make_org):
    org = make_org()
    connect(db, org.id)

    async def body():
        async with running_engine(SimulatorFactory()):
            await scan(org.id, PHONE)
            async with get_bus().subscribe(org_id=org.id, types={"message.inbound"}) as inbound:
                await command(org.id, "inbound", {"from": "+201009998887", "text": " إيقاف "})
                event = await inbound.get(5)
                assert (event["from"], event["opt_out"]) == ("+201009998887", "opted_out")
                assert await asyncio.to_thread(_opted_out, org.id, "+201009998887")
                with pytest.raises(OptedOut):
                    await asyncio.to_thread(_create, org.id, "+201009998887")

                await command(org.id, "inbound", {"from": "+201009998887", "text": "hello"})
                assert (await inbound.get(5))["opt_out"] is None
                await command(org.id, "inbound", {"from": "+201009998887", "text": "START"})
                assert (await inbound.get(5))["opt_out"] == "opted_in"
                assert not await asyncio.to_thread(_opted_out, org.id, "+201009998887")
                assert audit_types(org.id).count("opted_out") == 1

    run(body)


def _create(org_id, phone):
    from fleet_dashboard.core.db import session_scope

    with session_scope() as s:
        msg, _ = messages.create_message(session=s, org_id=org_id, recipient=phone, text="Your truck is here",
                                          status="queued", actor=SYSTEM)
        queue.enqueue_message(session=s, org_id=org_id, message=msg)
        return msg.id


def _message(message_id) -> WhatsAppMessage:
    from fleet_dashboard.core.db import session_scope

    with session_scope() as s:
        return s.get(WhatsAppMessage, message_id)


async def _send_through_worker(worker, message_id, timeout=10.0):
    """The way every message leaves: the queue's worker sends it through the engine that owns the socket."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await worker.run_once()
        row = await asyncio.to_thread(_message, message_id)
        if row.whatsapp_message_id or asyncio.get_running_loop().time() > deadline:
            assert row.whatsapp_message_id, row.status
            return row
        await asyncio.sleep(0.05)


def _opted_out(org_id, phone):
    from fleet_dashboard.core.db import session_scope

    with session_scope() as s:
        return optouts.is_opted_out(session=s, org_id=org_id, phone=phone)


def _sent_ids(org_id):
    from sqlmodel import select

    from fleet_dashboard.core.db import session_scope

    with session_scope() as s:
        return list(s.exec(select(SimulatorSent.whatsapp_message_id).where(SimulatorSent.org_id == org_id,
                                                                           SimulatorSent.kind == "message")))


async def _wait_message(message_id, status, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = await asyncio.to_thread(_message, message_id)
        if row.status == status or asyncio.get_running_loop().time() > deadline:
            assert row.status == status
            return row
        await asyncio.sleep(0.05)
