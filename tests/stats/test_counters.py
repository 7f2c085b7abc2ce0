"""Status counters: kept in the same transaction as each change, folded by the rollup without drift.

(Every test that uses the `db` fixture also ends with tests/support/counts.py comparing the counters with
a fresh count of the rows, so each status path the suite exercises is checked.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import get_engine
from fleet_dashboard.messaging import messages
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.stats import counters, overview
from fleet_dashboard.stats.models import CountKind
from tests.support.counts import counters_mismatch


def _deltas() -> int:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM status_count_deltas")).scalar()


def _rollup() -> int:
    with get_engine().begin() as conn:
        return counters.rollup(conn=conn)


def test_a_change_is_counted_with_its_transaction_or_not_at_all(db, make_org):
    org = make_org()
    messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="one", actor=SYSTEM)
    db.rollback()
    assert counters.org_totals(session=db, kind=CountKind.message, org_id=org.id) == {}
    message, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="two",
                                          actor=SYSTEM)
    db.commit()
    assert counters.org_totals(session=db, kind=CountKind.message, org_id=org.id) == {"pending": 1}
    message.status = "sent"
    message.whatsapp_message_id = "wamid-1"
    db.add(message)
    db.commit()
    messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["wamid-1"], kind="read")
    db.commit()
    assert counters.org_totals(session=db, kind=CountKind.message, org_id=org.id) == {"read": 1}
    assert counters.fleet_totals(session=db, kind=CountKind.message) == {"read": 1}


def test_rollup_folds_deltas_without_changing_any_count(db, make_org):
    a, b = make_org("A"), make_org("B")
    now = datetime.now(UTC)
    for org, n in ((a, 30), (b, 7)):
        for i in range(n):
            db.add(WhatsAppMessage(org_id=org.id, recipient_phone="+201001234567", message_body="x",
                                   status=("failed", "sent", "read")[i % 3], created_at=now - timedelta(days=i % 9)))
            db.add(NotificationQueue(org_id=org.id, recipient_phone="+201001234567",
                                     status=("pending", "completed")[i % 2]))
    db.commit()
    before = (counters.org_totals(session=db, kind=CountKind.message, org_id=a.id),
              counters.org_totals(session=db, kind=CountKind.queue, org_id=b.id),
              counters.fleet_totals(session=db, kind=CountKind.message),
              overview.messages_per_day(session=db, actor=SYSTEM), overview.org_overview(session=db, actor=SYSTEM))
    assert before[0] == {"failed": 10, "sent": 10, "read": 10} and before[1] == {"pending": 4, "completed": 3}
    assert _deltas() > 0
    assert _rollup() > 0
    assert _deltas() == 0
    after = (counters.org_totals(session=db, kind=CountKind.message, org_id=a.id),
             counters.org_totals(session=db, kind=CountKind.queue, org_id=b.id),
             counters.fleet_totals(session=db, kind=CountKind.message),
             overview.messages_per_day(session=db, actor=SYSTEM), overview.org_overview(session=db, actor=SYSTEM))
    assert after == before
    with get_engine().connect() as conn:
        assert counters_mismatch(conn) is None


def test_only_one_rollup_runs_at_a_time(db, make_org):
    org = make_org()
    messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="x", actor=SYSTEM)
    db.commit()
    with get_engine().begin() as first:
        assert counters.rollup(conn=first) >= 1
        # The first holds its transaction lock: the second skips instead of waiting.
        assert _rollup() == 0
    assert counters.org_totals(session=db, kind=CountKind.message, org_id=org.id) == {"pending": 1}


def test_deleting_an_organisation_takes_its_counts_out_of_the_fleet(db, make_org):
    keep, gone = make_org("Keep"), make_org("Gone")
    for org in (keep, gone):
        messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="x", actor=SYSTEM)
    db.commit()
    _rollup()
    db.delete(gone)
    db.commit()
    assert counters.fleet_totals(session=db, kind=CountKind.message) == {"pending": 1}
    _rollup()
    with get_engine().begin() as conn:
        assert counters.drop_zero_rows(conn=conn) >= 1
        left = conn.execute(text("SELECT DISTINCT org_id FROM status_counts WHERE kind = 'message'")).scalars()
        assert set(left) == {keep.id, counters.FLEET}
