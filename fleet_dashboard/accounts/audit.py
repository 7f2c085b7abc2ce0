"""The audit log: one row per thing a person or the engine did, always scoped to an organisation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.pagination import clamp_limit, created_within, keyset_page


def record(
    *,
    session: Session,
    org_id: uuid.UUID | None,
    event_type: str,
    event_data: dict[str, Any] | None = None,
    actor_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    ip_address: str | None = None,
) -> WhatsAppAuditLog:
    """Add an audit row to the caller's transaction."""
    row = WhatsAppAuditLog(
        org_id=org_id,
        event_type=event_type,
        event_data=event_data or {},
        actor_id=actor_id,
        session_id=session_id,
        ip_address=ip_address,
    )
    session.add(row)
    session.flush()
    return row


def record_action(*, session: Session, actor: Actor, org_id: uuid.UUID | None, event_type: str,
                  session_id: uuid.UUID | None = None, **data: Any) -> WhatsAppAuditLog:
    """The audit row of a write `actor` made, in the write's own transaction: who (a person, or the credential
    of the SaaS, an API key or the operator), how it came in (`via`) and from where (its client address)."""
    return record(session=session, org_id=org_id, event_type=event_type, event_data=actor.audit_data(**data),
                  actor_id=actor.user_id, session_id=session_id, ip_address=actor.ip_address)


def list_for_org(
    *,
    session: Session,
    org_id: uuid.UUID,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int | None = None,
    actor: Actor,
) -> tuple[list[WhatsAppAuditLog], str | None]:
    """One page of the organisation's audit log, newest first, and the next page's cursor."""
    permissions.require(actor, Action.audit, org_id)
    limit = clamp_limit(limit)
    query = select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org_id)
    if event_type:
        query = query.where(WhatsAppAuditLog.event_type == event_type)
    query = created_within(query, WhatsAppAuditLog, since, until)
    return keyset_page(session, query, WhatsAppAuditLog, cursor=cursor, limit=limit)


_EVENT_TYPES_SQL = text("""
WITH RECURSIVE t(event_type) AS (
    (SELECT event_type FROM whatsapp_audit_logs WHERE org_id = :org ORDER BY event_type LIMIT 1)
    UNION ALL
    SELECT (SELECT a.event_type FROM whatsapp_audit_logs a
            WHERE a.org_id = :org AND a.event_type > t.event_type ORDER BY a.event_type LIMIT 1)
    FROM t WHERE t.event_type IS NOT NULL
)
SELECT event_type FROM t WHERE event_type IS NOT NULL
""")


def event_types_for_org(*, session: Session, org_id: uuid.UUID, actor: Actor) -> list[str]:
    """The distinct event types this organisation has, for a filter menu.

    One index probe per type (a skip scan over (org_id, event_type, ...)), not a read of every row."""
    permissions.require(actor, Action.audit, org_id)
    return [r.event_type for r in session.execute(_EVENT_TYPES_SQL, {"org": org_id})]
