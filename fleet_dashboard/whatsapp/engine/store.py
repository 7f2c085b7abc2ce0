"""The engine's writes to whatsapp_sessions: one transaction per transition, with its audit row and event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update

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


def apply_receipts(groups: dict[tuple[uuid.UUID, str], list[str]]) -> None:
    """Record receipts, one transaction per organisation and kind so one bad group loses nothing else."""
    from fleet_dashboard.messaging import messages  # written beside the engine; import late

    for (org_id, kind), ids in groups.items():
        with session_scope() as session:
            messages.apply_receipt(session=session, org_id=org_id, whatsapp_message_ids=ids, kind=kind)


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
