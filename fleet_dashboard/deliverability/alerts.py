"""The alert sweeper: opens an incident for a WhatsApp session out of `connected` past ALERT_AFTER_SECONDS, ends ban
pauses whose time is up, and e-mails each incident's opening and all-clear to the organisation's owners and
admins, once. A lifespan task of every web process; an advisory lock makes one of them do it at a time."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime, mailer
from fleet_dashboard.accounts.models import Organization, Role, User
from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.deliverability import incidents, pauses
from fleet_dashboard.deliverability.models import IncidentKind, SendingIncident
from fleet_dashboard.whatsapp.models import SessionReason

log = logging.getLogger(__name__)
LOCK_KEY = 0x46_6C_41_4C  # "FlAL"
# Ended WhatsApp sessions that still mean danger (the phone unlinked us, the device is gone, another client took over).
DANGER_REASONS = (SessionReason.logged_out_phone, SessionReason.needs_relink, SessionReason.stream_replaced,
                  SessionReason.client_outdated)
# A refused e-mail is tried again after this long (in this process), never in a loop.
MAIL_RETRY_SECONDS = 60.0

# WhatsApp sessions linked before, not connected now, and still wanted (or ended by a danger).
_DOWN_NOW = """
SELECT s.org_id, COALESCE(s.connection_error_code, 'connect_failed') AS reason, s.connection_error AS detail,
       COALESCE(s.last_disconnected_at, now()) AS since
FROM whatsapp_sessions s JOIN organizations o ON o.id = s.org_id
WHERE o.suspended_at IS NULL AND s.last_connected_at IS NOT NULL AND s.status <> 'connected'
  AND (s.enabled OR s.connection_error_code = ANY(:dangers))
"""
# Each outage's start, kept from the first time it is seen (every retry moves last_disconnected_at on).
_MARK_DOWN = text("""
WITH down AS (""" + _DOWN_NOW + """), cleared AS (
    UPDATE sending_state SET down_since = NULL
    WHERE down_since IS NOT NULL AND org_id NOT IN (SELECT org_id FROM down)
), marked AS (
    INSERT INTO sending_state (org_id, risk, risk_reasons, down_since)
    SELECT org_id, 'green', '[]'::jsonb, since FROM down
    ON CONFLICT (org_id) DO UPDATE SET down_since = COALESCE(sending_state.down_since, EXCLUDED.down_since)
    RETURNING org_id, down_since
)
SELECT d.org_id, d.reason, d.detail FROM down d JOIN marked m ON m.org_id = d.org_id
WHERE m.down_since < now() - make_interval(secs => :after)
""")
_BACK = text("""
SELECT i.org_id FROM sending_incidents i LEFT JOIN whatsapp_sessions s ON s.org_id = i.org_id
WHERE i.kind = 'disconnected' AND i.closed_at IS NULL
  AND (s.org_id IS NULL OR s.status = 'connected' OR NOT (s.enabled OR s.connection_error_code = ANY(:dangers)))
""")


def sweep_incidents(*, session: Session) -> None:
    """One pass over the dangers only time reveals: ended bans, and WhatsApp sessions down for too long (or back up)."""
    pauses.end_expired(session=session)
    dangers = [r.value for r in DANGER_REASONS]
    for row in session.execute(_BACK, {"dangers": dangers}):
        incidents.close_incident(session=session, org_id=row.org_id, kind=IncidentKind.disconnected)
    paused = {r.org_id for r in incidents_open(session, IncidentKind.paused)}
    for row in session.execute(_MARK_DOWN, {"dangers": dangers, "after": get_settings().alert_after_seconds}):
        if row.org_id in paused:
            continue  # the pause's own alert already says the number stopped: one alert, not two
        incidents.open_incident(session=session, org_id=row.org_id, kind=IncidentKind.disconnected,
                                reason=row.reason, detail=row.detail or "")


def incidents_open(session: Session, kind: IncidentKind) -> list[SendingIncident]:
    return list(session.exec(select(SendingIncident).where(SendingIncident.kind == kind.value,
                                                           SendingIncident.closed_at.is_(None))))


def recipients(*, session: Session, org_id: uuid.UUID) -> list[str]:
    """Who is told: the organisation's active owners and admins."""
    rows = session.exec(select(User.email).where(User.org_id == org_id, User.is_active.is_(True),
                                                 User.role.in_([Role.owner.value, Role.admin.value])))
    return sorted(set(rows))


def compose(*, session: Session, incident: SendingIncident, opening: bool) -> tuple[str, str]:
    """The Arabic subject and body of an incident's opening (or all-clear) e-mail."""
    org = session.get(Organization, incident.org_id)
    zone = localtime.zone_of(org)
    kind = strings.ALERT_KIND.get(incident.kind, incident.kind)
    what = incidents.alert_text(incident.kind, incident.reason)
    base = (get_settings().public_url or "").rstrip("/")
    values: dict[str, Any] = {"kind": kind, "org": org.name if org else "", "what": what,
                              "since": localtime.format_local(incident.opened_at, zone),
                              "until": localtime.format_local(incident.closed_at, zone),
                              "url": f"{base}/sending" if base else "/sending"}
    if opening:
        return strings.ALERT_EMAIL_SUBJECT.format(**values), strings.ALERT_EMAIL_BODY.format(**values)
    return strings.ALERT_EMAIL_CLEARED_SUBJECT.format(**values), strings.ALERT_EMAIL_CLEARED_BODY.format(**values)


class Sweeper:
    """The sweeper's state in one process: e-mails that the server refused wait a while before another try."""

    def __init__(self) -> None:
        self._retry_at: dict[tuple[uuid.UUID, bool], float] = {}

    def run_once(self) -> int:
        """Sweep incidents and send the e-mails owed, if this process holds the lock; returns e-mails sent."""
        with get_engine().connect() as lock:
            if not lock.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                return 0
            try:
                with session_scope() as session:
                    sweep_incidents(session=session)
                return self._mail()
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                lock.commit()

    def _mail(self) -> int:
        sent = 0
        with session_scope() as session:
            owed = incidents.unmailed(session=session)
            for incident in owed:
                for opening in (True, False):
                    if (incident.opened_mailed_at if opening else incident.closed_mailed_at) is not None:
                        continue
                    if not opening and incident.closed_at is None:
                        continue
                    if time.monotonic() < self._retry_at.get((incident.id, opening), 0.0):
                        continue
                    if self._send(session, incident, opening):
                        incidents.mark_mailed(session=session, incident_id=incident.id, opening=opening)
                        session.commit()
                        sent += 1
        return sent

    def _send(self, session: Session, incident: SendingIncident, opening: bool) -> bool:
        """True when told (or nobody can be: no SMTP, no one to tell); False to try again later."""
        to = recipients(session=session, org_id=incident.org_id)
        if not mailer.enabled() or not to:
            return True
        subject, body = compose(session=session, incident=incident, opening=opening)
        ok = all([mailer.send(to=address, subject=subject, body=body) for address in to])
        if not ok:
            self._retry_at[(incident.id, opening)] = time.monotonic() + MAIL_RETRY_SECONDS
            log.warning("an alert e-mail for %s was refused; trying again in %.0f s", incident.org_id,
                        MAIL_RETRY_SECONDS)
        return ok


async def run_alerts_forever() -> None:
    """Sweep every ALERT_CHECK_SECONDS until cancelled; errors are logged and the next turn tries again."""
    sweeper = Sweeper()
    while True:
        try:
            await asyncio.to_thread(sweeper.run_once)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the alert sweep failed; retrying")
        await asyncio.sleep(get_settings().alert_check_seconds)


async def alerts_lifespan() -> None:
    """The sweeper as a server lifespan task."""
    await run_alerts_forever()

