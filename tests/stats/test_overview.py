"""The super_admin's numbers: per organisation session state, volumes, failure rate, queue depth, last error."""

from datetime import UTC, datetime, timedelta

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.stats import overview
from fleet_dashboard.whatsapp import sessions

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _message(db, org, status, *, days_ago=0, error=None, code=None):
    db.add(WhatsAppMessage(org_id=org.id, recipient_phone="+201001234567", message_body="x", status=status,
                           error=error, error_code=code, created_at=NOW - timedelta(days=days_ago, minutes=1)))


def test_org_overview_counts_each_organisation_on_its_own(db, make_org):
    busy, quiet = make_org("Busy"), make_org("Quiet")
    for status in ("sent", "delivered", "read"):
        _message(db, busy, status)
    _message(db, busy, "failed", days_ago=2, error="+201001234567 has opted out of messages", code="opted_out")
    _message(db, busy, "sent", days_ago=3)
    _message(db, busy, "sent", days_ago=10)  # outside the 7 days
    _message(db, busy, "pending")  # not sent: counts nowhere
    for status in ("pending", "processing", "completed"):
        db.add(NotificationQueue(org_id=busy.id, recipient_phone="+201001234567", status=status))
    row = sessions.get_or_create(session=db, org_id=quiet.id)
    row.status, row.connection_error, row.connection_error_code = "error", "gave up after 8 failed attempts", \
        "connect_gave_up"
    db.commit()

    rows = {r["name"]: r for r in overview.org_overview(session=db, now=NOW, actor=SYSTEM)}
    b, q = rows["Busy"], rows["Quiet"]
    assert (b["sent_today"], b["sent_week"], b["failed_week"], b["queue_depth"]) == (3, 4, 1, 2)
    assert b["failure_rate"] == 1 / 5
    assert (b["status"], b["last_error_code"]) == ("disconnected", "opted_out")
    assert (q["status"], q["sent_week"], q["failure_rate"], q["queue_depth"]) == ("error", 0, 0.0, 0)
    assert (q["last_error"], q["last_error_code"]) == ("gave up after 8 failed attempts", "connect_gave_up")


def test_messages_per_day_has_every_day_oldest_first(db, make_org):
    org = make_org()
    _message(db, org, "sent")
    _message(db, org, "failed", days_ago=1)
    _message(db, org, "read", days_ago=20)  # before the window
    db.commit()
    days = overview.messages_per_day(session=db, days=14, now=NOW, actor=SYSTEM)
    assert len(days) == 14 and days[0]["day"] == "2026-11-12" and days[-1]["day"] == "2026-11-25"
    assert days[-1] == {"day": "2026-11-25", "sent": 1, "failed": 0}
    assert days[-2] == {"day": "2026-11-24", "sent": 0, "failed": 1}
    assert sum(d["sent"] + d["failed"] for d in days) == 2
