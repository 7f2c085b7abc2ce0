"""Item 8: a pairing the phone accepted that never completes (WhatsApp's passkey step) is said, not left hanging:
first "the link is completing", then (the library's own log lines naming the passkey, when it routes them) what
WhatsApp asks, and at the end an Arabic explanation of what happened and what the owner can do."""

from __future__ import annotations

import asyncio
import logging

import pytest
from neonize.proto import Neonize_pb2 as pb

from fleet_dashboard import strings
from tests.support.neonize import PHONE_USER, feed, feed_qr, jid
from tests.whatsapp.conftest import audit_types, connect, run, running_engine, wait_row


@pytest.fixture
def quick_pairing(monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    monkeypatch.setenv("PAIRING_COMPLETE_SECONDS", "1.5")
    get_settings.cache_clear()


def test_a_link_the_phone_accepted_that_never_completes_is_explained(sim_env, quick_pairing, db, make_org):
    from fleet_dashboard.api.routes.simulator import command
    from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory

    org = make_org()
    connect(db, org.id)

    async def body():
        async with running_engine(SimulatorFactory()):
            await wait_row(org.id, lambda r: r.status == "qr_pending")
            await command(org.id, "scan", {"phone": "+201001112223", "name": "", "passkey": True})
            completing = await wait_row(org.id, lambda r: r.connection_error_code == "pairing_completing")
            ended = await wait_row(org.id, lambda r: r.connection_error_code == "pairing_incomplete", timeout=15)
            return completing, ended

    completing, ended = run(body)
    assert completing.status in ("qr_pending", "connecting") and completing.qr_code is None  # no stale QR shown
    assert (ended.status, ended.enabled, ended.whatsapp_id) == ("disconnected", False, None)
    assert "never completed" in ended.connection_error
    text = strings.error_text("pairing_incomplete")
    assert "مفتاح المرور" in text and "ربط الواتساب" in text
    assert strings.error_text("pairing_completing")


def test_the_library_s_passkey_lines_are_read_during_a_real_pairing(sim_env, quick_pairing, neonize_connecting):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory):
            client = None
            while client is None:
                gateway = factory.live.get(org.id)
                client = gateway.client if gateway is not None else None
                await asyncio.sleep(0.02)
            await asyncio.to_thread(feed_qr, client, "2@first,abc")
            await wait_row(org.id, lambda r: r.status == "qr_pending")
            me = jid(PHONE_USER, device=7)
            await asyncio.to_thread(feed, client, pb.PairStatus(ID=me, BusinessName="", Platform="android", Status=2))
            await wait_row(org.id, lambda r: r.connection_error_code == "pairing_completing")
            # What whatsmeow logs (neonize routes it to the whatsmeow.* loggers) when WhatsApp wants the passkey.
            logging.getLogger("whatsmeow.Client").warning(
                "Failed to handle code pair notification: missing <link_code_pairing_wrapped_primary_ephemeral_pub>"
                " element in notification")
            noted = await wait_row(org.id, lambda r: r.connection_error_code == "passkey_requested")
            ended = await wait_row(org.id, lambda r: r.connection_error_code == "pairing_incomplete", timeout=15)
            return noted, ended

    noted, ended = run(body)
    assert "link_code_pairing_wrapped_primary_ephemeral_pub" in noted.connection_error
    assert "passkey" in ended.connection_error and not ended.enabled and ended.whatsapp_id is None
    assert "pairing_note" in audit_types(org.id)
