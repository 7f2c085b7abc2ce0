"""Customers' replies: every message to the organisation's number is kept, by number and time.

The engine records them (system); people read them in history, on a message's page and in the
conversation with one number, where they sit beside what was sent to it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import phones
from fleet_dashboard.core.errors import InvalidPhone
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.pagination import clamp_limit, created_within, get_owned, keyset_page, matching
from fleet_dashboard.messaging.models import InboundMessage, WhatsAppMessage

# The longest reply kept; WhatsApp allows longer, nobody reads past this on a dashboard.
MAX_BODY = 4096
# How many messages of each direction one look at a conversation reads.
CONVERSATION_LIMIT = 100


def sender_phone(sender: str) -> str:
    """The sender in E.164 when it parses (digits alone are taken as international), else as given."""
    raw = (sender or "").strip()
    candidates = [raw] + (["+" + raw] if raw.isdigit() else [])
    for candidate in reversed(candidates):
        try:
            return phones.normalize_phone(candidate)
        except InvalidPhone:
            continue
    return raw[:32]


def map_lid(*, session: Session, org_id: uuid.UUID, lid: str, phone: str) -> int:
    """Replies kept under a LID take its number once known, so they join that number's conversation."""
    result = session.execute(update(InboundMessage).where(InboundMessage.org_id == org_id, InboundMessage.phone == lid)
                             .values(phone=phone))
    return result.rowcount or 0


def record(*, session: Session, org_id: uuid.UUID, sender: str, body: str, whatsapp_message_id: str,
           opt_out: str | None = None) -> InboundMessage | None:
    """Keep one inbound message (the engine's write); None when WhatsApp delivered it before."""
    row = {"id": uuid.uuid4(), "org_id": org_id, "phone": sender_phone(sender),
           "message_body": (body or "")[:MAX_BODY], "whatsapp_message_id": str(whatsapp_message_id)[:128],
           "opt_out": opt_out}
    result = session.execute(insert(InboundMessage).values(**row)
                             .on_conflict_do_nothing(constraint="uq_whatsapp_inbound_org_wid")
                             .returning(InboundMessage))
    return result.scalar()


def list_for_org(
    *,
    session: Session,
    org_id: uuid.UUID,
    actor: Actor,
    phone: str | None = None,
    search: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[InboundMessage], str | None]:
    """One page of the organisation's replies, newest first; `search` matches the number or the text."""
    permissions.require(actor, Action.view, org_id)
    limit = clamp_limit(limit)
    query = select(InboundMessage).where(InboundMessage.org_id == org_id)
    if phone:
        query = query.where(InboundMessage.phone == phone)
    query = created_within(query, InboundMessage, since, until)
    query = matching(session, query, (InboundMessage.phone, InboundMessage.message_body), search)
    return keyset_page(session, query, InboundMessage, cursor=cursor, limit=limit)


def get_for_org(*, session: Session, org_id: uuid.UUID, inbound_id: uuid.UUID | str,
                actor: Actor) -> InboundMessage:
    """One reply of this organisation; another organisation's id is NotFound."""
    permissions.require(actor, Action.view, org_id)
    return get_owned(session, InboundMessage, org_id=org_id, row_id=inbound_id, code="unknown_message",
                     noun="message")


def conversation(*, session: Session, org_id: uuid.UUID, phone: str, actor: Actor,
                 limit: int = CONVERSATION_LIMIT) -> list[dict[str, Any]]:
    """The latest messages both ways with one number, oldest first: what was sent and what came back."""
    permissions.require(actor, Action.view, org_id)
    number = phones.normalize_phone(phone)
    limit = max(1, min(limit, CONVERSATION_LIMIT))
    sent = session.exec(select(WhatsAppMessage).where(WhatsAppMessage.org_id == org_id,
                                                      WhatsAppMessage.recipient_phone == number)
                        .order_by(WhatsAppMessage.created_at.desc(), WhatsAppMessage.id.desc()).limit(limit))
    got = session.exec(select(InboundMessage).where(InboundMessage.org_id == org_id, InboundMessage.phone == number)
                       .order_by(InboundMessage.created_at.desc(), InboundMessage.id.desc()).limit(limit))
    items = [{"direction": "outbound", "id": m.id, "body": m.message_body, "status": m.status,
              "created_at": m.created_at, "kind": m.message_type, "file": m.media_filename or "",
              "has_file": m.media_id is not None} for m in sent]
    items += [{"direction": "inbound", "id": r.id, "body": r.message_body, "status": "",
               "created_at": r.created_at, "kind": "text", "file": "", "has_file": False} for r in got]
    items.sort(key=lambda i: (i["created_at"], str(i["id"])))
    return items[-limit:]


def unread_count(*, session: Session, org_id: uuid.UUID, actor: Actor, cap: int = 99) -> int:
    """How many replies nobody of the organisation has read yet (up to `cap`: the badge says 99+)."""
    permissions.require(actor, Action.view, org_id)
    ids = select(InboundMessage.id).where(InboundMessage.org_id == org_id, InboundMessage.read_at.is_(None))
    return session.exec(select(func.count()).select_from(ids.limit(cap + 1).subquery())).one()


def mark_read(*, session: Session, org_id: uuid.UUID, phone: str, actor: Actor) -> int:
    """Someone of the organisation opened the conversation: its replies are read. A read-only viewer (the
    super_admin) marks nothing. Returns how many were unread."""
    permissions.require(actor, Action.view, org_id)
    if not permissions.can(actor.role, Action.send):
        return 0
    result = session.execute(update(InboundMessage).where(
        InboundMessage.org_id == org_id, InboundMessage.phone == phone, InboundMessage.read_at.is_(None))
        .values(read_at=func.now()))
    return result.rowcount or 0


def replies_after(*, session: Session, org_id: uuid.UUID, phone: str, after: datetime, actor: Actor,
                  limit: int = 20) -> list[InboundMessage]:
    """The first replies from a number since a message was made (a message's page shows them)."""
    permissions.require(actor, Action.view, org_id)
    query = (select(InboundMessage).where(InboundMessage.org_id == org_id, InboundMessage.phone == phone,
                                          InboundMessage.created_at >= after)
             .order_by(InboundMessage.created_at, InboundMessage.id).limit(max(1, min(limit, 100))))
    return list(session.exec(query))


def inbound_event(row: InboundMessage) -> dict[str, Any]:
    """The `message.inbound` bus event for a kept reply (its text is cut to fit NOTIFY by the caller)."""
    return {"type": EventType.message_inbound, "org_id": str(row.org_id), "id": str(row.id), "from": row.phone,
            "text": row.message_body, "whatsapp_message_id": row.whatsapp_message_id, "opt_out": row.opt_out,
            "created_at": row.created_at}
