"""The org home: its numbers are the history's counts for the same local days, in the organisation's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fleet_dashboard.accounts import lifecycle
from fleet_dashboard.accounts.permissions import SYSTEM, Actor, platform
from fleet_dashboard.core.errors import PermissionDenied
from fleet_dashboard.messaging import messages
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.stats import home
from fleet_dashboard.web.format import day_range
from fleet_dashboard.whatsapp import sessions

RIYADH = ZoneInfo("Asia/Riyadh")
# 15:00 in Riyadh on 2026-11-25; the local day began at 2026-11-24 21:00 UTC.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _message(db, org, status, at: datetime, *, error=None, code=None):
    db.add(WhatsAppMessage(org_id=org.id, recipient_phone="+966501234567", message_body="x", status=status,
                           error=error, error_code=code, created_at=at,
                           failed_at=at if status == "failed" else None))


def _history_count(db, org, first: date, last: date, status: str | None = None) -> int:
    """What the history page lists for a from/to date filter (and a status), counted page by page."""
    since, until = day_range(first.isoformat(), last.isoformat(), RIYADH)
    total, cursor = 0, None
    while True:
        rows, cursor = messages.list_for_org(session=db, org_id=org.id, status=status, since=since, until=until,
                                              cursor=cursor, limit=100)
        total += len(rows)
        if not cursor:
            return total


@pytest.fixture
def riyadh_org(db, make_org):
    org = make_org("Riyadh Fleet")
    lifecycle.set_timezone(session=db, actor=platform("test"), org_id=org.id, timezone="Asia/Riyadh")
    db.commit()
    return org


def test_home_numbers_equal_the_history_counts_for_the_same_local_days(db, riyadh_org, make_org):
    org = riyadh_org
    # Today in Riyadh, though still yesterday in UTC: counted in today.
    _message(db, org, "sent", datetime(2026, 11, 24, 22, 0, tzinfo=UTC))
    _message(db, org, "delivered", datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    _message(db, org, "read", datetime(2026, 11, 25, 11, 59, tzinfo=UTC))
    _message(db, org, "failed", datetime(2026, 11, 25, 9, 0, tzinfo=UTC), error="+966 opted out", code="opted_out")
    _message(db, org, "pending", datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    # Yesterday in Riyadh, though the same UTC day as the first above: not today, but this week.
    _message(db, org, "read", datetime(2026, 11, 24, 20, 59, tzinfo=UTC))
    _message(db, org, "failed", datetime(2026, 11, 22, 10, 0, tzinfo=UTC), error="gateway said no")
    _message(db, org, "failed", datetime(2026, 11, 21, 10, 0, tzinfo=UTC), error="+966 opted out", code="opted_out")
    # Eight local days ago: in the chart, not in the week.
    _message(db, org, "sent", datetime(2026, 11, 17, 12, 0, tzinfo=UTC))
    # Before the chart's 14 days.
    _message(db, org, "sent", datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    other = make_org("Someone else")
    _message(db, other, "sent", datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    for status in ("pending", "processing", "completed", "failed"):
        db.add(NotificationQueue(org_id=org.id, recipient_phone="+966501234567", status=status))
    db.commit()

    h = home.org_home(session=db, org_id=org.id, actor=Actor(role="owner", org_id=org.id), now=NOW)
    assert h.zone == "Asia/Riyadh"
    today, week_start = date(2026, 11, 25), date(2026, 11, 19)
    assert (h.today.first, h.today.last, h.week.first, h.week.last) == (today, today, week_start, today)

    sent_statuses = ("sent", "delivered", "read")
    assert h.today.sent == sum(_history_count(db, org, today, today, s) for s in sent_statuses) == 3
    assert h.today.failed == _history_count(db, org, today, today, "failed") == 1
    assert h.today.total == _history_count(db, org, today, today) == 5
    assert h.week.sent == sum(_history_count(db, org, week_start, today, s) for s in sent_statuses) == 4
    assert h.week.failed == _history_count(db, org, week_start, today, "failed") == 3
    assert h.week.total == _history_count(db, org, week_start, today) == 8
    assert h.week.delivered == 3 and h.week.read == 2
    assert (h.delivery_rate, h.read_rate, h.failure_rate) == (3 / 4, 2 / 4, 3 / 7)
    assert h.queue_depth == 2

    # The chart: 14 local days, oldest first, each equal to the history's count for that one day.
    assert [d["day"] for d in h.chart] == [(today - timedelta(days=13 - i)).isoformat() for i in range(14)]
    for d in h.chart:
        day = date.fromisoformat(d["day"])
        assert d["sent"] == sum(_history_count(db, org, day, day, s) for s in sent_statuses), d
        assert d["failed"] == _history_count(db, org, day, day, "failed"), d
    assert sum(d["sent"] for d in h.chart) == 5

    assert [(r["code"], r["count"]) for r in h.reasons] == [("opted_out", 2), (None, 1)]
    assert [m.created_at for m in h.latest_failures][0] == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert len(h.latest_failures) == 3 and all(m.org_id == org.id for m in h.latest_failures)
    assert h.whatsapp["status"] == "disconnected"


def test_home_shows_the_connection_and_its_reason(db, riyadh_org):
    row = sessions.get_or_create(session=db, org_id=riyadh_org.id)
    row.status, row.connection_error, row.connection_error_code = "error", "gave up", "connect_gave_up"
    db.commit()
    h = home.org_home(session=db, org_id=riyadh_org.id, actor=SYSTEM, now=NOW)
    assert (h.whatsapp["status"], h.whatsapp["connection_error_code"]) == ("error", "connect_gave_up")
    assert h.today.total == 0 and h.delivery_rate == 0.0 and len(h.chart) == 14


def test_home_of_another_organisation_is_refused(db, riyadh_org, make_org):
    other = make_org("Other")
    with pytest.raises(PermissionDenied):
        home.org_home(session=db, org_id=riyadh_org.id, actor=Actor(role="owner", org_id=other.id), now=NOW)
