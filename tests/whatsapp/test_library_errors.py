"""The library's error table (whatsapp/engine/library_errors.py), row by row, through the real neonize adapter:
nothing sent is retried, maybe sent is `unknown` and never retried until a receipt settles it, refused fails."""

from __future__ import annotations

import asyncio
import time

import pytest
from neonize.exc import SendMessageError
from neonize.proto import Neonize_pb2 as pb
from sqlmodel import Session

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.whatsapp.engine import library_errors
from fleet_dashboard.whatsapp.engine.library_errors import LIBRARY_ERRORS, Verdict
from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
from fleet_dashboard.whatsapp.gateway import SendFailed, SendRefused, SendUnknown
from tests.support.neonize import PHONE_USER, feed, jid, message_row, source, until
from tests.whatsapp.conftest import known_on_whatsapp, run, running_engine, wait_row

DEVICE = f"{PHONE_USER}:7@s.whatsapp.net"
RECIPIENT = "+201009998887"
RAISES = {Verdict.NOT_SENT: SendFailed, Verdict.MAYBE_SENT: SendUnknown, Verdict.REFUSED: SendRefused}


def _answering(text: str):
    async def answer(*_args, **_kwargs):
        raise SendMessageError(text)  # what neonize raises with whatsmeow's error text

    return answer


async def _send_through_adapter(org_id, text: str):
    gateway = NeonizeFactory(dial=False).create(org_id, lambda _e: None)
    await gateway.start(resume_jid=DEVICE)
    gateway.client.send_message = _answering(text)
    gateway.connected = True
    try:
        await gateway.send_text(RECIPIENT, "hello")
    except Exception as exc:
        return exc
    finally:
        await gateway.stop()
    raise AssertionError("the send did not fail")


@pytest.mark.parametrize("row", LIBRARY_ERRORS, ids=lambda r: r.match[:50])
def test_each_answer_of_the_library_raises_what_its_row_says(sim_env, make_org, row):
    assert library_errors.classify(row.example) is row, "an earlier row shadows this one"
    assert row.code in strings.ERRORS and row.meaning
    caught = run(lambda: _send_through_adapter(make_org().id, row.example))
    assert type(caught) is RAISES[row.verdict]
    assert caught.code == row.code and str(caught) == row.example


def test_an_answer_nobody_classified_is_maybe_sent(sim_env, make_org):
    caught = run(lambda: _send_through_adapter(make_org().id, "a brand new failure in some later whatsmeow"))
    assert type(caught) is SendUnknown and caught.code == "send_outcome_unknown"


def test_errors_after_the_write_are_unknown_and_before_it_not_sent():
    """The issue's cases: ErrNotConnected from the frame retry, a socket closed mid-send, timeouts."""
    after = ["websocket not connected", "failed to send message node: failed to write msg: broken pipe",
             "timed out waiting for message send response",
             "websocket disconnected before message send returned response"]
    before = ["failed to send message node: websocket not connected", "client is nil",
              "failed to get device list: websocket not connected"]
    assert {library_errors.classify(t).verdict for t in after} == {Verdict.MAYBE_SENT}
    assert {library_errors.classify(t).verdict for t in before} == {Verdict.NOT_SENT}


def _enqueue(org_id, max_attempts: int = 3):
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.notifications import queue

    known_on_whatsapp(org_id, RECIPIENT)  # a number the look-up cache knows: the send is what is tested here
    with session_scope() as s:
        row, _ = queue.enqueue(session=s, org_id=org_id, recipient=RECIPIENT, template_name="trial_welcome",
                               variables={"customer_name": "سارة", "company_name": "أسطول", "plan_name": "الذهبية",
                                          "expiry_date": "2026-12-31"},
                               max_attempts=max_attempts, actor=SYSTEM)
        return row.id


def _queue_row(queue_id):
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.notifications.models import NotificationQueue

    with session_scope() as s:
        return s.get(NotificationQueue, queue_id)


async def _connected_client(factory, org_id):
    deadline = time.monotonic() + 5
    while org_id not in factory.live:
        assert time.monotonic() < deadline, "no gateway started"
        await asyncio.sleep(0.02)
    client = factory.live[org_id].client
    await asyncio.to_thread(feed, client, pb.Connected(status=True))
    await wait_row(org_id, lambda r: r.status == "connected")
    return client


async def _work_until_settled(engine, queue_id):
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig

    worker = Worker(engine, config=WorkerConfig(poll_seconds=0.05))
    deadline = time.monotonic() + 10
    try:
        while (await asyncio.to_thread(_queue_row, queue_id)).status == "processing" or \
                (await asyncio.to_thread(_queue_row, queue_id)).attempts == 0:
            assert time.monotonic() < deadline, "the worker never settled the row"
            await worker.run_once()
            await asyncio.sleep(0.05)
    finally:
        await worker.close()
    return await asyncio.to_thread(_queue_row, queue_id)


@pytest.mark.parametrize(("text", "queue_status", "message_status", "code"), [
    ("failed to send message node: websocket not connected", "pending", "queued", "send_failed"),
    ("timed out waiting for message send response", "unknown", "unknown", "send_outcome_unknown"),
    ("server returned error 406", "failed", "failed", "send_refused"),
])
def test_the_worker_retries_nothing_sent_parks_maybe_sent_and_fails_refused(sim_env, neonize_connecting, text,
                                                                          queue_status, message_status, code):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory) as engine:
            client = await _connected_client(factory, org.id)
            client.send_message = _answering(text)
            queue_id = await asyncio.to_thread(_enqueue, org.id)
            return await _work_until_settled(engine, queue_id)

    row = run(body)
    assert (row.status, row.attempts, row.error_code) == (queue_status, 1, code)
    assert message_row(row.message_id).status == message_status
    assert text in row.error_message
    if queue_status == "pending":
        assert row.scheduled_for is not None  # tried again after the backoff, at an attempt's cost


def test_not_connected_after_the_write_is_unknown_until_a_receipt_for_its_id_settles_it(sim_env,
                                                                                     neonize_connecting):
    org, factory = neonize_connecting
    wamid = "3EB0A1B2C3D4E5F6A7B8C9"  # the id whatsmeow gave the frame it wrote (never returned to us)

    async def body():
        async with running_engine(factory) as engine:
            client = await _connected_client(factory, org.id)
            client.send_message = _answering("websocket not connected")  # from retryFrame, after the write
            queue_id = await asyncio.to_thread(_enqueue, org.id, 5)
            row = await _work_until_settled(engine, queue_id)
            assert (row.status, row.attempts, row.error_code) == ("unknown", 1, "send_outcome_unknown")
            message = await asyncio.to_thread(message_row, row.message_id)
            assert message.status == "unknown" and message.whatsapp_message_id is None
            await asyncio.sleep(0.5)  # nothing retries it meanwhile
            assert (await asyncio.to_thread(_queue_row, queue_id)).attempts == 1

            # The recipient's phone confirms the message WhatsApp did get.
            delivered = pb.Receipt(MessageSource=source(jid(RECIPIENT.lstrip("+"))), MessageIDs=[wamid],
                                   Timestamp=int(time.time()), Type=1)
            await asyncio.to_thread(feed, client, delivered)
            await until(lambda: message_row(row.message_id).status == "delivered")
            return row.message_id, queue_id

    message_id, queue_id = run(body)
    message = message_row(message_id)
    assert message.whatsapp_message_id == wamid and message.delivered_at is not None
    settled = _queue_row(queue_id)
    assert settled.status == "completed" and settled.whatsapp_message_id == wamid and settled.attempts == 1


def test_a_receipt_is_not_given_to_an_unknown_send_when_two_are_open_to_the_same_number(sim_env, db: Session,
                                                                                       make_org):
    """Which of two unknown messages a receipt is for cannot be told: both stay unknown, neither is guessed."""
    from fleet_dashboard.messaging import messages
    from fleet_dashboard.messaging.models import WhatsAppMessage

    org = make_org()
    ids = []
    for body in ("one", "two"):
        row = WhatsAppMessage(org_id=org.id, recipient_phone=RECIPIENT, message_body=body, status="unknown")
        db.add(row)
        db.flush()
        ids.append(row.id)
    db.commit()
    assert messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["3EB0FFFF00001111222233"],
                                  kind="delivered", chats={"3EB0FFFF00001111222233": RECIPIENT}) == []
    db.commit()
    assert {db.get(WhatsAppMessage, i).status for i in ids} == {"unknown"}
    # A phone's own message id (not whatsmeow's form) never settles one either.
    db.delete(db.get(WhatsAppMessage, ids[1]))
    db.commit()
    assert messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6"],
                                  kind="delivered", chats={"A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6": RECIPIENT}) == []
    db.commit()
    assert db.get(WhatsAppMessage, ids[0]).status == "unknown"


def test_the_simulated_network_losing_an_answer_tells_the_sender_unknown_and_its_receipt_settles_it(
        sim_env, db: Session, make_org):
    from fleet_dashboard.api.routes.simulator import command
    from fleet_dashboard.notifications import sending
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig
    from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
    from tests.whatsapp.conftest import connect, scan

    org = make_org()
    connect(db, org.id)

    async def body():
        async with running_engine(SimulatorFactory()) as engine:
            await scan(org.id, "+201000000055")
            stop = asyncio.Event()
            worker = asyncio.create_task(Worker(engine, config=WorkerConfig(poll_seconds=0.05)).run(stop))
            try:
                await command(org.id, "unknown-sends", {"count": 1})
                req = sending.SendRequest(org_id=org.id, recipient=RECIPIENT, text="شاحنتك وصلت", actor=SYSTEM)
                message, verdict = await sending.send_and_wait(req, wait_seconds=10)
                assert verdict == "unknown" and message.status == "unknown" and not message.whatsapp_message_id
                # The network did take it, and the phone's receipt comes (SIMULATOR_RECEIPT_DELAY_SECONDS).
                await until(lambda: message_row(message.id).status == "delivered")
                # The next send goes through as usual.
                again = sending.SendRequest(org_id=org.id, recipient=RECIPIENT, text="second", actor=SYSTEM)
                _second, verdict = await sending.send_and_wait(again, wait_seconds=10)
                assert verdict == "sent"
                return message.id
            finally:
                stop.set()
                await worker

    settled = message_row(run(body))
    assert settled.whatsapp_message_id.startswith("3EB0") and settled.delivered_at is not None
