"""Unlink a device whose socket is down: through WhatsApp when it answers in time, else from the store only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from fleet_dashboard.whatsapp.gateway import (
    Connected,
    Disconnected,
    GatewayEvent,
    GatewayFactory,
    LoggedOut,
    PairingEnded,
    Refused,
)

log = logging.getLogger(__name__)
UNLINK_CONNECT_SECONDS = 15.0
STOP_SECONDS = 10.0


async def unlink_device(factory: GatewayFactory, org_id: uuid.UUID, jid: str) -> bool:
    """True when WhatsApp itself was told (or had already dropped the device); False when only our store forgot it.

    Without this a logout while disconnected left the device listed on the phone and its keys in the store."""
    if not await factory.device_exists(jid):
        return True  # whatsmeow deletes a device itself once WhatsApp logs it out
    connected, gone = asyncio.Event(), asyncio.Event()

    def sink(event: GatewayEvent) -> None:
        if isinstance(event, Connected):
            connected.set()
        elif isinstance(event, LoggedOut):
            gone.set()
            connected.set()
        elif isinstance(event, Disconnected | Refused | PairingEnded):
            gone.set()

    gateway = factory.create(org_id, sink)
    told = False
    try:
        await asyncio.wait_for(gateway.start(resume_jid=jid), UNLINK_CONNECT_SECONDS)
        waiters = [asyncio.ensure_future(connected.wait()), asyncio.ensure_future(gone.wait())]
        await asyncio.wait(waiters, timeout=UNLINK_CONNECT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if connected.is_set() and not gone.is_set():
            await gateway.logout()
            told = True
        elif gone.is_set() and connected.is_set():
            told = True  # WhatsApp logged it out already
    except Exception as exc:
        log.warning("could not unlink %s's device through WhatsApp: %s", org_id, exc)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(gateway.stop(), STOP_SECONDS)
    if not told:
        await factory.forget_device(jid)
    return told
