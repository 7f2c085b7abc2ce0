"""The real neonize library, fed what its Go side really sends (read from goneonize/main.go and whatsmeow), or
dialling the unreachable network: each test failed before its fix."""

from __future__ import annotations

import asyncio
import time

import pytest
from neonize.proto import Neonize_pb2 as pb
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from sqlmodel import Session

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.engine import attempt, neonize_gateway
from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
from fleet_dashboard.whatsapp.gateway import Inbound, SendUnknown
from tests.support.neonize import (
    PHONE_USER,
    device_stored,
    feed,
    feed_qr,
    feed_status,
    inbound_from,
    jid,
    lid_source,
    map_lid,
    message_row,
    receipt,
    sent_message,
    store_device,
    until,
)
from tests.whatsapp.conftest import (
    ask,
    audit_rows,
    audit_types,
    connect,
    known_on_whatsapp,
    load_row,
    paired,
    run,
    running_engine,
    wait_row,
)

DEVICE = f"{PHONE_USER}:7@s.whatsapp.net"


async def _live_gateway(factory: NeonizeFactory, org_id, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while org_id not in factory.live:
        assert time.monotonic() < deadline, "no gateway started"
        await asyncio.sleep(0.02)
    return factory.live[org_id]


async def _next_gateway(factory: NeonizeFactory, org_id, old, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while factory.live.get(org_id) is None or factory.live[org_id] is old:
        assert time.monotonic() < deadline, "no new gateway started"
        await asyncio.sleep(0.02)
    return factory.live[org_id]


def test_a_pairing_nobody_completes_ends_with_an_arabic_reason_and_connect_starts_a_new_one(
        sim_env, monkeypatch, db: Session, neonize_connecting):
    # whatsmeow's QR window shrunk to 1 s + 5 x 0.5 s, so the test waits seconds, not minutes.
    monkeypatch.setattr(neonize_gateway, "FIRST_QR_SECONDS", 1.0)
    monkeypatch.setattr(neonize_gateway, "NEXT_QR_SECONDS", 0.5)
    monkeypatch.setattr(attempt, "PAIRING_MARGIN_SECONDS", 1.0)
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory):
            gateway = await _live_gateway(factory, org.id)
            assert gateway.client.new_device
            started = time.monotonic()
            await asyncio.to_thread(feed_qr, gateway.client, "2@only,code")
            await wait_row(org.id, lambda r: r.status == "qr_pending")
            # Nothing more comes (the library reports its timeout only to a callback nobody may hear):
            # the supervisor's own deadline ends it, within the QR window (3.5 s) plus the margin.
            row = await wait_row(org.id, lambda r: r.status == "disconnected", timeout=10)
            assert time.monotonic() - started <= 3.5 + 1.0 + 1.5
            assert not row.enabled and row.qr_code is None and row.connection_error_code == "qr_expired"
            assert "رمز QR" in strings.error_text(row.connection_error_code)
            assert org.id not in factory.live or factory.live[org.id] is not gateway

            # Connect starts a new pairing: a new client, a new QR.
            await asyncio.to_thread(connect, db, org.id)
            second = await _next_gateway(factory, org.id, gateway)
            assert second.client.new_device
            await asyncio.to_thread(feed_qr, second.client, "2@next,code")
            row = await wait_row(org.id, lambda r: r.status == "qr_pending" and r.qr_code == "2@next,code")

            # The library's own timeout, through the login-status callback Go calls: it ends at once.
            await asyncio.to_thread(feed_status, second, "timeout")
            row = await wait_row(org.id, lambda r: r.status == "disconnected", timeout=2)
            assert row.connection_error_code == "qr_expired"

    run(body)


def test_a_retry_during_a_pairing_starts_a_fresh_one(sim_env, db: Session, neonize_connecting):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory):
            gateway = await _live_gateway(factory, org.id)
            await asyncio.to_thread(feed_qr, gateway.client, "2@first,code")
            await wait_row(org.id, lambda r: r.status == "qr_pending")
            await asyncio.to_thread(ask, db, org.id, sessions.request_retry)
            second = await _next_gateway(factory, org.id, gateway)
            await asyncio.to_thread(feed_qr, second.client, "2@fresh,code")
            await wait_row(org.id, lambda r: r.qr_code == "2@fresh,code")

    run(body)


def test_qr_codes_that_arrive_late_never_replace_the_current_one_or_follow_a_pairing(sim_env, neonize_connecting):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory):
            client = (await _live_gateway(factory, org.id)).client
            await asyncio.to_thread(feed_qr, client, "2@first,abc")
            await asyncio.to_thread(feed_qr, client, "2@second,def")
            await wait_row(org.id, lambda r: r.qr_code == "2@second,def")
            # whatsmeow's QR event lists every code at once: its first one is stale by now.
            await asyncio.to_thread(feed, client, pb.QR(Codes=["2@first,abc", "2@second,def"]))
            await asyncio.sleep(0.3)
            assert (await asyncio.to_thread(load_row, org.id)).qr_code == "2@second,def"

            me = jid(PHONE_USER, device=7)
            await asyncio.to_thread(feed, client, pb.PairStatus(ID=me, BusinessName="Fleet Co", Platform="android",
                                                                Status=2))
            await wait_row(org.id, lambda r: r.whatsapp_id == DEVICE)
            # A code the channel sent just before the phone paired must not bring the QR back.
            await asyncio.to_thread(feed_qr, client, "2@third,ghi")
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            row = await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.sleep(0.3)
            row = await asyncio.to_thread(load_row, org.id)
            assert row.status == "connected" and row.qr_code is None
            assert audit_types(org.id).count("qr_generated") == 1

    run(body)


def test_whatsmeow_reconnects_by_itself_and_the_engine_starts_over_only_after_the_grace(sim_env, monkeypatch,
                                                                                          db: Session, make_org):
    from tests.support.process_state import reset_process_state

    monkeypatch.setenv("RECONNECT_GRACE_SECONDS", "1.0")
    reset_process_state()
    org = make_org()
    paired(db, org.id, DEVICE)
    connect(db, org.id)
    factory = NeonizeFactory(dial=False)
    factory.device_exists = _always  # no dial here, so no store; the device check has its own test

    async def body():
        async with running_engine(factory):
            gateway = await _live_gateway(factory, org.id)
            assert not gateway.client.new_device
            await asyncio.to_thread(feed, gateway.client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(feed, gateway.client, pb.Disconnected(status=True))
            row = await wait_row(org.id, lambda r: r.connection_error_code == "reconnecting")
            assert row.status == "connecting" and factory.live[org.id] is gateway  # no teardown: whatsmeow retries
            # The library did not come back within the grace: a fresh client, with the usual backoff.
            fresh = await _next_gateway(factory, org.id, gateway, timeout=10)
            assert not fresh.client.new_device
            assert audit_rows(org.id, "session_disconnected")[-1].event_data["reason"].startswith(
                "WhatsApp did not come back")

    run(body)


async def _always(_jid):
    return True


def test_receipts_without_a_type_or_of_other_kinds_change_nothing(sim_env, neonize_connecting):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory):
            client = (await _live_gateway(factory, org.id)).client
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            message_id = await asyncio.to_thread(sent_message, org.id, "3EB0BBB222")
            untyped = pb.Receipt(MessageSource=receipt(["x"], 1).MessageSource, MessageIDs=["3EB0BBB222"],
                                 Timestamp=int(time.time()))
            assert not untyped.HasField("Type") and untyped.Type == 1  # the proto default reads as DELIVERED
            await asyncio.to_thread(feed, client, untyped)
            await asyncio.to_thread(feed, client, receipt(["3EB0BBB222"], 8))  # "played-self" arrives as SERVER_ERROR
            await asyncio.to_thread(feed, client, receipt(["3EB0BBB222"], 5))  # read on our own other device
            await asyncio.sleep(0.5)
            assert (await asyncio.to_thread(message_row, message_id)).status == "sent"
            await asyncio.to_thread(feed, client, receipt(["3EB0BBB222"], 1))
            await until(lambda: message_row(message_id).status == "delivered")

    run(body)





def _stop_from_lid(database_url: str, org_id, lid: str, message_id: str, *, mapped_to: str | None = None):
    """A real client registered in Go (its dial failed after registration), resumed from a stored device, receives
    a STOP from a sender known by its LID (mapped to a number in the store, or not); the Inbound events it hands up."""
    events: list = []

    async def body():
        factory = NeonizeFactory()
        await factory.prepare_store()
        await asyncio.to_thread(store_device, database_url, DEVICE, "99887766:7@lid")
        if mapped_to:
            await asyncio.to_thread(map_lid, database_url, lid, mapped_to)
        gateway = factory.create(org_id, events.append)
        await gateway.start(resume_jid=DEVICE)
        try:
            await until(lambda: gateway.end_reason != "", timeout=30)  # the dial failed; Go still holds the client
            await asyncio.to_thread(feed, gateway.client, pb.Connected(status=True))
            await until(lambda: gateway.connected)
            await asyncio.to_thread(feed, gateway.client, inbound_from(lid_source(lid), "STOP", message_id))
            await until(lambda: any(isinstance(e, Inbound) for e in events))
        finally:
            await gateway.stop()
            await factory.close()
        return [e for e in events if isinstance(e, Inbound)]

    return run(body)


def test_a_sender_known_only_by_lid_is_mapped_to_its_number(sim_env, database_url, db: Session, make_org):
    [message] = _stop_from_lid(database_url, make_org().id, "123456789", "LID1", mapped_to="201005550000")
    assert (message.sender, message.text, message.message_id) == ("+201005550000", "STOP", "LID1")


def test_texts_go_out_as_message_protos_with_no_mention_parsing(sim_env, db: Session, make_org):
    org = make_org()
    seen: list = []

    async def body():
        factory = NeonizeFactory(dial=False)
        gateway = factory.create(org.id, lambda _e: None)
        await gateway.start(resume_jid=DEVICE)
        client = gateway.client
        real_send = client.send_message

        async def recording_send(to, message, *args, **kwargs):
            seen.append(message)
            return await real_send(to, message, *args, **kwargs)

        async def no_group_lookups(*_args, **_kwargs):
            raise AssertionError("a text send looked groups up")

        client.send_message = recording_send
        client._parse_group_mention = no_group_lookups
        gateway.connected = True
        try:
            with pytest.raises(Exception, match="client is nil|not"):  # never registered in Go: refused, no abort
                await gateway.send_text("+201009998887", "@201001234567 شاحنتك وصلت")
        finally:
            await gateway.stop()

    run(body)
    [message] = seen
    assert isinstance(message, WAMessage)
    assert message.conversation == "@201001234567 شاحنتك وصلت" and not message.HasField("extendedTextMessage")


def test_a_send_the_library_does_not_answer_in_time_is_unknown_and_never_retried(sim_env, monkeypatch,
                                                                                   neonize_connecting):
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig

    monkeypatch.setattr(neonize_gateway, "CALL_TIMEOUT", 0.2)
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory) as engine:
            client = (await _live_gateway(factory, org.id)).client
            real_send = client.send_message

            async def unanswered_send(*args, **kwargs):
                # WhatsApp's ack never comes in time (the unreachable network cannot produce that): the
                # library call is still made, just late.
                await asyncio.sleep(0.5)
                return await real_send(*args, **kwargs)

            client.send_message = unanswered_send
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            with pytest.raises(SendUnknown, match="may have been delivered"):
                await engine.send_text(org.id, "+201009998887", "hello")
            # A number the look-up cache knows (here WhatsApp cannot be asked: see the look-up tests).
            await asyncio.to_thread(known_on_whatsapp, org.id, "+201009998887")
            queue_id = await asyncio.to_thread(_enqueue, org.id)
            worker = Worker(engine, config=WorkerConfig(poll_seconds=0.1))
            deadline = time.monotonic() + 10
            while (await asyncio.to_thread(_queue_row, queue_id)).status in ("pending", "processing"):
                assert time.monotonic() < deadline, "the worker never settled the row"
                await worker.run_once()
                await asyncio.sleep(0.05)
            await worker.close()
        return queue_id

    queue_id = run(body)
    row = _queue_row(queue_id)
    assert row.status == "unknown" and row.attempts == 1 and row.error_code == "send_outcome_unknown"
    assert "may have been delivered" in row.error_message


def _enqueue(org_id):
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.notifications import queue

    with session_scope() as s:
        row, _ = queue.enqueue(session=s, org_id=org_id, recipient="+201009998887", template_name="trial_welcome",
                               variables={"customer_name": "سارة", "company_name": "أسطول", "plan_name": "الذهبية",
                                          "expiry_date": "2026-12-31"},
                               max_attempts=5, actor=SYSTEM)
        return row.id


def _queue_row(queue_id):
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.notifications.models import NotificationQueue

    with session_scope() as s:
        return s.get(NotificationQueue, queue_id)


def test_a_logout_while_the_socket_is_down_still_removes_the_device(sim_env, database_url, db: Session, make_org):
    org = make_org()
    paired(db, org.id, DEVICE, "+" + PHONE_USER)

    async def body():
        factory = NeonizeFactory()
        await factory.prepare_store()
        await asyncio.to_thread(store_device, database_url, DEVICE)
        # A stopped session: no engine owns it right now.
        await asyncio.to_thread(ask, db, org.id, sessions.request_logout)
        async with running_engine(factory):
            row = await wait_row(org.id, lambda r: r.unlink_jid is None, timeout=30)
        return row

    row = run(body, timeout=90)
    # WhatsApp is unreachable here, so the device is unlinked from our store and the page says what to do.
    assert not device_stored(database_url, DEVICE)
    assert row.whatsapp_id is None and not row.enabled and row.connection_error_code == "unlinked_offline"
    [unlinked] = audit_rows(org.id, "device_unlinked")
    assert unlinked.event_data["jid"] == DEVICE and unlinked.event_data["whatsapp_confirmed"] is False


def test_keepalive_timeouts_show_beside_connected_and_a_replaced_stream_ends_the_session(sim_env,
                                                                                          neonize_connecting):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory) as engine:
            client = (await _live_gateway(factory, org.id)).client
            await asyncio.to_thread(feed, client, pb.PairStatus(ID=jid(PHONE_USER, device=7), BusinessName="Fleet",
                                                                Platform="android", Status=2))
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected" and r.whatsapp_id == DEVICE)
            await asyncio.to_thread(feed, client, pb.KeepAliveTimeout(ErrorCount=3, LastSuccess=int(time.time())))
            row = await wait_row(org.id, lambda r: r.connection_error_code == "keepalive_timeout")
            assert row.status == "connected" and "3 keep-alive pings" in row.connection_error
            assert engine.is_connected(org.id)  # degraded, not down: sends still go
            await asyncio.to_thread(feed, client, pb.KeepAliveRestored())
            await wait_row(org.id, lambda r: r.connection_error_code is None and r.status == "connected")

            # Another WhatsApp Web client took the number over: no reconnect fight, a reason, a person decides.
            await asyncio.to_thread(feed, client, pb.StreamReplaced())
            row = await wait_row(org.id, lambda r: r.status == "disconnected")
            assert row.connection_error_code == "stream_replaced" and not row.enabled
            assert row.whatsapp_id is not None  # the device is still ours: connect takes it back
            assert "جهاز أو برنامج آخر" in strings.error_text(row.connection_error_code)

    run(body)
    assert [a.event_data["reason"] for a in audit_rows(org.id, "session_health")] == ["keepalive_timeout", "healthy"]


def test_a_sender_whose_lid_has_no_number_yet_is_kept_under_its_lid(sim_env, database_url, db: Session, make_org):
    """The store has no number for the LID and the look-up finds none: the message (a STOP here) is kept under
    `<lid>@lid`, never dropped; the engine maps it once the store learns the number (test_lid_senders.py)."""
    [message] = _stop_from_lid(database_url, make_org().id, "555000111", "LID2")
    assert (message.sender, message.text, message.message_id) == ("555000111@lid", "STOP", "LID2")
