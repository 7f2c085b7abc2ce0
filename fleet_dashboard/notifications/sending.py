"""Send and wait, one service for the dashboard and the API: write the message, queue it first in line, and
wait on the bus for the engine's verdict. A disconnected organisation is refused before anything is written,
and the send is audited here, so both entry points behave and record the same. In notifications/, beside the
queue it puts the message on (and above the WhatsApp session it checks), not in messaging/."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select

from fleet_dashboard.accounts import audit, localtime
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import NotConnected
from fleet_dashboard.core.events import EventType, get_bus
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import status
from fleet_dashboard.messaging import media, messages
from fleet_dashboard.messaging.media import Attachment, MediaFile
from fleet_dashboard.messaging.models import (
    AMBIGUOUS_MESSAGE_STATUSES,
    FAILED_MESSAGE_STATUSES,
    LIVE_MESSAGE_STATUSES,
    WITHDRAWN_MESSAGE_STATUSES,
    MessageStatus,
    WhatsAppMessage,
)
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.models import SessionStatus

# How long a send waits for the engine's answer before replying "queued".
SEND_WAIT_SECONDS = 15.0
# Statuses that have no verdict yet (models.MessageStatus: not settled).
IN_FLIGHT = frozenset(LIVE_MESSAGE_STATUSES)
# What a sender is told: the send's outcome, not the receipts that follow it.
QUEUED, UNKNOWN = "queued", "unknown"


@dataclass(frozen=True)
class SendRequest:
    """One send, as the dashboard and the routes hand it over."""

    org_id: uuid.UUID
    recipient: str
    text: str | None = None
    template_id: str | None = None
    template_name: str | None = None
    variables: dict[str, Any] | None = None
    sent_by: uuid.UUID | None = None
    idempotency_key: str | None = None
    # Who sends: the services check it against the permission matrix (None is refused).
    actor: Actor | None = None
    # A document or an image: checked bytes from the API, or a file the dashboard stored on upload.
    media: MediaFile | None = None
    attachment: Attachment | None = None
    # An OTP or a failed payment: it ignores quiet hours (never the pacing) and may use the cap's reserve.
    urgent: bool = False


@dataclass(frozen=True)
class Waiting:
    """A guard holds the message: until when (None: until a person resumes sending) and why (a WaitReason)."""

    scheduled_for: datetime | None
    reason: str
    text: str | None = None


def _enqueue(session: Any, message: WhatsAppMessage, urgent: bool) -> Any:
    return queue.enqueue_message(session=session, org_id=message.org_id, message=message, urgent=urgent)


def submit(req: SendRequest) -> tuple[WhatsAppMessage, bool]:
    """Create, queue and audit the message in one transaction; a repeated Idempotency-Key creates nothing.

    Refused with NotConnected (and nothing written) while the organisation's WhatsApp is not connected."""
    message, created, _held = _submit(req)
    return message, created


def _submit(req: SendRequest) -> tuple[WhatsAppMessage, bool, bool]:
    """submit(), and whether a guard holds the new message back (quiet hours, the cap, a pause)."""
    with session_scope() as session:
        key = (req.idempotency_key or "").strip() or None
        attachment = req.attachment
        if req.media is not None:  # stored in this transaction: a refused send keeps no file either
            attachment = media.store(session=session, org_id=req.org_id, file=req.media)
        # Validation first (phone, opt-out, template, variables), so callers get the precise error.
        message, created = messages.create_message(
            session=session, org_id=req.org_id, recipient=req.recipient, text=req.text,
            template_id=req.template_id, template_name=req.template_name, variables=req.variables,
            sent_by=req.sent_by, idempotency_key=key, status=MessageStatus.queued.value, actor=req.actor,
            attachment=attachment)
        status = sessions.get_status(session=session, org_id=req.org_id)["status"]
        if created and status != SessionStatus.connected.value:
            # Raising rolls the new row back: a refused send leaves nothing behind.
            raise NotConnected("WhatsApp is not connected for this organisation. Connect it first.",
                               status=status)
        held = False
        if created:
            row = _enqueue(session, message, req.urgent)
            held = row.wait_reason is not None
            audit.record_action(session=session, actor=req.actor, org_id=req.org_id, event_type="message_sent",
                                message_id=str(message.id), recipient=message.recipient_phone,
                                template=message.template_name)
        return message, created, held


def waiting(org_id: uuid.UUID, message_id: uuid.UUID | str) -> Waiting | None:
    """Whether a guard holds this message back, until when and why (Arabic included), or None."""
    with session_scope() as session:
        row = session.exec(select(NotificationQueue).where(NotificationQueue.org_id == org_id,
                                                           NotificationQueue.message_id == uuid.UUID(str(message_id)),
                                                           NotificationQueue.status == "pending")).first()
        if row is None or not row.wait_reason:
            return None
        zone = localtime.org_zone(session=session, org_id=org_id)
        until = row.scheduled_for if row.scheduled_for > utcnow() else None
        return Waiting(until, row.wait_reason, status.wait_text(row.wait_reason, until, zone))


def _reload(org_id: uuid.UUID, message_id: uuid.UUID | str) -> WhatsAppMessage:
    with session_scope() as session:
        return messages.get_for_org(session=session, org_id=org_id, message_id=message_id)


async def _verdict(events: Any, org_id: uuid.UUID, message: WhatsAppMessage,
                   wait: float) -> tuple[WhatsAppMessage, str]:
    """Wait (on a subscription opened before the message could move) for its send to settle."""
    if message.status not in IN_FLIGHT:  # already settled (a repeated key, or the engine was quick)
        return message, send_verdict(message.status)
    verdict = None
    if wait > 0:
        wanted = str(message.id)

        def settled() -> bool:  # the bus resumed: its event may be lost, the row is not
            return _reload(org_id, message.id).status not in IN_FLIGHT

        with contextlib.suppress(TimeoutError):
            event = await events.wait_for(lambda e: e.get("message_id") == wanted
                                          and e.get("status") not in IN_FLIGHT, wait, recheck=settled)
            verdict = event.get("status")
    # Receipts may already have moved the row past "sent": report the send's verdict, the row's ids.
    message = await asyncio.to_thread(_reload, org_id, message.id)
    if verdict in FAILED_MESSAGE_STATUSES or verdict is None:
        verdict = send_verdict(message.status)
    return message, verdict


async def send_and_wait(req: SendRequest, *, wait_seconds: float | None = None) -> tuple[WhatsAppMessage, str]:
    """The message and the status to report: the owner's verdict (sent/failed/unknown), or "queued" if none
    came in time."""
    wait = SEND_WAIT_SECONDS if wait_seconds is None else wait_seconds
    async with get_bus().subscribe(org_id=req.org_id, types=[EventType.message_status]) as events:
        message, _created, held = await asyncio.to_thread(_submit, req)
        # Held by a guard: nothing will settle it within the wait; the caller says when it goes.
        return await _verdict(events, req.org_id, message, 0 if held else wait)


async def wait_for_verdict(org_id: uuid.UUID, message_id: uuid.UUID | str, *,
                           wait_seconds: float | None = None) -> tuple[WhatsAppMessage, str]:
    """The verdict of a message submitted earlier (the dashboard submits, then follows in the background)."""
    wait = SEND_WAIT_SECONDS if wait_seconds is None else wait_seconds
    async with get_bus().subscribe(org_id=org_id, types=[EventType.message_status]) as events:
        message = await asyncio.to_thread(_reload, org_id, message_id)  # after subscribing: nothing is missed
        return await _verdict(events, org_id, message, wait)


def send_verdict(status: str) -> str:
    """What a sender is told: sent, failed, unknown (WhatsApp may have it), cancelled or queued."""
    if status in IN_FLIGHT:
        return QUEUED
    if status in WITHDRAWN_MESSAGE_STATUSES:
        return status
    if status in AMBIGUOUS_MESSAGE_STATUSES:
        return UNKNOWN
    if status in FAILED_MESSAGE_STATUSES:
        return MessageStatus.failed.value
    return MessageStatus.sent.value
