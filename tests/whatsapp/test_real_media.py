"""Documents and images through the real neonize library, dialling the unreachable network: the upload fails in
Go, the send fails clearly (nothing left, so it is an ordinary failure, retried like one), nothing hangs and the
process does not abort."""

from __future__ import annotations

import asyncio
import time

import pytest
from neonize.proto import Neonize_pb2 as pb
from sqlmodel import Session

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
from fleet_dashboard.whatsapp.gateway import OutgoingFile, SendFailed
from tests.support.neonize import feed
from tests.whatsapp.conftest import known_on_whatsapp, run, running_engine, wait_row
from tests.whatsapp.test_real_library import DEVICE, _live_gateway, _queue_row

PDF = b"%PDF-1.4\n%%EOF\n" + b"x" * 50_000


def _enqueue_document(org_id):
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.messaging import media
    from fleet_dashboard.notifications import queue

    file = media.check(kind="document", data=PDF, filename="INV-1.pdf", mime_type="application/pdf")
    with session_scope() as s:
        [(row, _)] = queue.enqueue_many(session=s, org_id=org_id, items=[{
            "recipient": "+201009998887", "template_name": "payment_reminder", "max_attempts": 2,
            "variables": {"customer_name": "سارة", "amount": "100", "due_date": "2026-12-31"}, "media": file}],
            actor=SYSTEM)
        return row.id


@pytest.mark.parametrize("kind", ["document", "image"])
def test_a_file_send_on_a_client_the_network_never_reached_fails_clearly(sim_env, db: Session, make_org, kind):
    org = make_org()

    async def body():
        factory = NeonizeFactory(dial=False)
        gateway = factory.create(org.id, lambda _e: None)
        await gateway.start(resume_jid=DEVICE)
        seen = []
        real_upload = gateway.client.upload

        async def recording_upload(data, media_type=None):
            seen.append((len(data), media_type))
            return await real_upload(data, media_type)

        gateway.client.upload = recording_upload
        gateway.connected = True  # as if the socket were up: the library itself must refuse
        file = OutgoingFile(kind=kind, data=PDF, filename="INV-1.pdf", mime_type="application/pdf",
                            caption="فاتورتك")
        started = time.monotonic()
        try:
            with pytest.raises(SendFailed, match="upload failed") as err:
                await gateway.send_file("+201009998887", file)
        finally:
            await gateway.stop()
        return seen, err.value, time.monotonic() - started

    seen, error, took = run(body)
    assert seen and seen[0][0] == len(PDF), "the upload never reached the library"
    assert seen[0][1].name == ("MediaImage" if kind == "image" else "MediaDocument")
    assert took < 20, f"the failed upload took {took:.1f} s"
    assert str(error)


def test_a_queued_document_fails_as_an_ordinary_failure_and_is_retried_not_marked_unknown(sim_env,
                                                                                         neonize_connecting):
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig

    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory) as engine:
            client = (await _live_gateway(factory, org.id)).client
            await asyncio.to_thread(feed, client, pb.Connected(status=True))
            await wait_row(org.id, lambda r: r.status == "connected")
            await asyncio.to_thread(known_on_whatsapp, org.id, "+201009998887")  # no look-up needed first
            queue_id = await asyncio.to_thread(_enqueue_document, org.id)
            worker = Worker(engine, config=WorkerConfig(poll_seconds=0.1))
            deadline = time.monotonic() + 20
            while (await asyncio.to_thread(_queue_row, queue_id)).attempts < 1:
                assert time.monotonic() < deadline, "the worker never tried the document"
                await worker.run_once()
                await asyncio.sleep(0.05)
            await worker.close()
        return queue_id

    row = _queue_row(run(body))
    # Nothing left the process (the upload failed): an ordinary failure, retried later, never "unknown".
    assert row.status == "pending" and row.attempts == 1 and row.error_code == "send_failed", row
    assert "upload failed" in row.error_message
