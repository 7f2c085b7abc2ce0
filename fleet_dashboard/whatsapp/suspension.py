"""Suspending an organisation and resuming it, each audited in its own log.

A suspended organisation's WhatsApp socket is closed (its paired device kept), the engine does not take it
back (`sessions.enabled_org_ids`), its API calls and dashboard writes are refused (`orgs.ensure_active`),
and its queue holds: the worker claims nothing for it, and resuming sends what waited. In whatsapp/, not
accounts/: suspending is mostly about the organisation's WhatsApp session, which the accounts package may not touch.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, permissions
from fleet_dashboard.accounts.lifecycle import locked_org
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import events
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.models import SessionStatus, WhatsAppSession


def _whatsapp_row(session: Session, org_id: uuid.UUID) -> WhatsAppSession | None:
    return session.exec(select(WhatsAppSession).where(WhatsAppSession.org_id == org_id).with_for_update()).first()


def suspend_org(*, session: Session, actor: Actor, org_id: uuid.UUID, reason: str = "") -> Organization:
    """Suspend: close the WhatsApp socket (device kept), refuse its API and writes, hold its queue."""
    permissions.require(actor, Action.organizations)
    org = locked_org(session, org_id)
    if org.suspended_at is not None:
        return org
    org.suspended_at = utcnow()
    session.add(org)
    row = _whatsapp_row(session, org_id)
    if row is not None:
        # `enabled` stays: it is the owner's wish, honoured again on resume.
        row.status, row.qr_code, row.qr_expires_at = SessionStatus.disconnected.value, None, None
        row.connection_error, row.connection_error_code = "organization suspended", "organization_suspended"
        row.last_disconnected_at = row.updated_at = utcnow()
        session.add(row)
        events.emit(session, sessions.status_event(row))
    session.flush()
    events.emit(session, sessions.command_event(org_id, "stop", actor.user_id))
    audit.record_action(session=session, actor=actor, org_id=org.id, event_type="org_suspended", reason=reason[:500])
    return org


def resume_org(*, session: Session, actor: Actor, org_id: uuid.UUID) -> Organization:
    """Resume: the WhatsApp session comes back if it was enabled, and the held queue is sent."""
    permissions.require(actor, Action.organizations)
    org = locked_org(session, org_id)
    if org.suspended_at is None:
        return org
    org.suspended_at = None
    session.add(org)
    row = _whatsapp_row(session, org_id)
    if row is not None and row.enabled:
        row.status, row.retry_count = SessionStatus.connecting.value, 0
        row.connection_error = row.connection_error_code = None
        row.updated_at = utcnow()
        session.add(row)
        events.emit(session, sessions.status_event(row))
        events.emit(session, sessions.command_event(org_id, "connect", actor.user_id))
    elif row is not None and row.connection_error_code == "organization_suspended":
        row.connection_error = row.connection_error_code = None
        session.add(row)
    session.flush()
    events.emit(session, {"type": EventType.queue_wake, "org_id": str(org_id)})  # the worker sends what waited
    audit.record_action(session=session, actor=actor, org_id=org.id, event_type="org_resumed")
    return org
