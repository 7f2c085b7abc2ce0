"""Engine processes as the database knows them: heartbeats for the web tier's health, and the clean-up
of a process that died without saying so (the web tier never looks inside an engine)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from fleet_dashboard.accounts import audit
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.core import events
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.whatsapp.models import SessionReason, WhatsAppEngine, WhatsAppSession
from fleet_dashboard.whatsapp.sessions import status_event, wanted_up

LIVE_STATUSES = ("connected", "connecting", "qr_pending")


def beat(*, session: Session, engine_id: str, hostname: str, pid: int, backend: str, capacity: int, owned: int,
         connected: int, stuck_threads: int) -> None:
    """Record that this engine is alive and what it holds."""
    values = {"hostname": hostname, "pid": pid, "backend": backend, "capacity": capacity, "owned": owned,
              "connected": connected, "stuck_threads": stuck_threads, "heartbeat_at": func.now(), "stopped_at": None}
    session.execute(insert(WhatsAppEngine).values(engine_id=engine_id, started_at=func.now(), **values)
                    .on_conflict_do_update(index_elements=["engine_id"], set_=values))


def mark_stopped(*, session: Session, engine_id: str) -> None:
    """The engine said goodbye."""
    session.execute(update(WhatsAppEngine).where(WhatsAppEngine.engine_id == engine_id)
                    .values(stopped_at=func.now(), owned=0, connected=0))


def engine_candidates(*, session: Session, org_id: uuid.UUID | None = None) -> list[Any]:
    """Organisations an engine must own: WhatsApp sessions that should be up (not suspended), devices to unlink."""
    query = (select(WhatsAppSession.org_id).join(Organization, Organization.id == WhatsAppSession.org_id)
             .where(wanted_up() | WhatsAppSession.unlink_jid.is_not(None)))
    if org_id is not None:
        query = query.where(WhatsAppSession.org_id == org_id)
    return list(session.execute(query).scalars())


# Engine deaths in a row during a WhatsApp session's start after which it is parked until a person retries it.
CRASH_LOOP_DEATHS = 2
CRASH_LOOP_REASON = ("engine processes died {deaths} times in a row while this session's start was inside the "
                     "WhatsApp library; parked so it cannot take down the next engine too (the others stay up)")


def blame_start(*, session: Session, org_ids: list[uuid.UUID], engine_id: str) -> list[uuid.UUID]:
    """An engine died while these WhatsApp sessions' starts were inside the library: count it against each; one
    present at CRASH_LOOP_DEATHS deaths in a row (a connect in between resets the count) is parked with
    `engine_crash_loop`: disabled until a person connects it again. Returns the parked organisations."""
    if not org_ids:
        return []
    counted = session.execute(update(WhatsAppSession).where(WhatsAppSession.org_id.in_(org_ids))
                              .values(start_crashes=WhatsAppSession.start_crashes + 1)
                              .returning(WhatsAppSession.org_id, WhatsAppSession.start_crashes)).all()
    looping = [org_id for org_id, crashes in counted if crashes >= CRASH_LOOP_DEATHS]
    if not looping:
        return []
    rows = session.execute(
        update(WhatsAppSession).where(WhatsAppSession.org_id.in_(looping), WhatsAppSession.enabled.is_(True))
        .values(enabled=False, status="disconnected", connection_error_code=SessionReason.engine_crash_loop,
                connection_error=CRASH_LOOP_REASON.format(deaths=CRASH_LOOP_DEATHS), qr_code=None,
                qr_expires_at=None, pair_code=None, pair_code_expires_at=None, next_retry_at=None,
                last_disconnected_at=func.now(), updated_at=func.now())
        .returning(WhatsAppSession)).scalars().all()
    for row in rows:
        audit.record(session=session, org_id=row.org_id, session_id=row.id, event_type="session_error",
                     event_data={"status": row.status, "code": SessionReason.engine_crash_loop.value,
                                 "reason": row.connection_error, "engine": engine_id})
        events.emit(session, status_event(row))
    return [row.org_id for row in rows]


def running_pids(*, session: Session, hostname: str, pids: list[int]) -> set[int]:
    """Which of these engine processes of this host have written a heartbeat and not stopped."""
    return set(session.execute(select(WhatsAppEngine.pid).where(
        WhatsAppEngine.hostname == hostname, WhatsAppEngine.pid.in_(pids),
        WhatsAppEngine.stopped_at.is_(None))).scalars())


def alive(*, session: Session, stale_seconds: float) -> list[dict[str, Any]]:
    """Engines whose heartbeat is recent, newest first."""
    since = utcnow() - timedelta(seconds=stale_seconds)
    rows = session.execute(select(WhatsAppEngine).where(WhatsAppEngine.heartbeat_at >= since,
                                                        WhatsAppEngine.stopped_at.is_(None))
                           .order_by(WhatsAppEngine.started_at.desc())).scalars()
    return [{"engine_id": r.engine_id, "pid": r.pid, "hostname": r.hostname, "backend": r.backend,
             "capacity": r.capacity, "owned": r.owned, "connected": r.connected, "stuck_threads": r.stuck_threads,
             "started_at": r.started_at.isoformat(), "heartbeat_at": r.heartbeat_at.isoformat()} for r in rows]


def mark_crashed(*, session: Session, engine_id: str, reason: str) -> int:
    """An engine died without cleaning up: its WhatsApp sessions are down until another engine takes them; say so."""
    rows = session.execute(
        update(WhatsAppSession)
        .where(WhatsAppSession.engine_id == engine_id, WhatsAppSession.status.in_(LIVE_STATUSES))
        .values(status="disconnected", connection_error=reason, connection_error_code=SessionReason.engine_crashed,
                qr_code=None, qr_expires_at=None, pair_code=None, pair_code_expires_at=None,
                last_disconnected_at=func.now(), updated_at=func.now())
        .returning(WhatsAppSession)).scalars().all()
    for row in rows:
        audit.record(session=session, org_id=row.org_id, session_id=row.id, event_type="session_disconnected",
                     event_data={"status": row.status, "reason": reason, "engine": engine_id})
        events.emit(session, status_event(row))
    session.execute(update(WhatsAppEngine).where(WhatsAppEngine.engine_id == engine_id)
                    .values(stopped_at=func.now(), owned=0, connected=0))
    events.emit(session, {"type": EventType.engine_status, "org_id": None, "engine_id": engine_id, "status": "crashed",
                          "sessions": len(rows)})
    return len(rows)
