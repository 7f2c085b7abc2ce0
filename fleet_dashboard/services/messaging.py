"""Messages: write the row first, then send, then record the outcome; receipts only move status forward."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from fleet_dashboard.models import MessageStatus, MessageType, WhatsAppMessage, utcnow
from fleet_dashboard.services import orgs, permissions, phones, receipts_buffer, templates
from fleet_dashboard.services.errors import NotConnected, NotFound, OptedOut, OutcomeUnknown, ValidationError
from fleet_dashboard.services.lookup import get_owned
from fleet_dashboard.services.media import Attachment
from fleet_dashboard.services.pagination import before_cursor, clamp_limit, page
from fleet_dashboard.services.permissions import Action, Actor

MAX_TEXT = 4096
IDEMPOTENCY_KEY_MAX = 200
# Statuses from which a receipt may still move a message forward, lowest first.
ORDER = {"pending": 0, "queued": 0, "sending": 1, "failed": 1, "sent": 2, "delivered": 3, "read": 4}
RECEIPT_KINDS = ("delivered", "read")


def status_event(*, org_id: uuid.UUID, message_id: uuid.UUID, whatsapp_message_id: str | None,
                 status: str, error: str | None = None, error_code: str | None = None) -> dict[str, Any]:
    """The `message.status` bus event for one message."""
    return {"type": "message.status", "org_id": str(org_id), "message_id": str(message_id),
            "whatsapp_message_id": whatsapp_message_id, "status": status, "error": error, "error_code": error_code}


def _emit(session: Session, event: dict[str, Any]) -> None:
    from fleet_dashboard import events  # the bus lands with the engine; import late to keep layers loose

    events.emit(session, event)


def check_opt_out(*, session: Session, org_id: uuid.UUID, phone: str) -> None:
    """Refuse a number that asked to stop receiving messages."""
    from fleet_dashboard.services import optouts

    if optouts.is_opted_out(session=session, org_id=org_id, phone=phone):
        raise OptedOut(f"{phone} has opted out of messages from this organisation", phone=phone)


def compose(
    *,
    session: Session,
    org_id: uuid.UUID,
    text_body: str | None = None,
    template_id: uuid.UUID | str | None = None,
    template_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    caption: bool = False,
):
    """The body to send and the template it came from (or None); raises on anything unsendable.

    With `caption` (a file goes with it) the text may be empty."""
    if template_id is not None or template_name:
        template = templates.get_for_org(session=session, org_id=org_id, template_id=template_id,
                                         name=template_name)
        if not template.is_active:
            raise ValidationError(f"template {template.name!r} is disabled", code="template_inactive",
                                  name=template.name)
        return templates.render(template.message_template, variables), template
    body = (text_body or "").strip()
    if not body and not caption:
        raise ValidationError("message text is required", code="message_empty")
    if len(body) > MAX_TEXT:
        raise ValidationError(f"message is longer than {MAX_TEXT} characters", code="message_too_long",
                              limit=MAX_TEXT)
    return body, None


def _by_idempotency_key(session: Session, org_id: uuid.UUID, key: str) -> WhatsAppMessage | None:
    query = select(WhatsAppMessage).where(WhatsAppMessage.org_id == org_id,
                                          WhatsAppMessage.idempotency_key == key)
    return session.exec(query).first()


def create_message(
    *,
    session: Session,
    org_id: uuid.UUID,
    recipient: str,
    text: str | None = None,
    template_id: uuid.UUID | str | None = None,
    template_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    sent_by: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    status: str = MessageStatus.pending.value,
    actor: Actor,
    action: Action = Action.send,
    attachment: Attachment | None = None,
) -> tuple[WhatsAppMessage, bool]:
    """Validate and write the pending row before any send; a repeated idempotency key returns the first.

    With an `attachment` (a stored document or image) the text or the rendered template is its caption."""
    permissions.require(actor, action, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    key = (idempotency_key or "").strip() or None
    if key is not None:
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise ValidationError("idempotency key is too long", code="idempotency_key_long",
                                  limit=IDEMPOTENCY_KEY_MAX)
        existing = _by_idempotency_key(session, org_id, key)
        if existing is not None:
            return existing, False
    phone = phones.normalize_phone(recipient)
    check_opt_out(session=session, org_id=org_id, phone=phone)
    body, template = compose(session=session, org_id=org_id, text_body=text, template_id=template_id,
                             template_name=template_name, variables=variables, caption=attachment is not None)
    if attachment is not None:
        kind = attachment.kind
    else:
        kind = MessageType.template.value if template else MessageType.text.value
    message = WhatsAppMessage(
        org_id=org_id, recipient_phone=phone, message_body=body, status=status, sent_by=sent_by,
        message_type=kind, media_id=attachment.media_id if attachment else None,
        media_filename=attachment.filename if attachment else None,
        template_id=template.id if template else None, template_name=template.name if template else None,
        template_params={k: str(v) for k, v in (variables or {}).items()} if template else {},
        idempotency_key=key,
    )
    if key is None:
        session.add(message)
        session.flush()
        return message, True
    try:
        with session.begin_nested():  # a concurrent twin may win the unique index; then return its row
            session.add(message)
    except IntegrityError:
        existing = _by_idempotency_key(session, org_id, key)
        if existing is None:
            raise
        return existing, False
    return message, True


def _start(message_id: uuid.UUID) -> WhatsAppMessage | None:
    """Move a pending message to sending; None when it already left pending (no second send)."""
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        row = session.exec(
            select(WhatsAppMessage).where(WhatsAppMessage.id == message_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"message {message_id} not found", code="unknown_message")
        if row.status not in (MessageStatus.pending.value, MessageStatus.queued.value):
            return None
        row.status = MessageStatus.sending.value
        session.add(row)
        return row


def _finish(message_id: uuid.UUID, whatsapp_message_id: str | None, error: str | None,
            code: str | None = None) -> WhatsAppMessage:
    """Record the outcome of a send, count the template use, and tell the bus."""
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        row = session.get(WhatsAppMessage, message_id, with_for_update=True)
        now = utcnow()
        if error is None:
            row.status, row.whatsapp_message_id, row.sent_at = "sent", whatsapp_message_id, now
            row.error = row.error_code = None
            if row.template_id:
                templates.mark_used(session=session, template_id=row.template_id)
        else:
            row.status, row.error, row.error_code, row.failed_at = MessageStatus.failed.value, error[:2000], code, now
        session.add(row)
        session.flush()
        _emit(session, status_event(org_id=row.org_id, message_id=row.id,
                                    whatsapp_message_id=row.whatsapp_message_id, status=row.status,
                                    error=row.error, error_code=row.error_code))
        if error is None:
            replay_early_receipts(session=session, org_id=row.org_id, whatsapp_message_ids=[whatsapp_message_id])
            session.refresh(row)
        return row


async def deliver(*, engine: Any, message_id: uuid.UUID) -> WhatsAppMessage:
    """Send one stored message: sending -> sent or failed (+ error); never sends a message twice."""
    row = await asyncio.to_thread(_start, message_id)
    if row is None:
        return await asyncio.to_thread(_get, message_id)
    if not engine.is_connected(row.org_id):
        error = NotConnected("WhatsApp is not connected for this organisation").message
        return await asyncio.to_thread(_finish, message_id, None, error, "not_connected")
    try:
        wid = await engine.send_text(row.org_id, row.recipient_phone, row.message_body)
    except OutcomeUnknown as exc:  # WhatsApp may have it: failed for the record, marked so nobody resends blindly
        return await asyncio.to_thread(_finish, message_id, None, str(exc), "send_outcome_unknown")
    except Exception as exc:  # any other failure of the send call is this message's failure
        return await asyncio.to_thread(_finish, message_id, None, str(exc) or type(exc).__name__, "send_failed")
    return await asyncio.to_thread(_finish, message_id, str(wid), None)


def _get(message_id: uuid.UUID) -> WhatsAppMessage:
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        return session.get(WhatsAppMessage, message_id)


_RECEIPT_SQL = text("""
WITH m AS (
    SELECT id, status AS old_status FROM whatsapp_messages
    WHERE org_id = :org_id AND whatsapp_message_id = ANY(:ids) FOR UPDATE
)
UPDATE whatsapp_messages w SET
    status = CASE WHEN :kind = 'read' THEN 'read'
                  WHEN w.status = 'read' THEN 'read' ELSE 'delivered' END,
    delivered_at = COALESCE(w.delivered_at, now()),
    read_at = CASE WHEN :kind = 'read' THEN COALESCE(w.read_at, now()) ELSE w.read_at END
FROM m WHERE w.id = m.id
RETURNING w.id, w.whatsapp_message_id, w.status, m.old_status
""")


def apply_receipt(
    *, session: Session, org_id: uuid.UUID, whatsapp_message_ids: Iterable[str], kind: str
) -> list[uuid.UUID]:
    """Move messages forward to delivered or read (never back); returns the ids that changed status."""
    if kind not in RECEIPT_KINDS:
        raise ValidationError(f"unknown receipt kind {kind!r}", code="invalid")
    ids = [str(i) for i in dict.fromkeys(whatsapp_message_ids) if i]
    if not ids:
        return []
    rows = session.execute(_RECEIPT_SQL, {"org_id": org_id, "ids": ids, "kind": kind}).all()
    changed = []
    for row in rows:
        if row.status != row.old_status:
            changed.append(row.id)
            _emit(session, status_event(org_id=org_id, message_id=row.id,
                                        whatsapp_message_id=row.whatsapp_message_id, status=row.status))
    # A receipt can overtake the write that records the id; keep it until that write lands.
    receipts_buffer.hold(org_id, set(ids) - {r.whatsapp_message_id for r in rows}, kind)
    return changed


def replay_early_receipts(*, session: Session, org_id: uuid.UUID, whatsapp_message_ids: Iterable[str]) -> None:
    """Apply receipts that arrived before these ids were recorded as sent."""
    for kind, ids in receipts_buffer.take(org_id, whatsapp_message_ids).items():
        apply_receipt(session=session, org_id=org_id, whatsapp_message_ids=ids, kind=kind)


def get_for_org(*, session: Session, org_id: uuid.UUID, message_id: uuid.UUID | str) -> WhatsAppMessage:
    """One message of this organisation; another organisation's id is NotFound."""
    return get_owned(session, WhatsAppMessage, org_id=org_id, row_id=message_id, code="unknown_message",
                     noun="message")


def list_for_org(
    *,
    session: Session,
    org_id: uuid.UUID,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    template_name: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[WhatsAppMessage], str | None]:
    """One page of the organisation's messages, newest first, and the next page's cursor."""
    limit = clamp_limit(limit)
    query = select(WhatsAppMessage).where(WhatsAppMessage.org_id == org_id)
    if status:
        if status not in ORDER:
            raise ValidationError(f"unknown message status {status!r}", code="invalid_status")
        query = query.where(WhatsAppMessage.status == status)
    if since:
        query = query.where(WhatsAppMessage.created_at >= since)
    if until:
        query = query.where(WhatsAppMessage.created_at < until)
    if template_name:
        query = query.where(WhatsAppMessage.template_name == template_name)
    if search and search.strip():
        # A pattern's selectivity decides the plan (trigram bitmap for a rare text, newest-first scan for a
        # common one); a cached generic plan cannot see it, so plan each search afresh.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(WhatsAppMessage.recipient_phone.ilike(pattern),
                                WhatsAppMessage.message_body.ilike(pattern)))
    query = query.where(before_cursor(WhatsAppMessage, cursor))
    query = query.order_by(WhatsAppMessage.created_at.desc(), WhatsAppMessage.id.desc()).limit(limit + 1)
    return page(list(session.exec(query)), limit)
