"""Messages: write the row first, then send, then record the outcome; receipts only move status forward."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from fleet_dashboard.accounts import orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import events, phones
from fleet_dashboard.core.errors import OptedOut, ValidationError
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.pagination import clamp_limit, created_within, get_owned, keyset_page, matching
from fleet_dashboard.core.tables import sql_list, sql_literal
from fleet_dashboard.messaging import media, optouts, receipts, templates
from fleet_dashboard.messaging.media import Attachment
from fleet_dashboard.messaging.models import (
    AMBIGUOUS_MESSAGE_STATUSES,
    MESSAGE_ORDER,
    RECEIPT_KINDS,
    MessageStatus,
    MessageType,
    WhatsAppMessage,
)

MAX_TEXT = 4096
IDEMPOTENCY_KEY_MAX = 200
# How far along each status is (models.MessageStatus): a receipt only moves a message forward.
ORDER = MESSAGE_ORDER


def status_event(*, org_id: uuid.UUID, message_id: uuid.UUID, whatsapp_message_id: str | None,
                 status: str, error: str | None = None, error_code: str | None = None) -> dict[str, Any]:
    """The `message.status` bus event for one message."""
    return {"type": EventType.message_status, "org_id": str(org_id), "message_id": str(message_id),
            "whatsapp_message_id": whatsapp_message_id, "status": status, "error": error, "error_code": error_code}


def _emit(session: Session, event: dict[str, Any]) -> None:
    events.emit(session, event)


def emit_status(session: Session, **event: Any) -> None:
    """Announce a message's new status in the caller's transaction (live pages, webhooks)."""
    _emit(session, status_event(**event))


def check_opt_out(*, session: Session, org_id: uuid.UUID, phone: str) -> None:
    """Refuse a number that asked to stop receiving messages."""
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
        return templates.render_for_send(template.name, template.message_template, template.is_active,
                                         variables), template
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
    if attachment is not None:  # named by a caller: re-read from this organisation's store, checked again
        attachment = media.attachment(session=session, org_id=org_id, media_id=attachment.media_id,
                                      filename=attachment.filename, kind=attachment.kind)
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


def _receipt_sql():
    """The receipt UPDATE, written from the vocabulary: the higher rank wins, each kind stamps its own time."""
    rank = "CASE w.status " + " ".join(f"WHEN {sql_literal(s.value)} THEN {s.rank}" for s in MessageStatus) + " END"
    stamps = ",\n    ".join(
        f"{kind}_at = CASE WHEN :kind_rank >= {MESSAGE_ORDER[kind]} THEN COALESCE(w.{kind}_at, now()) "
        f"ELSE w.{kind}_at END" for kind in RECEIPT_KINDS)
    return text(f"""
WITH m AS (
    SELECT id, status AS old_status FROM whatsapp_messages
    WHERE org_id = :org_id AND whatsapp_message_id = ANY(:ids) FOR UPDATE
)
UPDATE whatsapp_messages w SET
    status = CASE WHEN :kind_rank > {rank} THEN :kind ELSE w.status END,
    {stamps}
FROM m WHERE w.id = m.id
RETURNING w.id, w.whatsapp_message_id, w.status, m.old_status
""")


_RECEIPT_SQL = _receipt_sql()


def apply_receipt(
    *, session: Session, org_id: uuid.UUID, whatsapp_message_ids: Iterable[str], kind: str,
    chats: Mapping[str, str] | None = None, number_of: Callable[[str], str | None] | None = None,
) -> list[uuid.UUID]:
    """Move messages forward to delivered or read (never back); returns the ids that changed status.

    `chats` says who each receipt came from (`number_of` turns that into an E.164 number): an id we never
    recorded may then be the one of an `unknown` send to that number (the library failed after the write, so
    the id never reached us)."""
    if kind not in RECEIPT_KINDS:
        raise ValidationError(f"unknown receipt kind {kind!r}", code="invalid")
    ids = [str(i) for i in dict.fromkeys(whatsapp_message_ids) if i]
    if not ids:
        return []
    params = {"org_id": org_id, "ids": ids, "kind": kind, "kind_rank": MESSAGE_ORDER[kind]}
    rows = session.execute(_RECEIPT_SQL, params).all()
    unmatched = set(ids) - {r.whatsapp_message_id for r in rows}
    if chats and unmatched and _claim_unknown(session, org_id, {i: chats.get(i) for i in unmatched},
                                              number_of or (lambda chat: chat)):
        rows = session.execute(_RECEIPT_SQL, params).all()
        unmatched = set(ids) - {r.whatsapp_message_id for r in rows}
    changed = []
    for row in rows:
        if row.status != row.old_status:
            changed.append(row.id)
            _emit(session, status_event(org_id=org_id, message_id=row.id,
                                        whatsapp_message_id=row.whatsapp_message_id, status=row.status))
    # A receipt can overtake the write that records the id; keep it until that write lands.
    receipts.hold(org_id, unmatched, kind)
    return changed


# The ids whatsmeow gives the messages it sends (Client.GenerateMessageID): "3EB0" and 18 hex digits. A phone's
# own messages (other devices of the account hear their receipts too) have other ids.
WEB_MESSAGE_ID_PREFIX = "3EB0"
UNKNOWN_MATCH_DAYS = 7
# Not while another send to the number is in flight (its receipt may overtake the write of its own id), and
# not once the id is recorded on a message (that send finished since the receipt was read): both are read in
# one snapshot, and a send goes from `sending` to `sent` with its id in one statement.
_UNKNOWN_SQL = text(f"""
SELECT id FROM whatsapp_messages
WHERE org_id = :org_id AND recipient_phone = :chat AND status IN {sql_list(AMBIGUOUS_MESSAGE_STATUSES)}
  AND whatsapp_message_id IS NULL AND created_at > now() - make_interval(days => {UNKNOWN_MATCH_DAYS})
  AND NOT EXISTS (SELECT 1 FROM whatsapp_messages f WHERE f.org_id = :org_id AND f.recipient_phone = :chat
                  AND f.status = {sql_literal(MessageStatus.sending.value)})
  AND NOT EXISTS (SELECT 1 FROM whatsapp_messages w WHERE w.org_id = :org_id AND w.whatsapp_message_id = :wid)
ORDER BY created_at LIMIT 2 FOR UPDATE
""")


def _claim_unknown(session: Session, org_id: uuid.UUID, chat_of: Mapping[str, str | None],
                   number_of: Callable[[str], str | None]) -> bool:
    """Give an unrecorded id of ours to the one unknown message to its number, when there is exactly one of each
    (two unknown sends to one number, or two such ids from it: which is which cannot be told, so neither)."""
    by_chat: dict[str, list[str]] = {}
    for wid, chat in chat_of.items():
        number = number_of(chat) if chat and wid.upper().startswith(WEB_MESSAGE_ID_PREFIX) else None
        if number:
            by_chat.setdefault(number, []).append(wid)
    claimed = False
    for chat, wids in by_chat.items():
        if len(wids) != 1:
            continue
        candidates = session.execute(_UNKNOWN_SQL, {"org_id": org_id, "chat": chat, "wid": wids[0]}).scalars().all()
        if len(candidates) == 1:
            session.execute(text("UPDATE whatsapp_messages SET whatsapp_message_id = :wid WHERE id = :id"),
                            {"wid": wids[0], "id": candidates[0]})
            claimed = True
    return claimed


def replay_early_receipts(*, session: Session, org_id: uuid.UUID, whatsapp_message_ids: Iterable[str]) -> None:
    """Apply receipts that arrived before these ids were recorded as sent."""
    for kind, ids in receipts.take(org_id, whatsapp_message_ids).items():
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
    phone: str | None = None,
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
    query = created_within(query, WhatsAppMessage, since, until)
    if template_name:
        query = query.where(WhatsAppMessage.template_name == template_name)
    if phone:
        query = query.where(WhatsAppMessage.recipient_phone == phone)
    query = matching(session, query, (WhatsAppMessage.recipient_phone, WhatsAppMessage.message_body), search)
    return keyset_page(session, query, WhatsAppMessage, cursor=cursor, limit=limit)
