"""The super_admin overview in pages: search by name or slug, sort by any column, fresh numbers per page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import get_engine
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.stats import counters, overview
from fleet_dashboard.whatsapp import sessions

NOW = datetime.now(UTC)


def _fleet(db, make_org, n=60):
    """`n` organisations named Org 000..; Org k sent k messages this week, and every 7th failed one."""
    orgs = [make_org(f"Org {k:03d}", slug=f"org-{k:03d}") for k in range(n)]
    for k, org in enumerate(orgs):
        for i in range(k):
            db.add(WhatsAppMessage(org_id=org.id, recipient_phone="+201001234567", message_body="x",
                                   status="failed" if (i == 0 and k % 7 == 0) else "delivered",
                                   error="boom" if i == 0 and k % 7 == 0 else None,
                                   created_at=NOW - timedelta(days=i % 7, minutes=1)))
        for _ in range(k % 4):
            db.add(NotificationQueue(org_id=org.id, recipient_phone="+201001234567", status="pending"))
    db.commit()
    return orgs


def test_pages_search_and_sort_over_many_organisations(db, make_org):
    _fleet(db, make_org)
    first = overview.org_page(session=db, page_size=25, actor=SYSTEM)
    assert (first.total, first.pages, first.page) == (60, 3, 1)
    assert [r["name"] for r in first.rows] == [f"Org {k:03d}" for k in range(25)]
    last = overview.org_page(session=db, page=3, page_size=25, actor=SYSTEM)
    assert [r["name"] for r in last.rows] == [f"Org {k:03d}" for k in range(50, 60)]
    # A page past the end shows the last one.
    assert overview.org_page(session=db, page=99, page_size=25, actor=SYSTEM).page == 3

    found = overview.org_page(session=db, search="org 01", page_size=25, actor=SYSTEM)
    assert [r["name"] for r in found.rows] == [f"Org {k:03d}" for k in range(10, 20)] and found.total == 10
    assert overview.org_page(session=db, search="org-042", actor=SYSTEM).rows[0]["name"] == "Org 042"
    assert overview.org_page(session=db, search="100%", actor=SYSTEM).total == 0  # wildcards are literal

    busiest = overview.org_page(session=db, sort="sent_week", descending=True, page_size=5, actor=SYSTEM)
    # Org 056 lost one to a failure: it ties with Org 055, and the name breaks the tie.
    assert [r["name"] for r in busiest.rows] == ["Org 059", "Org 058", "Org 057", "Org 055", "Org 056"]
    assert busiest.rows[0]["sent_week"] == 59 and busiest.total == 60
    worst = overview.org_page(session=db, sort="failure_rate", descending=True, page_size=3, actor=SYSTEM)
    assert [r["name"] for r in worst.rows] == ["Org 007", "Org 014", "Org 021"]
    assert worst.rows[0]["failure_rate"] == 1 / 7 and worst.rows[0]["last_error"] == "boom"
    deepest = overview.org_page(session=db, sort="queue_depth", descending=True, page_size=200, actor=SYSTEM)
    assert {r["queue_depth"] for r in deepest.rows[:15]} == {3}
    today = overview.org_page(session=db, sort="sent_today", search="Org 05", descending=False, actor=SYSTEM)
    assert [r["sent_today"] for r in today.rows] == sorted(r["sent_today"] for r in today.rows)


def test_sort_by_session_status_and_numbers_for_the_rows_on_screen(db, make_org):
    orgs = _fleet(db, make_org, n=12)
    row = sessions.get_or_create(session=db, org_id=orgs[5].id)
    row.status = "connected"
    db.commit()
    by_status = overview.org_page(session=db, sort="status", descending=False, actor=SYSTEM)
    assert by_status.rows[0]["name"] == "Org 005" and by_status.rows[0]["status"] == "connected"

    shown = [orgs[3].id, orgs[11].id]
    before = overview.org_numbers(session=db, org_ids=shown, actor=SYSTEM)
    assert before[orgs[11].id]["sent_week"] == 11 and before[orgs[3].id]["queue_depth"] == 3
    db.add(WhatsAppMessage(org_id=orgs[3].id, recipient_phone="+201001234567", message_body="x", status="read"))
    db.commit()
    after = overview.org_numbers(session=db, org_ids=shown, actor=SYSTEM)
    assert after[orgs[3].id]["sent_week"] == 4 and after[orgs[3].id]["sent_today"] >= 1


def test_the_overview_never_reads_the_message_table_for_its_numbers(db, make_org):
    """Volumes come from counters: emptying the counters (not the rows) empties the numbers."""
    _fleet(db, make_org, n=8)
    assert overview.org_page(session=db, sort="sent_week", descending=True, actor=SYSTEM).rows[0]["sent_week"] == 6
    with get_engine().begin() as conn:
        counters.rollup(conn=conn)
        conn.execute(text("DELETE FROM status_counts"))
    page = overview.org_page(session=db, sort="sent_week", descending=True, actor=SYSTEM)
    assert page.rows[0]["sent_week"] == 0 and page.total == 8
    # Count them again so the end-of-test check (counters == rows) holds.
    with get_engine().begin() as conn:
        counters.rebuild(conn=conn)
