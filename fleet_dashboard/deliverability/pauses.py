"""Pause on danger: an organisation's sending stops (its queue waits, nothing fails) until the danger ends or a
person resumes it. Every pause and resume is audited and alerted here, in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import events
from fleet_dashboard.core.errors import Conflict
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import incidents, state
from fleet_dashboard.deliverability.models import IncidentKind, PauseReason, SendingPause, WaitReason
from fleet_dashboard.deliverability.rules import changed_event

# After a temporary ban ends, the number sends at half pace this long.
SLOW_AFTER_BAN = timedelta(days=1)
# Pauses a new link of the phone ends by itself: the owner relinking is the person's answer to them.
ENDED_BY_RELINK = frozenset({PauseReason.logged_out_phone, PauseReason.needs_relink})


def active(*, session: Session, org_id: uuid.UUID, now: datetime | None = None) -> SendingPause | None:
    """The organisation's pause in force now (a ban's pause ends by itself at `until`), or None."""
    row = session.exec(select(SendingPause).where(SendingPause.org_id == org_id,
                                                  SendingPause.resumed_at.is_(None))).first()
    if row is None or (row.until is not None and row.until <= (now or utcnow())):
        return None
    return row


# The worker's claim leaves these organisations out (notifications/claims.py reads it as a condition).
PAUSED_ORGS_SQL = ("SELECT org_id FROM sending_pauses WHERE resumed_at IS NULL "
                   "AND (until IS NULL OR until > now())")


def paused_org_ids(*, session: Session, org_ids: list[uuid.UUID]) -> dict[uuid.UUID, SendingPause]:
    """The pauses in force among these organisations."""
    if not org_ids:
        return {}
    rows = session.exec(select(SendingPause).where(SendingPause.org_id.in_(org_ids),
                                                   SendingPause.resumed_at.is_(None)))
    now = utcnow()
    return {r.org_id: r for r in rows if r.until is None or r.until > now}


def _mark_waiting(session: Session, org_id: uuid.UUID, until: datetime | None) -> None:
    """Say on the organisation's due rows why they wait (and until when, for a ban)."""
    session.execute(text("""
        UPDATE notification_queue SET wait_reason = :reason, scheduled_for = COALESCE(:until, scheduled_for)
        WHERE org_id = :org AND status = 'pending' AND scheduled_for <= COALESCE(:until, now())
    """), {"org": org_id, "reason": WaitReason.paused.value, "until": until})


def pause(*, session: Session, org_id: uuid.UUID, reason: PauseReason | str, detail: str = "",
          until: datetime | None = None) -> SendingPause | None:
    """Pause the organisation's sending (the engine's verdict on a danger); None when a pause is already open.

    Audited (`sending_paused`), alerted (incident `paused`) and announced (`sending.changed`) in this transaction."""
    reason = PauseReason(reason)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('sending_pause'), hashtext(:org))"),
                    {"org": str(org_id)})
    current = session.exec(select(SendingPause).where(SendingPause.org_id == org_id,
                                                      SendingPause.resumed_at.is_(None))).first()
    if current is not None and current.until is not None and current.until <= utcnow():
        _close(session, current, actor=None, via="expired")  # a ban that ended unnoticed: this is a new danger
        current = None
    if current is not None:
        if until is not None and current.until is not None and until > current.until:
            current.until = until  # the same ban, longer
            session.add(current)
        return None
    row = SendingPause(org_id=org_id, reason=reason.value, detail=(detail or "")[:500], until=until)
    session.add(row)
    session.flush()
    _mark_waiting(session, org_id, until)
    audit.record(session=session, org_id=org_id, event_type="sending_paused",
                 event_data={"reason": reason.value, "detail": row.detail,
                             "until": until.isoformat() if until else None})
    incidents.open_incident(session=session, org_id=org_id, kind=IncidentKind.paused, reason=reason.value,
                            detail=row.detail)
    events.emit(session, changed_event(org_id, "paused"))
    return row


def _close(session: Session, row: SendingPause, *, actor: Actor | None, via: str,
           when: datetime | None = None) -> None:
    row.resumed_at = when or utcnow()
    row.resumed_by = actor.user_id if actor is not None else None
    session.add(row)
    session.flush()
    session.execute(text("""
        UPDATE notification_queue SET wait_reason = NULL, scheduled_for = LEAST(scheduled_for, now())
        WHERE org_id = :org AND status = 'pending' AND wait_reason = :reason
    """), {"org": row.org_id, "reason": WaitReason.paused.value})
    data = {"reason": row.reason, "paused_at": row.paused_at.isoformat()}
    if actor is not None:  # a person (or an integration) resumed it
        audit.record_action(session=session, actor=actor, org_id=row.org_id, event_type="sending_resumed", **data)
    else:  # the danger ended by itself (a ban's end, a new link)
        audit.record(session=session, org_id=row.org_id, event_type="sending_resumed", event_data={**data, "via": via})
    incidents.close_incident(session=session, org_id=row.org_id, kind=IncidentKind.paused)
    events.emit(session, changed_event(row.org_id, "resumed"))
    events.emit(session, {"type": events.EventType.queue_wake.value, "org_id": str(row.org_id)})


def resume(*, session: Session, org_id: uuid.UUID, actor: Actor) -> SendingPause:
    """A person resumes a paused organisation (owners and admins); audited with who did it, in this transaction."""
    permissions.require(actor, Action.sending, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    row = session.exec(select(SendingPause).where(SendingPause.org_id == org_id, SendingPause.resumed_at.is_(None))
                       .with_for_update()).first()
    if row is None:
        raise Conflict("sending is not paused for this organisation", code="not_paused")
    _close(session, row, actor=actor, via=actor.via)
    return row


def end_expired(*, session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Close ban pauses whose time is up: sending resumes at half pace for a day. Returns their organisations."""
    now = now or utcnow()
    rows = list(session.exec(select(SendingPause).where(SendingPause.resumed_at.is_(None),
                                                        SendingPause.until.is_not(None), SendingPause.until <= now)
                             .with_for_update(skip_locked=True)))
    for row in rows:
        _close(session, row, actor=None, via="ban_ended", when=row.until)
        state.slow_down(session=session, org_id=row.org_id, until=row.until + SLOW_AFTER_BAN)
    return [r.org_id for r in rows]


def end_on_relink(*, session: Session, org_id: uuid.UUID) -> bool:
    """A new device linked: a pause for a logged-out or lost device ends (the owner's relink answered it)."""
    row = session.exec(select(SendingPause).where(SendingPause.org_id == org_id, SendingPause.resumed_at.is_(None),
                                                  SendingPause.reason.in_([r.value for r in ENDED_BY_RELINK]))
                       .with_for_update()).first()
    if row is None:
        return False
    _close(session, row, actor=None, via="relinked")
    return True


def view(row: SendingPause | None) -> dict[str, Any]:
    """The pause as the API and the pages show it (null fields when not paused)."""
    if row is None:
        return {"paused": False, "pause_reason": None, "paused_at": None, "paused_until": None}
    return {"paused": True, "pause_reason": row.reason, "paused_at": row.paused_at.isoformat(),
            "paused_until": row.until.isoformat() if row.until else None}
