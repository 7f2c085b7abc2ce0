"""Incidents: one per danger (a WhatsApp session down too long, a red number, a pause), opened once and closed once.

Opening or closing one emits `session.alert` in the caller's transaction (webhooks, the pages' banner); the
e-mails follow from the sweeper (alerts.py), which records each so none is sent twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.core import events
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability.models import IncidentKind, SendingIncident

OPEN, CLEARED = "open", "cleared"


def alert_text(kind: str, reason: str) -> str:
    """The Arabic line an owner reads about an incident: what happened and what to do."""
    what = strings.ALERT_KIND.get(kind, "")
    why = strings.error_text(reason) if reason in strings.ERRORS else ""
    return f"{what}: {why}" if why else what


def alert_event(row: SendingIncident, state: str) -> dict[str, Any]:
    """The `session.alert` bus and webhook event of an incident opening (`open`) or ending (`cleared`)."""
    return {"type": events.EventType.session_alert.value, "org_id": str(row.org_id), "incident_id": str(row.id),
            "state": state, "kind": row.kind, "reason": row.reason, "text": alert_text(row.kind, row.reason),
            "detail": row.detail, "opened_at": row.opened_at.isoformat() if row.opened_at else None,
            "closed_at": row.closed_at.isoformat() if row.closed_at else None}


def open_incident(*, session: Session, org_id: uuid.UUID, kind: IncidentKind | str, reason: str,
                  detail: str = "") -> SendingIncident | None:
    """Open an incident unless one of this kind is open already (never a storm); None when it was."""
    kind = IncidentKind(kind)
    stmt = (insert(SendingIncident)
            .values(id=uuid.uuid4(), org_id=org_id, kind=kind.value, reason=reason[:64], detail=(detail or "")[:500],
                    opened_at=utcnow())
            .on_conflict_do_nothing(index_elements=["org_id", "kind"], index_where=text("closed_at IS NULL"))
            .returning(SendingIncident.id))
    new_id = session.execute(stmt).scalar()
    if new_id is None:
        return None
    row = session.get(SendingIncident, new_id)
    events.emit(session, events.fit_text(alert_event(row, OPEN), "detail"))
    return row


def close_incident(*, session: Session, org_id: uuid.UUID, kind: IncidentKind | str) -> SendingIncident | None:
    """End the open incident of this kind (the all-clear follows); None when none was open."""
    row = session.exec(select(SendingIncident).where(SendingIncident.org_id == org_id,
                                                     SendingIncident.kind == IncidentKind(kind).value,
                                                     SendingIncident.closed_at.is_(None)).with_for_update()).first()
    if row is None:
        return None
    row.closed_at = utcnow()
    session.add(row)
    session.flush()
    events.emit(session, events.fit_text(alert_event(row, CLEARED), "detail"))
    return row


def open_for_org(*, session: Session, org_id: uuid.UUID) -> list[SendingIncident]:
    """The organisation's open incidents, oldest first (the banner)."""
    return list(session.exec(select(SendingIncident).where(SendingIncident.org_id == org_id,
                                                           SendingIncident.closed_at.is_(None))
                             .order_by(SendingIncident.opened_at)))


def banner_rows(*, session: Session, org_id: uuid.UUID) -> list[dict[str, str]]:
    """The banner's lines: each open incident in Arabic, with when it began in the organisation's zone."""
    zone = localtime.org_zone(session=session, org_id=org_id)
    return [{"id": str(r.id), "kind": r.kind, "reason": r.reason, "text": alert_text(r.kind, r.reason),
             "since": localtime.format_local(r.opened_at, zone)} for r in open_for_org(session=session, org_id=org_id)]


def open_everywhere(*, session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Every open incident with its organisation's name, newest first (the super_admin's overview)."""
    rows = session.execute(select(SendingIncident, Organization.name, Organization.slug)
                           .join(Organization, Organization.id == SendingIncident.org_id)
                           .where(SendingIncident.closed_at.is_(None))
                           .order_by(SendingIncident.opened_at.desc()).limit(limit)).all()
    return [{"id": str(r.id), "org_id": str(r.org_id), "org_name": name, "org_slug": slug, "kind": r.kind,
             "reason": r.reason, "text": alert_text(r.kind, r.reason), "opened_at": r.opened_at}
            for r, name, slug in rows]


def unmailed(*, session: Session, limit: int = 100) -> list[SendingIncident]:
    """Incidents whose opening or all-clear e-mail is still owed, oldest first."""
    return list(session.exec(
        select(SendingIncident)
        .where(SendingIncident.opened_mailed_at.is_(None)
               | (SendingIncident.closed_at.is_not(None) & SendingIncident.closed_mailed_at.is_(None)))
        .order_by(SendingIncident.opened_at).limit(limit)))


def mark_mailed(*, session: Session, incident_id: uuid.UUID, opening: bool, when: datetime | None = None) -> None:
    """Record that an incident's opening (or all-clear) e-mail went out, so it is never sent again."""
    column = "opened_mailed_at" if opening else "closed_mailed_at"
    session.execute(text(f"UPDATE sending_incidents SET {column} = :when WHERE id = :id"),
                    {"when": when or utcnow(), "id": incident_id})
