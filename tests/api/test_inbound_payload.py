"""Inbound text is cut by bytes so the NOTIFY payload always fits: emoji-heavy messages still reach the webhook."""

from __future__ import annotations

import asyncio
import json

import pytest

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.events import MAX_PAYLOAD_BYTES, encode, fit_text
from tests.support.process_state import reset_process_state
from tests.support.receiver import webhook_receiver

pytestmark = pytest.mark.anyio

SENDER = "+201001234567"
TEXTS = {
    "emoji": "😀" * 3000,
    "family emoji": "👨‍👩‍👧‍👦" * 700,
    "arabic and emoji": ("مرحبا 🚚 " * 600),
    "quotes and controls": '"\\\x01' * 1500,
}


@pytest.fixture
def pg_bus(api_env):
    api_env.setenv("BUS_BACKEND", "postgres")
    reset_process_state()
    yield
    reset_process_state()


@pytest.mark.parametrize("name", list(TEXTS))
def test_fit_text_keeps_every_other_field_and_the_longest_prefix_that_fits(name):
    text = TEXTS[name]
    event = {"type": "message.inbound", "org_id": "o", "from": SENDER, "text": text, "whatsapp_message_id": "w"}
    fitted = fit_text(event, "text")
    assert len(encode(fitted).encode()) <= MAX_PAYLOAD_BYTES
    assert text.startswith(fitted["text"]) and len(fitted["text"]) < len(text)
    assert fitted["truncated"] is True
    assert {k: v for k, v in fitted.items() if k not in ("text", "truncated")} == {
        k: v for k, v in event.items() if k != "text"}
    one_more = {**fitted, "text": text[:len(fitted["text"]) + 1]}
    with pytest.raises(ValueError, match="NOTIFY"):
        encode(one_more)  # nothing more would have fitted


def test_short_text_is_untouched():
    event = {"type": "message.inbound", "org_id": "o", "text": "مرحبا 🚚"}
    assert fit_text(event, "text") == event


async def test_an_emoji_heavy_inbound_message_is_published_and_delivered_to_the_webhook(pg_bus, db, make_org):
    from fleet_dashboard.core.events import get_bus
    from fleet_dashboard.integrations import webhooks
    from fleet_dashboard.integrations.delivery import Dispatcher
    from fleet_dashboard.whatsapp.engine import store

    org = make_org()
    text = "😀" * 3000
    with webhook_receiver() as rx:
        webhooks.set_webhook(session=db, org_id=org.id, url=rx.url, secret="whsec_test_secret_0123456789",
                             events=["message.inbound"], actor=SYSTEM)
        db.commit()
        ready = asyncio.Event()
        dispatcher = asyncio.create_task(Dispatcher(resume_seconds=0.1).run(ready))
        await asyncio.wait_for(ready.wait(), 5)
        async with get_bus().subscribe(org_id=org.id, types={"message.inbound"}) as inbound:
            outcome = await asyncio.to_thread(store.record_inbound, org.id, SENDER, text, "wamid-emoji")
            event = await inbound.wait_for(lambda e: e.get("whatsapp_message_id") == "wamid-emoji", 10)
        calls = await asyncio.to_thread(rx.wait_for, 1)
        dispatcher.cancel()
        await asyncio.gather(dispatcher, return_exceptions=True)

    assert outcome is None and event["opt_out"] is None
    assert event["from"] == SENDER and event["truncated"] is True
    assert text.startswith(event["text"]) and len(event["text"]) > 1000
    delivered = json.loads(calls[0].body)
    assert delivered["type"] == "message.inbound"
    assert delivered["data"]["text"] == event["text"] and delivered["data"]["whatsapp_message_id"] == "wamid-emoji"
