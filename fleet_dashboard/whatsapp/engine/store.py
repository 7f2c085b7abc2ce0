"""The engine's writes to whatsapp_sessions: one transaction per transition, with its audit row and event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text, update

from fleet_dashboard.accounts import audit
from fleet_dashboard.core import events
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.messaging import optouts
from fleet_dashboard.whatsapp.models import WhatsAppSession
from fleet_dashboard.whatsapp.sessions import status_view

TABLE = WhatsAppSession.__table__


def load(org_id: uuid.UUID) -> WhatsAppSession | None:
    """The organisation's session row, detached."""
    with session_scope() as session:
        return session.execute(select(WhatsAppSession).where(WhatsAppSession.org_id == org_id)).scalar()


def transition(
    org_id: uuid.UUID,
    values: dict[str, Any],
    *,
    audit_type: str | None = None,
    audit_data: dict[str, Any] | None = None,
    require_enabled: bool = True,
) -> WhatsAppSession | None:
    """Write a change, its audit row and its `session.status` event; None if the user disabled it."""
    with session_scope() as session:
        query = update(WhatsAppSession).where(WhatsAppSession.org_id == org_id)
        if require_enabled:
            query = query.where(WhatsAppSession.enabled.is_(True))
        query = query.values(**values, updated_at=func.now()).returning(WhatsAppSession)
        row = session.execute(query).scalar()
        if row is None:
            return None
        if audit_type:
            audit.record(session=session, org_id=org_id, session_id=row.id, event_type=audit_type,
                         event_data={"status": row.status, **(audit_data or {})})
        events.emit(session, {"type": "session.status", **status_view(row)})
        return row


def clear_unlink(org_id: uuid.UUID, jid: str, values: dict[str, Any], *, audit_data: dict[str, Any]) -> None:
    """The device a user logged out is unlinked: forget it, unless the row already asks for another one."""
    with session_scope() as session:
        query = (update(WhatsAppSession).where(WhatsAppSession.org_id == org_id, WhatsAppSession.unlink_jid == jid)
                 .values(**values, updated_at=func.now()).returning(WhatsAppSession))
        row = session.execute(query).scalar()
        if row is None:
            return
        audit.record(session=session, org_id=org_id, session_id=row.id, event_type="device_unlinked",
                     event_data={"status": row.status, **audit_data})
        events.emit(session, {"type": "session.status", **status_view(row)})


def apply_receipts(groups: dict[tuple[uuid.UUID, str], list[str]], chats: dict[str, str] | None = None) -> None:
    """Record receipts, one transaction per organisation and kind so one bad group loses nothing else; `chats`
    (message id -> the number or `<user>@lid` it came from) lets a receipt settle an `unknown` send, whose
    notification is then completed."""
    from fleet_dashboard.messaging import messages  # written beside the engine; import late
    from fleet_dashboard.notifications import claims

    chats = chats or {}
    for (org_id, kind), ids in groups.items():
        with session_scope() as session:
            changed = messages.apply_receipt(session=session, org_id=org_id, whatsapp_message_ids=ids, kind=kind,
                                             chats=chats, number_of=lambda chat, s=session: _number(s, chat))
            claims.settle_unknown(conn=session.connection(), org_id=org_id, message_ids=changed)


def _number(session, chat: str) -> str | None:
    return chat if chat.startswith("+") else resolve_lid(session, chat)


def resolve_lid(session, chat: str) -> str | None:
    """The E.164 number whatsmeow's store maps a `<user>@lid` to, if it knows it yet."""
    user, _, server = chat.partition("@")
    if server != "lid" or not user:
        return None
    if session.execute(text("SELECT to_regclass('whatsmeow_lid_map') IS NOT NULL")).scalar() is not True:
        return None
    pn = session.execute(text("SELECT pn FROM whatsmeow_lid_map WHERE lid = :lid"), {"lid": user}).scalar()
    return f"+{pn}" if pn else None


def record_inbound(org_id: uuid.UUID, sender: str, text: str, message_id: str) -> str | None:
    """Act on opt-out keywords, keep the reply and publish it; returns what the opt-out list did.

    A message WhatsApp delivers a second time (same id) is kept once and published once."""
    from fleet_dashboard.messaging import inbound

    with session_scope() as session:
        outcome = optouts.handle_inbound(session=session, org_id=org_id, phone=sender, text=text)
        row = inbound.record(session=session, org_id=org_id, sender=sender, body=text,
                             whatsapp_message_id=message_id, opt_out=outcome)
        if row is not None:
            # Cut by bytes, not characters: emoji-heavy text must not push the event past NOTIFY's limit.
            events.emit(session, events.fit_text(inbound.inbound_event(row), "text"))
        return outcome
