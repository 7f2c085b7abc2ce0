"""The super_admin's numbers across organisations: WhatsApp session state, volumes, failure rate and queue depth.

Volumes and queue depth come from the status counters (stats/counters.py), never from a scan of
messages: one page of organisations costs the same with 1,000 or 10,000 of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.pagination import contains_pattern
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import sql_list
from fleet_dashboard.deliverability import incidents
from fleet_dashboard.messaging.models import FAILED_MESSAGE_STATUSES, SENT_MESSAGE_STATUSES
from fleet_dashboard.notifications.models import LIVE_QUEUE_STATUSES
from fleet_dashboard.stats import counters
from fleet_dashboard.stats.models import FLEET, CountKind
from fleet_dashboard.whatsapp import engines

PAGE_SIZE = 25
WEEK_DAYS = 7
# Sort keys the overview offers, each a SQL expression over the page's columns.
SORTS = {
    "name": "name",
    "status": "status",
    "sent_today": "sent_today",
    "sent_week": "sent_week",
    "failure_rate": "failed_week::float8 / NULLIF(sent_week + failed_week, 0)",
    "queue_depth": "queue_depth",
}
# Sorting by these needs every organisation's numbers; the others only the page's.
_NUMERIC_SORTS = {"sent_today", "sent_week", "failure_rate", "queue_depth"}

_ORGS = """
SELECT o.id, o.name, o.slug, COALESCE(s.status, 'disconnected') AS status, s.phone_number,
       s.connection_error, s.connection_error_code, COALESCE(st.risk, 'green') AS risk
FROM organizations o LEFT JOIN whatsapp_sessions s ON s.org_id = o.id
LEFT JOIN sending_state st ON st.org_id = o.id
WHERE (CAST(:pattern AS text) IS NULL OR o.name ILIKE :pattern OR o.slug ILIKE :pattern)
"""

# Counters plus deltas not rolled up yet, for the organisations `scope` admits (a condition on org_id).
_NUMBERS = """
SELECT org_id,
       COALESCE(sum(n) FILTER (WHERE kind = 'message' AND status = ANY(:sent) AND day >= :today), 0) AS sent_today,
       COALESCE(sum(n) FILTER (WHERE kind = 'message' AND status = ANY(:sent)), 0) AS sent_week,
       COALESCE(sum(n) FILTER (WHERE kind = 'message' AND status = ANY(:failed)), 0) AS failed_week,
       COALESCE(sum(n) FILTER (WHERE kind = 'queue'), 0) AS queue_depth
FROM (
    SELECT kind, org_id, day, status, n FROM status_counts
    WHERE kind = 'message' AND status = ANY(:counted) AND day >= :week AND {scope}
    UNION ALL
    SELECT kind, org_id, day, status, n FROM status_counts
    WHERE kind = 'queue' AND status = ANY(:live_queue) AND {scope}
    UNION ALL
    SELECT kind, org_id, day, status, n FROM status_count_deltas
    WHERE ((kind = 'message' AND status = ANY(:counted) AND day >= :week)
           OR (kind = 'queue' AND status = ANY(:live_queue))) AND {scope}
) c GROUP BY org_id
"""

_LAST_FAILURE = """
LEFT JOIN LATERAL (
    SELECT error, error_code FROM whatsapp_messages
    WHERE org_id = p.id AND status IN """ + sql_list(FAILED_MESSAGE_STATUSES) + """
    ORDER BY created_at DESC, id DESC LIMIT 1
) lf ON true
"""

# By name or status: pick the page first, then count only its organisations.
_BY_ORG_SQL = """
WITH orgs AS ({orgs}), page AS (
    SELECT *, count(*) OVER () AS total FROM orgs ORDER BY {order}, name, id LIMIT :limit OFFSET :offset
), numbers AS ({numbers})
SELECT p.*, COALESCE(m.sent_today, 0) AS sent_today, COALESCE(m.sent_week, 0) AS sent_week,
       COALESCE(m.failed_week, 0) AS failed_week, COALESCE(m.queue_depth, 0) AS queue_depth,
       lf.error AS last_failure, lf.error_code AS last_failure_code
FROM page p LEFT JOIN numbers m ON m.org_id = p.id {last_failure}
ORDER BY {order}, name, id
"""

# By a number: every organisation's numbers (one pass over the counters), then the page.
_BY_NUMBER_SQL = """
WITH orgs AS ({orgs}), numbers AS ({numbers}), joined AS (
    SELECT o.*, COALESCE(m.sent_today, 0) AS sent_today, COALESCE(m.sent_week, 0) AS sent_week,
           COALESCE(m.failed_week, 0) AS failed_week, COALESCE(m.queue_depth, 0) AS queue_depth
    FROM orgs o LEFT JOIN numbers m ON m.org_id = o.id
), page AS (
    SELECT *, count(*) OVER () AS total FROM joined ORDER BY {order}, name, id LIMIT :limit OFFSET :offset
)
SELECT p.*, lf.error AS last_failure, lf.error_code AS last_failure_code
FROM page p {last_failure}
ORDER BY {order}, name, id
"""


@dataclass
class OverviewPage:
    """One page of organisations and how many match the search in all."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


def _days(now: datetime | None) -> tuple[date, date]:
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return today, today - timedelta(days=WEEK_DAYS - 1)


def _params(now: datetime | None) -> dict[str, Any]:
    today, week = _days(now)
    return {"today": today, "week": week, "sent": list(SENT_MESSAGE_STATUSES), "failed": list(FAILED_MESSAGE_STATUSES),
            "fleet": FLEET, "counted": [*SENT_MESSAGE_STATUSES, *FAILED_MESSAGE_STATUSES],
            "live_queue": list(LIVE_QUEUE_STATUSES)}


def _numbers(r: Any) -> dict[str, Any]:
    sent, failed = int(r.sent_week), int(r.failed_week)
    return {"sent_today": int(r.sent_today), "sent_week": sent, "failed_week": failed,
            "failure_rate": failed / (sent + failed) if sent + failed else 0.0, "queue_depth": int(r.queue_depth)}


def _row(r: Any) -> dict[str, Any]:
    return {
        "org_id": r.id, "name": r.name, "slug": r.slug, "status": r.status, "phone": r.phone_number or "",
        "risk": r.risk, **_numbers(r),
        # The WhatsApp session's trouble first, else the latest failed message; the code says it in any language.
        "last_error": r.connection_error or r.last_failure or "",
        "last_error_code": r.connection_error_code if r.connection_error else r.last_failure_code,
    }


def org_page(*, session: Session, search: str | None = None, sort: str = "name", descending: bool = False,
             page: int = 1, page_size: int = PAGE_SIZE, now: datetime | None = None, actor: Actor) -> OverviewPage:
    """One page of organisations matching `search` (name or slug), sorted by any overview column."""
    permissions.require(actor, Action.overview)
    sort = sort if sort in SORTS else "name"
    page_size = max(1, min(int(page_size), 200))
    page = max(1, int(page))
    nulls = "NULLS LAST" if descending else "NULLS FIRST"
    order = f"{SORTS[sort]} {'DESC' if descending else 'ASC'} {nulls}"
    template = _BY_NUMBER_SQL if sort in _NUMERIC_SORTS else _BY_ORG_SQL
    # Every organisation's numbers in one pass over the counters (joined to the search afterwards), or
    # only the page's through the primary key.
    scope = "org_id <> :fleet" if sort in _NUMERIC_SORTS else "org_id IN (SELECT id FROM page)"
    sql = template.format(orgs=_ORGS, numbers=_NUMBERS.format(scope=scope), order=order,
                          last_failure=_LAST_FAILURE)
    params = {**_params(now), "pattern": contains_pattern(search), "limit": page_size,
              "offset": (page - 1) * page_size}
    rows = session.execute(text(sql), params).all()
    if not rows and page > 1:  # the search shrank: show its last page rather than nothing
        total = session.execute(text(f"SELECT count(*) FROM ({_ORGS}) o"), params).scalar_one()
        last = max(1, -(-total // page_size))
        if last < page:
            return org_page(session=session, search=search, sort=sort, descending=descending, page=last,
                            page_size=page_size, now=now, actor=actor)
    total = int(rows[0].total) if rows else 0
    return OverviewPage(rows=[_row(r) for r in rows], total=total, page=page,
                        pages=max(1, -(-total // page_size)))


def org_overview(*, session: Session, now: datetime | None = None, actor: Actor) -> list[dict[str, Any]]:
    """Every organisation's row by name (tests and small fleets; the dashboard uses org_page)."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        chunk = org_page(session=session, page=page, page_size=200, now=now, actor=actor)
        out += chunk.rows
        if page >= chunk.pages:
            return out
        page += 1


def org_numbers(*, session: Session, org_ids: list[uuid.UUID], now: datetime | None = None,
                actor: Actor) -> dict[uuid.UUID, dict[str, Any]]:
    """Fresh volumes, failure rate and queue depth for the organisations on screen (live refresh)."""
    permissions.require(actor, Action.overview)
    if not org_ids:
        return {}
    sql = text(_NUMBERS.format(scope="org_id = ANY(CAST(:ids AS uuid[]))"))
    return {r.org_id: _numbers(r) for r in session.execute(sql, {**_params(now), "ids": list(org_ids)})}


def messages_per_day(*, session: Session, days: int = 14, now: datetime | None = None,
                     actor: Actor) -> list[dict[str, Any]]:
    """Sent and failed messages per UTC day across every organisation, oldest first, no gaps."""
    permissions.require(actor, Action.overview)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    counts = counters.fleet_daily(session=session, kind=CountKind.message, since=first)
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        out.append({"day": day.isoformat(),
                    "sent": sum(counts.get((day, s), 0) for s in SENT_MESSAGE_STATUSES),
                    "failed": sum(counts.get((day, s), 0) for s in FAILED_MESSAGE_STATUSES)})
    return out


def open_incidents(*, session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every organisation's open alerts (a WhatsApp session down, a red number, a pause), newest first."""
    permissions.require(actor, Action.overview)
    return incidents.open_everywhere(session=session)


def engine_rows(*, session: Session, actor: Actor) -> list[dict[str, str]]:
    """The live engine processes, for the overview: what each holds, from its last heartbeat."""
    permissions.require(actor, Action.overview)

    return [{"engine_id": e["engine_id"], "pid": str(e["pid"]), "owned": f"{e['owned']} / {e['capacity']}",
             "connected": str(e["connected"]), "heartbeat_at": e["heartbeat_at"]}
            for e in engines.alive(session=session, stale_seconds=get_settings().engine_stale_seconds)]
