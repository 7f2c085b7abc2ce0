"""Cancelling a queued send: its message is `cancelled`, its own outcome, and no failure figure counts it."""

from __future__ import annotations

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.messaging import messages
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications import queue, sending
from fleet_dashboard.stats import home, overview


def test_a_cancelled_send_is_cancelled_not_failed_everywhere(db, org_tpl):
    org, _ = org_tpl
    message, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="later",
                                         actor=SYSTEM)
    row = queue.enqueue_message(session=db, org_id=org.id, message=message)
    db.commit()

    queue.cancel(session=db, org_id=org.id, notification_id=row.id, actor=SYSTEM)
    db.commit()

    stored = db.get(WhatsAppMessage, message.id)
    db.refresh(stored)
    assert stored.status == "cancelled" and stored.error is None and stored.failed_at is None
    assert sending.send_verdict(stored.status) == "cancelled"
    figures = home.org_home(session=db, org_id=org.id, actor=SYSTEM)
    assert figures.today.failed == 0 and figures.week.failed == 0 and figures.week.in_progress == 0
    assert figures.failure_rate == 0 and not figures.reasons and not figures.latest_failures
    assert all(day["failed"] == 0 for day in figures.chart)
    assert "cancelled" not in overview._params(None)["failed"]
    cancelled, _ = messages.list_for_org(session=db, org_id=org.id, status="cancelled")
    assert [m.id for m in cancelled] == [message.id]
