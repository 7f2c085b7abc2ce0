"""The worker's batch SQL on real PostgreSQL: order, exclusive claims, outcomes and crash reclaim."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session, select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging.models import WhatsAppMessage, WhatsAppTemplate
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.claims import (
    Outcome,
    claim_batch,
    complete,
    mark_sending,
    reclaim_expired,
    release,
)
from fleet_dashboard.notifications.models import NotificationQueue


def _enqueue(db, org, n=1, **extra):
    items = [{"recipient": "+201001234567", "template_name": "greet", "variables": {"name": f"n{i}"}, **extra}
             for i in range(n)]
    rows = [r for r, _ in queue.enqueue_many(session=db, org_id=org.id, items=items, actor=SYSTEM)]
    db.commit()
    return rows


def _claim(org_ids, limit=100, lease=60.0, per_org=None):
    with get_engine().begin() as conn:
        return claim_batch(conn=conn, org_ids=org_ids, limit=limit, lease_seconds=lease, per_org_limit=per_org)


def _with_body(rows):
    for row in rows:
        row.body = row.template_body.replace("{{name}}", row.variables["name"])
    return rows


def test_claims_by_priority_then_schedule_and_never_early(db, org_tpl):
    org, _ = org_tpl
    now = utcnow()
    late = _enqueue(db, org, priority=5, scheduled_for=now - timedelta(minutes=1))[0]
    early = _enqueue(db, org, priority=5, scheduled_for=now - timedelta(minutes=5))[0]
    urgent = _enqueue(db, org, priority=1)[0]
    future = _enqueue(db, org, priority=0, scheduled_for=now + timedelta(hours=1))[0]
    claimed = _claim([org.id])
    assert [c.id for c in claimed] == [urgent.id, early.id, late.id]
    db.expire_all()
    assert db.get(NotificationQueue, future.id).status == "pending"
    assert {db.get(NotificationQueue, c.id).status for c in claimed} == {"processing"}
    assert claimed[0].template_body == "Hi {{name}}" and claimed[0].variables == {"name": "n0"}


def test_claims_only_the_given_organisations_and_caps_per_organisation(db, org_tpl, make_org):
    org, _ = org_tpl
    other = make_org(name="Other")
    _enqueue(db, org, n=5)
    assert _claim([other.id]) == []
    assert len(_claim([org.id], per_org=2)) == 2
    assert len(_claim([org.id], per_org=2)) == 2


def test_two_concurrent_claims_never_take_the_same_row(db, org_tpl):
    org, _ = org_tpl
    _enqueue(db, org, n=30)
    engine = get_engine()
    with engine.connect() as a, engine.connect() as b:
        first = claim_batch(conn=a, org_ids=[org.id], limit=20, lease_seconds=60)
        # a has not committed: its rows stay locked, so b skips them instead of waiting.
        second = claim_batch(conn=b, org_ids=[org.id], limit=20, lease_seconds=60)
        a.commit()
        b.commit()
    assert len(first) == 20 and len(second) == 10
    assert not {c.id for c in first} & {c.id for c in second}


def test_outcomes_sent_retry_failed_release(db, org_tpl):
    org, tpl = org_tpl
    rows = _enqueue(db, org, n=4, max_attempts=2)
    claimed = _with_body(_claim([org.id]))
    with get_engine().begin() as conn:
        allowed = mark_sending(conn=conn, rows=claimed)
    assert allowed == {c.message_id for c in claimed}
    retry_at = utcnow() + timedelta(seconds=90)
    sent, retry, failed, release = claimed
    with get_engine().begin() as conn:
        changed = complete(conn=conn, outcomes=[
            Outcome(queue_id=sent.id, message_id=sent.message_id, kind="sent", whatsapp_message_id="W1"),
            Outcome(queue_id=retry.id, message_id=retry.message_id, kind="retry", error="boom", retry_at=retry_at),
            Outcome(queue_id=failed.id, message_id=failed.message_id, kind="failed", error="opted out"),
            Outcome(queue_id=release.id, message_id=release.message_id, kind="release"),
        ])
    assert {r.status for r in changed} == {"sent", "queued", "failed"}
    db.expire_all()
    q = {r.id: db.get(NotificationQueue, r.id) for r in rows}
    assert (q[sent.id].status, q[sent.id].attempts, q[sent.id].whatsapp_message_id) == ("completed", 1, "W1")
    assert q[retry.id].status == "pending" and q[retry.id].attempts == 1
    assert abs((q[retry.id].scheduled_for - retry_at).total_seconds()) < 1
    assert (q[failed.id].status, q[failed.id].error_message) == ("failed", "opted out")
    assert (q[release.id].status, q[release.id].attempts) == ("pending", 0)
    msg = db.get(WhatsAppMessage, sent.message_id)
    assert (msg.status, msg.message_body, msg.whatsapp_message_id) == ("sent", "Hi n0", "W1")
    assert msg.sent_at is not None and q[sent.id].message_id == msg.id
    assert db.get(WhatsAppTemplate, tpl.id).usage_count == 1


def test_reclaim_retries_unstarted_rows_and_parks_started_ones_as_unknown(db, org_tpl):
    org, _ = org_tpl
    _enqueue(db, org, n=3)
    claimed = _with_body(_claim([org.id], lease=60))
    started, not_started = claimed[:2], claimed[2]
    with get_engine().begin() as conn:
        mark_sending(conn=conn, rows=started)
        conn.execute(text("UPDATE notification_queue SET lease_expires_at = now() - interval '1 second'"))
    # Simulate a worker killed in the send call: rows stay processing, messages stay sending.
    with get_engine().begin() as conn:
        count, unknown = reclaim_expired(conn=conn)
    assert count == 3 and {r.id for r in unknown} == {c.message_id for c in started}
    with Session(get_engine()) as s:
        status = {r.id: r for r in s.exec(select(NotificationQueue))}
        assert status[not_started.id].status == "pending" and status[not_started.id].attempts == 0
        for c in started:
            assert status[c.id].status == "unknown" and "may have the message" in status[c.id].error_message
            assert s.get(WhatsAppMessage, c.message_id).status == "unknown"
    with get_engine().begin() as conn:
        assert reclaim_expired(conn=conn) == (0, [])


def test_mark_refuses_rows_whose_lease_ran_out(db, org_tpl):
    org, _ = org_tpl
    _enqueue(db, org, n=1)
    claimed = _with_body(_claim([org.id], lease=1.0))
    with get_engine().begin() as conn:
        assert mark_sending(conn=conn, rows=claimed, margin_seconds=5.0) == set()
        assert conn.execute(text("SELECT count(*) FROM whatsapp_messages")).scalar() == 0


def test_release_hands_back_unstarted_rows_and_queues_their_messages_again(db, org_tpl):
    org, _ = org_tpl
    _enqueue(db, org, n=2)
    claimed = _with_body(_claim([org.id]))
    # The worker marked the first sending, then lost the database before it sent anything.
    with get_engine().begin() as conn:
        mark_sending(conn=conn, rows=claimed[:1])
    with get_engine().begin() as conn:
        assert release(conn=conn, queue_ids=[c.id for c in claimed],
                       leases=[c.lease_expires_at for c in claimed]) == 2
    with Session(get_engine()) as s:
        rows = {r.id: r for r in s.exec(select(NotificationQueue))}
        assert all((rows[c.id].status, rows[c.id].attempts, rows[c.id].lease_expires_at) == ("pending", 0, None)
                   for c in claimed)
        assert s.get(WhatsAppMessage, claimed[0].message_id).status == "queued"
    # Claimed again, the first row sends its queued message; nothing was counted as an attempt.
    again = _claim([org.id])
    assert {c.id for c in again} == {c.id for c in claimed}
    assert {c.message_status for c in again if c.id == claimed[0].id} == {"queued"}


def test_a_stale_claim_never_touches_a_row_another_worker_claimed_since(db, org_tpl):
    org, _ = org_tpl
    _enqueue(db, org, n=1)
    mine = _with_body(_claim([org.id], lease=0.2))
    with get_engine().begin() as conn:  # my lease ran out; a reclaim made the row pending, another worker took it
        conn.execute(text("UPDATE notification_queue SET status = 'pending', lease_expires_at = NULL"))
    theirs = _with_body(_claim([org.id]))
    assert [c.id for c in theirs] == [mine[0].id]
    with get_engine().begin() as conn:
        assert release(conn=conn, queue_ids=[mine[0].id], leases=[mine[0].lease_expires_at]) == 0
        assert mark_sending(conn=conn, rows=mine) == set()
        assert mark_sending(conn=conn, rows=theirs) == {theirs[0].message_id}
