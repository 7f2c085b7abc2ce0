"""The synchronous send: write the message, queue it first in line, and wait on the bus for the owner's result."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from fleet_dashboard.models import MessageStatus, SessionStatus, WhatsAppMessage
from fleet_dashboard.services import media, messaging, sessions
from fleet_dashboard.services.errors import NotConnected
from fleet_dashboard.services.media import Attachment, MediaFile
from fleet_dashboard.services.permissions import Actor

# How long a send route waits for the engine's answer before replying "queued".
SEND_WAIT_SECONDS = 15.0
IN_FLIGHT = {MessageStatus.pending.value, MessageStatus.queued.value, MessageStatus.sending.value}


@dataclass(frozen=True)
class SendRequest:
    """One send, as the routes hand it over."""

    org_id: uuid.UUID
    recipient: str
    text: str | None = None
    template_id: str | None = None
    template_name: str | None = None
    variables: dict[str, Any] | None = None
    sent_by: uuid.UUID | None = None
    idempotency_key: str | None = None
    # A document or an image: checked bytes from the API, or a file the dashboard stored on upload.
    media: MediaFile | None = None
    attachment: Attachment | None = None
    # Who sends: the services check it against the permission matrix (None is refused).
    actor: Actor | None = None


def _enqueue(session: Any, message: WhatsAppMessage) -> None:
    from fleet_dashboard.services import queue

    queue.enqueue_message(session=session, org_id=message.org_id, message=message)


def _create(req: SendRequest) -> tuple[WhatsAppMessage, bool]:
    """Create and queue the message in one transaction; a repeated Idempotency-Key creates nothing."""
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        key = (req.idempotency_key or "").strip() or None
        attachment = req.attachment
        if req.media is not None:  # stored in this transaction: a refused send keeps no file either
            attachment = media.store(session=session, org_id=req.org_id, file=req.media)
        # Validation first (phone, opt-out, template, variables), so callers get the precise error.
        message, created = messaging.create_message(
            session=session, org_id=req.org_id, recipient=req.recipient, text=req.text,
            template_id=req.template_id, template_name=req.template_name, variables=req.variables,
            sent_by=req.sent_by, idempotency_key=key, status=MessageStatus.queued.value, actor=req.actor,
            attachment=attachment)
        status = sessions.get_status(session=session, org_id=req.org_id)["status"]
        if created and status != SessionStatus.connected.value:
            # Raising rolls the new row back: a refused send leaves nothing behind.
            raise NotConnected("WhatsApp is not connected for this organisation. Connect it first.",
                               status=status)
        if created:
            _enqueue(session, message)
        return message, created


def _reload(org_id: uuid.UUID, message_id: uuid.UUID) -> WhatsAppMessage:
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        return messaging.get_for_org(session=session, org_id=org_id, message_id=message_id)


async def send_and_wait(req: SendRequest, *, wait_seconds: float | None = None) -> tuple[WhatsAppMessage, str]:
    """The message and the status to report: the owner's verdict (sent/failed), or "queued" if none came in time."""
    from fleet_dashboard.events import get_bus

    wait = SEND_WAIT_SECONDS if wait_seconds is None else wait_seconds
    async with get_bus().subscribe(org_id=req.org_id, types=["message.status"]) as events:
        message, _created = await asyncio.to_thread(_create, req)
        if message.status not in IN_FLIGHT:  # a repeated Idempotency-Key for a settled message
            return message, send_verdict(message.status, message.error_code)
        verdict = None
        if wait > 0:
            wanted = str(message.id)
            with contextlib.suppress(TimeoutError):
                event = await events.wait_for(lambda e: e.get("message_id") == wanted
                                              and e.get("status") not in IN_FLIGHT, wait)
                verdict = event["status"]
        # Receipts may already have moved the row past "sent": report the send's verdict, the row's ids.
        message = await asyncio.to_thread(_reload, req.org_id, message.id)
    if verdict == MessageStatus.failed.value or verdict is None:
        verdict = send_verdict(message.status, message.error_code)
    return message, verdict


# Error codes of a failed message that may still have reached WhatsApp (worker/wave.py, services/queue_claims.py).
UNKNOWN_CODES = ("send_outcome_unknown", "send_timeout", "outcome_unknown")


def send_verdict(status: str, error_code: str | None = None) -> str:
    """What a send route reports: sent, failed, unknown (WhatsApp may have it) or queued."""
    if status in IN_FLIGHT:
        return "queued"
    if status == MessageStatus.failed.value:
        return "unknown" if error_code in UNKNOWN_CODES else MessageStatus.failed.value
    return MessageStatus.sent.value
