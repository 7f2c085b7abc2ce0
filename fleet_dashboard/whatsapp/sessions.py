"""WhatsApp session rows and the user's requests about them: the engine acts, this only asks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import events, phones
from fleet_dashboard.core.errors import Conflict
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.whatsapp.models import SessionStatus, WhatsAppSession

COMMAND_ACTIONS = ("connect", "logout", "retry", "stop", "pair_code")


def get_or_create(*, session: Session, org_id: uuid.UUID) -> WhatsAppSession:
    """The organisation's one WhatsApp session row, created disconnected on first use."""
    session.execute(insert(WhatsAppSession).values(id=uuid.uuid4(), org_id=org_id, status="disconnected",
                                                   retry_count=0, enabled=False)
                    .on_conflict_do_nothing(index_elements=["org_id"]))
    return session.exec(select(WhatsAppSession).where(WhatsAppSession.org_id == org_id)).one()


def get_for_update(*, session: Session, org_id: uuid.UUID) -> WhatsAppSession:
    """The WhatsApp session row locked for this transaction, so two requests do not interleave."""
    get_or_create(session=session, org_id=org_id)
    query = (select(WhatsAppSession).where(WhatsAppSession.org_id == org_id).with_for_update()
             .execution_options(populate_existing=True))
    return session.exec(query).one()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def status_view(row: WhatsAppSession) -> dict[str, Any]:
    """The row as the plain dict the UI, the API and `session.status` events share."""
    return {
        "org_id": str(row.org_id),
        "status": row.status,
        "phone_number": row.phone_number,
        "display_name": row.display_name,
        "qr_code": row.qr_code,
        "qr_expires_at": _iso(row.qr_expires_at),
        "last_connected_at": _iso(row.last_connected_at),
        "connection_error": row.connection_error,
        "connection_error_code": row.connection_error_code,
        "retry_count": row.retry_count,
        "enabled": row.enabled,
        "next_retry_at": _iso(row.next_retry_at),
        "pair_phone": row.pair_phone,
        "pair_code": row.pair_code,
        "pair_code_expires_at": _iso(row.pair_code_expires_at),
    }


def status_event(row: WhatsAppSession) -> dict[str, Any]:
    """The `session.status` bus event for a row."""
    return {"type": EventType.session_status, **status_view(row)}


def get_status(*, session: Session, org_id: uuid.UUID) -> dict[str, Any]:
    """The organisation's WhatsApp session as a status dict (a disconnected one if it never had a row)."""
    row = session.exec(select(WhatsAppSession).where(WhatsAppSession.org_id == org_id)).first()
    return status_view(row or WhatsAppSession(org_id=org_id))


def _command(session: Session, row: WhatsAppSession, action: str, actor: Actor) -> WhatsAppSession:
    actor_id = actor.user_id
    row.updated_at = utcnow()
    # The row carries the request; the event only wakes the owner (an owner that missed it acts on the number).
    row.command, row.command_seq = action, (row.command_seq or 0) + 1
    session.add(row)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=row.org_id, session_id=row.id,
                        event_type=f"{action}_requested", status=row.status)
    events.emit(session, status_event(row))
    events.emit(session, command_event(row.org_id, action, actor_id, seq=row.command_seq))
    return row


def command_event(org_id: uuid.UUID, action: str, actor_id: uuid.UUID | None, *,
                  seq: int | None = None) -> dict[str, Any]:
    """The `session.command` bus event: a person asked the owning engine to `action` the session. `seq` is the
    request's number in the row (`command_seq`), so an engine acts on it once, from the event or the row."""
    return {"type": EventType.session_command, "org_id": str(org_id), "action": action, "seq": seq,
            "actor_id": str(actor_id) if actor_id else None}


def _locked_for(session: Session, org_id: uuid.UUID, actor: Actor, action: Action) -> WhatsAppSession:
    """The WhatsApp session row, locked, once the actor may `action` it and the organisation is not suspended."""
    permissions.require(actor, action, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    return get_for_update(session=session, org_id=org_id)


def request_connect(*, session: Session, org_id: uuid.UUID, actor: Actor) -> WhatsAppSession:
    """Ask the engine to bring the WhatsApp session up: resume the paired device, or show a QR to pair one."""
    row = _locked_for(session, org_id, actor, Action.connect)
    row.enabled = True
    row.start_crashes = 0  # a person asked: a WhatsApp session parked for crashing engines gets its chances again
    row.pair_phone, row.pair_code, row.pair_code_expires_at = None, None, None  # a QR, not a code
    if row.status in (SessionStatus.disconnected.value, SessionStatus.error.value):
        row.status, row.retry_count, row.connection_error = SessionStatus.connecting.value, 0, None
        row.connection_error_code, row.next_retry_at = None, None
    return _command(session, row, "connect", actor)


def request_retry(*, session: Session, org_id: uuid.UUID, actor: Actor) -> WhatsAppSession:
    """Ask the engine to try again after an error, with the failure count reset."""
    row = _locked_for(session, org_id, actor, Action.connect)
    row.enabled, row.start_crashes = True, 0
    if row.status != SessionStatus.connected.value:
        row.status, row.retry_count, row.connection_error = SessionStatus.connecting.value, 0, None
        row.connection_error_code = None
    return _command(session, row, "retry", actor)


def request_logout(*, session: Session, org_id: uuid.UUID, actor: Actor) -> WhatsAppSession:
    """Unlink the device: the engine logs it out; the next connect needs a new scan."""
    row = _locked_for(session, org_id, actor, Action.logout)
    # A cleared whatsapp_id is the durable mark of a logout: an owner that misses the command
    # still sees it when it notices the WhatsApp session was disabled. unlink_jid keeps the device until an
    # engine has unlinked it, even if its socket was down at the time.
    if row.whatsapp_id:
        row.unlink_jid = row.whatsapp_id
    row.pair_phone, row.pair_code, row.pair_code_expires_at, row.next_retry_at = None, None, None, None
    row.enabled, row.whatsapp_id, row.qr_code, row.qr_expires_at = False, None, None, None
    row.phone_number, row.display_name = None, None
    row.status, row.retry_count, row.connection_error = SessionStatus.disconnected.value, 0, None
    row.connection_error_code = None
    row.last_disconnected_at = utcnow()
    return _command(session, row, "logout", actor)


def request_stop(*, session: Session, org_id: uuid.UUID, actor: Actor) -> WhatsAppSession:
    """Close the socket but keep the paired device, so a later connect resumes without a scan."""
    row = _locked_for(session, org_id, actor, Action.connect)
    row.enabled, row.qr_code, row.qr_expires_at = False, None, None
    row.pair_phone, row.pair_code, row.pair_code_expires_at, row.next_retry_at = None, None, None, None
    row.status, row.connection_error, row.connection_error_code = SessionStatus.disconnected.value, None, None
    row.last_disconnected_at = utcnow()
    return _command(session, row, "stop", actor)


def request_pair_code(*, session: Session, org_id: uuid.UUID, phone: str, actor: Actor) -> WhatsAppSession:
    """Ask the engine for a linking code for this number (pairing without a QR); a linked device is replaced."""
    permissions.require(actor, Action.connect, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    e164 = phones.normalize_phone(phone)
    row = get_for_update(session=session, org_id=org_id)
    if row.status == SessionStatus.connected.value:
        raise Conflict("WhatsApp is already connected for this organisation; disconnect it first",
                       code="already_connected")
    if row.whatsapp_id:  # a new device replaces the stored one, which an engine unlinks
        row.unlink_jid, row.whatsapp_id, row.phone_number, row.display_name = row.whatsapp_id, None, None, None
    row.enabled, row.pair_phone, row.pair_code, row.pair_code_expires_at = True, e164, None, None
    row.connection_error, row.connection_error_code, row.retry_count, row.next_retry_at = None, None, 0, None
    if row.status != SessionStatus.qr_pending.value:
        row.status = SessionStatus.connecting.value
    return _command(session, row, "pair_code", actor)


def wanted_up():
    """The condition of a WhatsApp session that should be up: enabled by its owner, its organisation not suspended."""
    return WhatsAppSession.enabled.is_(True) & Organization.suspended_at.is_(None)


def enabled_org_ids(*, session: Session) -> list[uuid.UUID]:
    """Organisations whose WhatsApp session should be up; a suspended one's is not."""
    query = (select(WhatsAppSession.org_id).join(Organization, Organization.id == WhatsAppSession.org_id)
             .where(wanted_up()))
    return list(session.exec(query))
