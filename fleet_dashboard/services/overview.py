"""The super_admin's numbers across organisations: session state, volumes, failure rate and queue depth."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.services import permissions
from fleet_dashboard.services.permissions import Action, Actor

_ORGS_SQL = text("""
SELECT o.id, o.name, o.slug,
       COALESCE(s.status, 'disconnected') AS status, s.phone_number, s.connection_error, s.connection_error_code,
       COALESCE(m.today, 0) AS sent_today, COALESCE(m.week, 0) AS sent_week,
       COALESCE(m.failed_week, 0) AS failed_week, COALESCE(q.depth, 0) AS queue_depth,
       lf.error AS last_failure, lf.error_code AS last_failure_code
FROM organizations o
LEFT JOIN whatsapp_sessions s ON s.org_id = o.id
LEFT JOIN (
    SELECT org_id,
           count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read') AND created_at >= :today) AS today,
           count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read')) AS week,
           count(*) FILTER (WHERE status = 'failed') AS failed_week
    FROM whatsapp_messages WHERE created_at >= :week GROUP BY org_id
) m ON m.org_id = o.id
LEFT JOIN (
    SELECT org_id, count(*) AS depth FROM notification_queue
    WHERE status IN ('pending', 'processing') GROUP BY org_id
) q ON q.org_id = o.id
LEFT JOIN LATERAL (
    SELECT error, error_code FROM whatsapp_messages
    WHERE org_id = o.id AND status = 'failed' ORDER BY created_at DESC LIMIT 1
) lf ON true
ORDER BY o.name
""")

_DAILY_SQL = text("""
SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read')) AS sent,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM whatsapp_messages WHERE created_at >= :since
GROUP BY 1 ORDER BY 1
""")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def org_overview(*, session: Session, now: datetime | None = None, actor: Actor) -> list[dict[str, Any]]:
    """One row per organisation: live session status, volumes today and over 7 days, failures, queue depth."""
    permissions.require(actor, Action.overview)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    rows = session.execute(_ORGS_SQL, {"today": _midnight(today), "week": _midnight(today - timedelta(days=6))})
    out = []
    for r in rows:
        attempted = r.sent_week + r.failed_week
        out.append({
            "org_id": r.id, "name": r.name, "slug": r.slug, "status": r.status, "phone": r.phone_number or "",
            "sent_today": r.sent_today, "sent_week": r.sent_week, "failed_week": r.failed_week,
            "failure_rate": (r.failed_week / attempted) if attempted else 0.0, "queue_depth": r.queue_depth,
            # The session's trouble first, else the latest failed message; the code says it in any language.
            "last_error": r.connection_error or r.last_failure or "",
            "last_error_code": r.connection_error_code if r.connection_error else r.last_failure_code,
        })
    return out


def messages_per_day(*, session: Session, days: int = 14, now: datetime | None = None,
                     actor: Actor) -> list[dict[str, Any]]:
    """Sent and failed messages per UTC day across every organisation, oldest first, no gaps."""
    permissions.require(actor, Action.overview)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    counts = {r.day: (r.sent, r.failed) for r in session.execute(_DAILY_SQL, {"since": _midnight(first)})}
    return [{"day": (first + timedelta(days=i)).isoformat(),
             "sent": counts.get(first + timedelta(days=i), (0, 0))[0],
             "failed": counts.get(first + timedelta(days=i), (0, 0))[1]} for i in range(days)]

