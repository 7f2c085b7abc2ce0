"""Items 1 and 2 through the real library (neonize): the look-up and the typing presence reach whatsmeow's own
calls. WhatsApp cannot be reached here, so the look-up fails: the message must wait (and be asked about again),
never be failed as not-on-WhatsApp; the presence fails too, and the send still follows it."""

from __future__ import annotations

import asyncio
import time

from neonize.proto import Neonize_pb2 as pb
from neonize.utils.enum import ChatPresence

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.notifications.models import NotificationQueue
from tests.support.neonize import feed
from tests.whatsapp.conftest import known_on_whatsapp, run, running_engine, wait_row

RECIPIENT = "+201009998887"


async def _live_gateway(factory, org_id, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while org_id not in factory.live:
        assert time.monotonic() < deadline, "no gateway started"
        await asyncio.sleep(0.02)
    return factory.live[org_id]


def _enqueue(org_id) -> object:
    from fleet_dashboard.notifications import queue

    with session_scope() as s:
        row, _ = queue.enqueue(session=s, org_id=org_id, recipient=RECIPIENT, template_name="trial_welcome",
                               variables={"customer_name": "سارة", "company_name": "أسطول", "plan_name": "الذهبية",
                                          "expiry_date": "2026-12-31"}, max_attempts=5, actor=SYSTEM)
        return row.id


def _row(queue_id) -> NotificationQueue:
    with session_scope() as s:
        return s.get(NotificationQueue, queue_id)


def _recording(calls: list, name: str, real, gateway):
    """The library's method, noting each call: its name, when, its arguments, and whether it came through the
    library gate (the gateway's owner counts a call inside only once the gate let it in)."""
    async def call(*args, **kwargs):
        calls.append((name, time.monotonic(), args, gateway.owner.inside > 0))
        return await real(*args, **kwargs)

    return call


def test_a_look_up_the_library_cannot_make_leaves_the_message_waiting_not_failed(sim_env, neonize_connecting):
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig

    org, factory = neonize_connecting
    calls: list = []

    async def body():
        async with running_engine(factory) as engine:
            gateway = await _live_gateway(factory, org.id)
            client = gateway.client
            client.is_on_whatsapp = _recording(calls, "is_on_whatsapp", client.is_on_whatsapp, gateway)
            client.send_message = _recording(calls, "send_message", client.send_message, gateway)
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            queue_id = await asyncio.to_thread(_enqueue, org.id)
            worker = Worker(engine, config=WorkerConfig(poll_seconds=0.1))
            deadline = time.monotonic() + 20
            while (await asyncio.to_thread(_row, queue_id)).wait_reason != "lookup_failed":
                assert time.monotonic() < deadline, "the look-up never happened"
                await worker.run_once()
                await asyncio.sleep(0.05)
            await worker.close()
        return queue_id

    row = _row(run(body))
    # The real library was asked (and failed: it is not connected to WhatsApp here) ...
    [(name, _, args, gated)] = [c for c in calls if c[0] == "is_on_whatsapp"]
    assert args == (RECIPIENT.lstrip("+"),) and gated  # through the library gate, like every call into Go
    # ... so the message waits, to be asked about again: not failed, not "not on WhatsApp", nothing sent.
    assert (row.status, row.attempts, row.wait_reason, row.error_code) == ("pending", 0, "lookup_failed",
                                                                          "lookup_failed")
    assert "could not ask WhatsApp" in row.error_message and row.scheduled_for > row.created_at
    assert not [c for c in calls if c[0] == "send_message"]
    with session_scope() as s:
        from fleet_dashboard.deliverability import contacts

        assert contacts.cached(session=s, org_id=org.id, phone=RECIPIENT) is None  # a failure is no answer


def test_typing_presence_goes_through_the_library_before_the_send(sim_env, monkeypatch, neonize_connecting):
    from fleet_dashboard.core.settings import get_settings
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig

    monkeypatch.setenv("TYPING_MIN_SECONDS", "0.3")
    monkeypatch.setenv("TYPING_MAX_SECONDS", "0.3")
    get_settings.cache_clear()
    org, factory = neonize_connecting
    calls: list = []

    async def body():
        async with running_engine(factory) as engine:
            gateway = await _live_gateway(factory, org.id)
            client = gateway.client
            client.send_chat_presence = _recording(calls, "presence", client.send_chat_presence, gateway)
            client.send_message = _recording(calls, "send_message", client.send_message, gateway)
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(known_on_whatsapp, org.id, RECIPIENT)
            queue_id = await asyncio.to_thread(_enqueue, org.id)
            worker = Worker(engine, config=WorkerConfig(poll_seconds=0.1))
            deadline = time.monotonic() + 20
            while (await asyncio.to_thread(_row, queue_id)).attempts < 1:
                assert time.monotonic() < deadline, "the send never happened"
                await worker.run_once()
                await asyncio.sleep(0.05)
            await worker.close()
        return queue_id

    row = _row(run(body))
    names = [c[0] for c in calls]
    assert names[:3] == ["presence", "presence", "send_message"], names
    composing, paused, send = calls[:3]
    assert composing[2][1] == ChatPresence.CHAT_PRESENCE_COMPOSING and composing[2][0].User == RECIPIENT.lstrip("+")
    assert paused[2][1] == ChatPresence.CHAT_PRESENCE_PAUSED
    assert composing[3] and paused[3] and send[3]  # each through the library gate
    assert paused[1] - composing[1] >= 0.29  # "typing..." lasted its time before the message
    # The library refused both (no connection to WhatsApp here): the send is an ordinary failure, retried.
    assert (row.status, row.attempts, row.error_code) == ("pending", 1, "send_failed")


def test_a_number_whatsapp_moved_to_a_lid_is_sent_to_its_lid(sim_env, neonize_connecting):
    """WhatsApp's usync answer (what neonize's is_on_whatsapp returns) says the number is on WhatsApp, and
    whatsmeow's store maps its phone JID to a LID: the message goes to the LID, not to the phone JID (a send there
    is refused with 463 once the contact moved; OpenWA PR #717). The answer is cached with that address."""
    from fleet_dashboard.deliverability import contacts
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig
    from tests.support.neonize import jid

    org, factory = neonize_connecting
    digits = RECIPIENT.lstrip("+")
    lid = jid("81234567890123", server="lid")
    calls: list = []

    async def body():
        async with running_engine(factory) as engine:
            gateway = await _live_gateway(factory, org.id)
            client = gateway.client

            async def is_on_whatsapp(*numbers):
                return [pb.IsOnWhatsAppResponse(Query="+" + n, JID=jid(n), IsIn=True) for n in numbers]

            async def get_lid_from_pn(pn):
                assert pn.User == digits
                return lid

            client.is_on_whatsapp = _recording(calls, "is_on_whatsapp", is_on_whatsapp, gateway)
            client.get_lid_from_pn = _recording(calls, "get_lid_from_pn", get_lid_from_pn, gateway)
            client.send_message = _recording(calls, "send_message", client.send_message, gateway)
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            queue_id = await asyncio.to_thread(_enqueue, org.id)
            worker = Worker(engine, config=WorkerConfig(poll_seconds=0.1))
            deadline = time.monotonic() + 20
            while (await asyncio.to_thread(_row, queue_id)).attempts < 1:
                assert time.monotonic() < deadline, "the send never happened"
                await worker.run_once()
                await asyncio.sleep(0.05)
            await worker.close()

    run(body)
    [send] = [c for c in calls if c[0] == "send_message"]
    to = send[2][0]
    assert (to.User, to.Server) == (lid.User, "lid")
    assert all(c[3] for c in calls)  # every call through the library gate
    with session_scope() as s:
        answer = contacts.cached(session=s, org_id=org.id, phone=RECIPIENT)
    assert answer.on_whatsapp is True and answer.jid == f"{lid.User}@lid"
