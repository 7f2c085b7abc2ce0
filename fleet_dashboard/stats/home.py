"""The organisation's home: how its notifications are doing, in its own calendar days.

Periods are the organisation's local days (accounts/localtime.py), exactly as the history's date filter
reads them, so "today" on the home and "from today to today" on the history count the same messages:
- today: from local midnight until now;
- this week: the last 7 local days, today included;
- the chart: the last 14 local days, oldest first, no gaps.
"Sent" means the message reached WhatsApp (sent, delivered or read, models.SENT_MESSAGE_STATUSES);
"delivered" counts delivered and read (a read message was delivered); rates are over the week's sends.

The daily counters (stats/counters.py) are kept per UTC day, which a Riyadh or Cairo day straddles,
so the day figures come from one grouped count over the (org_id, status, created_at) index, bounded to the
14 days; the queue depth, which has no day, comes from the counters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.accounts import localtime, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.messaging import messages
from fleet_dashboard.messaging.models import (
    FAILED_MESSAGE_STATUSES,
    LIVE_MESSAGE_STATUSES,
    SENT_MESSAGE_STATUSES,
    MessageStatus,
)
from fleet_dashboard.notifications.models import LIVE_QUEUE_STATUSES
from fleet_dashboard.stats import counters
from fleet_dashboard.stats.models import CountKind
from fleet_dashboard.whatsapp import sessions

WEEK_DAYS = 7
CHART_DAYS = 14
LATEST_FAILURES = 8
TOP_REASONS = 6
DELIVERED_STATUSES = (MessageStatus.delivered.value, MessageStatus.read.value)

_DAILY = text("""
SELECT (created_at AT TIME ZONE :tz)::date AS day, status, count(*) AS n
FROM whatsapp_messages
WHERE org_id = :org AND created_at >= :since AND created_at < :until
GROUP BY 1, 2
""")

_REASONS = text("""
SELECT error_code, max(error) AS error, count(*) AS n
FROM whatsapp_messages
WHERE org_id = :org AND status = :failed AND created_at >= :since AND created_at < :until
GROUP BY error_code ORDER BY n DESC, error_code NULLS LAST LIMIT :limit
""")


@dataclass
class Period:
    """Counts by status for a span of local days, [since, until) in UTC."""

    first: date
    last: date
    since: datetime
    until: datetime
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def sent(self) -> int:
        return sum(self.by_status.get(s, 0) for s in SENT_MESSAGE_STATUSES)

    @property
    def delivered(self) -> int:
        return sum(self.by_status.get(s, 0) for s in DELIVERED_STATUSES)

    @property
    def read(self) -> int:
        return self.by_status.get(MessageStatus.read.value, 0)

    @property
    def failed(self) -> int:
        """Tried and not sent; a cancelled message was never tried, so it is not a failure."""
        return sum(self.by_status.get(s, 0) for s in FAILED_MESSAGE_STATUSES)

    @property
    def in_progress(self) -> int:
        return sum(self.by_status.get(s, 0) for s in LIVE_MESSAGE_STATUSES)


def rate(part: int, whole: int) -> float:
    """part / whole, 0 when there is nothing to divide."""
    return part / whole if whole else 0.0


@dataclass
class OrgHome:
    """Everything the home page shows, read in one go."""

    zone: str
    today: Period
    week: Period
    chart: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    latest_failures: list[Any]
    queue_depth: int
    whatsapp: dict[str, Any]  # the WhatsApp session row as sessions.get_status shows it

    @property
    def delivery_rate(self) -> float:
        return rate(self.week.delivered, self.week.sent)

    @property
    def read_rate(self) -> float:
        return rate(self.week.read, self.week.sent)

    @property
    def failure_rate(self) -> float:
        return rate(self.week.failed, self.week.sent + self.week.failed)


def _period(daily: dict[tuple[date, str], int], first: date, last: date, zone: ZoneInfo) -> Period:
    since, until = localtime.day_bounds(first, last, zone)
    by_status: dict[str, int] = {}
    for (day, status), n in daily.items():
        if first <= day <= last:
            by_status[status] = by_status.get(status, 0) + n
    return Period(first=first, last=last, since=since, until=until, by_status=by_status)


def org_home(*, session: Session, org_id: uuid.UUID, actor: Actor, now: datetime | None = None) -> OrgHome:
    """The organisation's figures for today, the week and 14 days, in its local days."""
    permissions.require(actor, Action.view, org_id)
    zone = localtime.org_zone(session=session, org_id=org_id)
    now = now or datetime.now(UTC)
    today = localtime.local_today(zone, now=now)
    first = today - timedelta(days=CHART_DAYS - 1)
    since, until = localtime.day_bounds(first, today, zone)
    rows = session.execute(_DAILY, {"tz": zone.key, "org": org_id, "since": since, "until": until})
    daily = {(r.day, r.status): int(r.n) for r in rows}
    chart = []
    for i in range(CHART_DAYS):
        day = first + timedelta(days=i)
        chart.append({"day": day.isoformat(),
                      "sent": sum(daily.get((day, s), 0) for s in SENT_MESSAGE_STATUSES),
                      "failed": sum(daily.get((day, s), 0) for s in FAILED_MESSAGE_STATUSES)})
    week = _period(daily, today - timedelta(days=WEEK_DAYS - 1), today, zone)
    reasons = [{"code": r.error_code, "error": r.error or "", "count": int(r.n)}
               for r in session.execute(_REASONS, {"org": org_id, "failed": MessageStatus.failed.value,
                                                   "since": week.since, "until": week.until,
                                                   "limit": TOP_REASONS})]
    latest, _ = messages.list_for_org(session=session, org_id=org_id, status=MessageStatus.failed.value,
                                       limit=LATEST_FAILURES)
    queued = counters.org_totals(session=session, kind=CountKind.queue, org_id=org_id)
    return OrgHome(zone=zone.key, today=_period(daily, today, today, zone), week=week, chart=chart,
                   reasons=reasons, latest_failures=latest,
                   queue_depth=sum(queued.get(s, 0) for s in LIVE_QUEUE_STATUSES),
                   whatsapp=sessions.get_status(session=session, org_id=org_id))
