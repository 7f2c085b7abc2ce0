"""Enqueueing: what a caller sees when it queues, repeats, cancels, retries and lists notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from fleet_dashboard.accounts.permissions import SYSTEM, Actor
from fleet_dashboard.core.errors import Conflict, InvalidPhone, MissingVariables, NotFound, ValidationError
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.stats import counters


def _count(db, org_id) -> int:
    return db.exec(select(func.count()).select_from(NotificationQueue)
                   .where(NotificationQueue.org_id == org_id)).one()


def test_enqueue_stores_e164_and_variables(db, org_tpl):
    org, tpl = org_tpl
    row, created = queue.enqueue(session=db, org_id=org.id, recipient="01001234567", template_name="greet",
                                 variables={"name": "Mona"}, actor=SYSTEM)
    db.commit()
    assert created and row.status == "pending" and row.recipient_phone == "+201001234567"
    assert row.template_id == tpl.id and row.message_data == {"name": "Mona"}
    assert row.priority == queue.DEFAULT_PRIORITY and row.max_attempts == 3


@pytest.mark.parametrize(("item", "error", "words"), [
    ({"recipient": "12", "template_name": "greet", "variables": {"name": "x"}}, InvalidPhone, "12"),
    ({"recipient": "+201001234567", "template_name": "greet", "variables": {}}, MissingVariables, "name"),
    ({"recipient": "+201001234567", "template_name": "nope", "variables": {}}, NotFound, "nope"),
    ({"recipient": "+201001234567", "template_name": "greet", "variables": {"name": "x"}, "priority": 11},
     ValidationError, "priority"),
])
def test_invalid_items_are_refused_at_once(db, org_tpl, item, error, words):
    org, _ = org_tpl
    with pytest.raises(error) as info:
        queue.enqueue(session=db, org_id=org.id, **item, actor=SYSTEM)
    assert words in info.value.message
    db.rollback()
    assert _count(db, org.id) == 0


def test_same_idempotency_key_queues_once(db, org_tpl):
    org, _ = org_tpl
    args = {"recipient": "+201001234567", "template_name": "greet", "variables": {"name": "A"},
            "idempotency_key": "invoice-42"}
    first, created = queue.enqueue(session=db, org_id=org.id, **args, actor=SYSTEM)
    db.commit()
    again, created_again = queue.enqueue(session=db, org_id=org.id, **{**args, "variables": {"name": "B"}},
                                         actor=SYSTEM)
    db.commit()
    assert created and not created_again and again.id == first.id
    assert _count(db, org.id) == 1


def test_idempotency_keys_are_per_organisation(db, org_tpl, make_org):
    org, _ = org_tpl
    other = make_org(name="Other")
    a, _ = queue.enqueue(session=db, org_id=org.id, recipient="+201001234567", template_name="greet",
                         variables={"name": "A"}, idempotency_key="k1", actor=SYSTEM)
    b, created = queue.enqueue(session=db, org_id=other.id, recipient="+201001234567",
                               template_name="payment_reminder", idempotency_key="k1",
                               variables={"customer_name": "A", "amount": "10", "due_date": "x"}, actor=SYSTEM)
    db.commit()
    assert created and a.id != b.id


def test_bulk_enqueue_is_one_request_with_repeats_collapsed(db, org_tpl):
    org, _ = org_tpl
    items = [{"recipient": f"+2010012345{i:02d}", "template_name": "greet", "variables": {"name": str(i)},
              "idempotency_key": f"k{i % 50}"} for i in range(100)]
    results = queue.enqueue_many(session=db, org_id=org.id, items=items, actor=SYSTEM)
    db.commit()
    assert len(results) == 100
    assert sum(created for _, created in results) == 50
    assert results[0][0].id == results[50][0].id
    assert _count(db, org.id) == 50


def test_bulk_is_all_or_nothing_and_names_the_bad_item(db, org_tpl):
    org, _ = org_tpl
    items = [{"recipient": "+201001234567", "template_name": "greet", "variables": {"name": "x"}}] * 3
    items = [*items, {"recipient": "+201001234567", "template_name": "greet", "variables": {}}]
    with pytest.raises(MissingVariables) as info:
        queue.enqueue_many(session=db, org_id=org.id, items=items, actor=SYSTEM)
    assert info.value.params["item"] == 3 and "item 3" in info.value.message
    db.rollback()
    assert _count(db, org.id) == 0


def test_bulk_caps_at_1000(db, org_tpl):
    org, _ = org_tpl
    with pytest.raises(ValidationError) as info:
        queue.enqueue_many(session=db, org_id=org.id, items=[{}] * 1001, actor=SYSTEM)
    assert info.value.code == "bulk_too_large"


def test_cancel_only_while_pending_and_retry_only_after_failure(db, org_tpl):
    org, _ = org_tpl
    row, _ = queue.enqueue(session=db, org_id=org.id, recipient="+201001234567", template_name="greet",
                           variables={"name": "x"}, actor=SYSTEM)
    db.commit()
    with pytest.raises(Conflict):
        queue.retry(session=db, org_id=org.id, notification_id=row.id, actor=SYSTEM)
    cancelled = queue.cancel(session=db, org_id=org.id, notification_id=row.id, actor=SYSTEM)
    db.commit()
    assert cancelled.status == "cancelled" and cancelled.completed_at is not None
    with pytest.raises(Conflict) as info:
        queue.cancel(session=db, org_id=org.id, notification_id=row.id, actor=SYSTEM)
    assert info.value.code == "not_cancellable"
    db.rollback()
    row.status, row.attempts, row.error_message = "unknown", 1, "worker died"
    db.add(row)
    db.commit()
    again = queue.retry(session=db, org_id=org.id, notification_id=row.id, actor=SYSTEM)
    db.commit()
    assert again.status == "pending" and again.attempts == 0 and again.error_message is None


def test_another_organisations_notification_is_not_found(db, org_tpl, make_org):
    org, _ = org_tpl
    other = make_org(name="Other")
    row, _ = queue.enqueue(session=db, org_id=org.id, recipient="+201001234567", template_name="greet",
                           variables={"name": "x"}, actor=SYSTEM)
    db.commit()
    with pytest.raises(NotFound):
        queue.get_for_org(session=db, org_id=other.id, notification_id=row.id)
    for action in (queue.cancel, queue.retry):  # the other organisation's own owner, naming this row
        with pytest.raises(NotFound):
            action(session=db, org_id=other.id, notification_id=row.id, actor=Actor("owner", other.id))
    with pytest.raises(NotFound):
        queue.get_for_org(session=db, org_id=org.id, notification_id="not-a-uuid")


def test_list_pages_newest_first_and_filters_by_status(db, org_tpl, make_org):
    org, _ = org_tpl
    other = make_org(name="Other")
    items = [{"recipient": "+201001234567", "template_name": "greet", "variables": {"name": str(i)},
              "scheduled_for": utcnow() + timedelta(hours=1)} for i in range(7)]
    queue.enqueue_many(session=db, org_id=org.id, items=items, actor=SYSTEM)
    queue.enqueue(session=db, org_id=other.id, recipient="+201001234567", template_name="payment_reminder",
                  variables={"customer_name": "A", "amount": "10", "due_date": "x"}, actor=SYSTEM)
    db.commit()
    seen, cursor = [], None
    while True:
        rows, cursor = queue.list_for_org(session=db, org_id=org.id, cursor=cursor, limit=3)
        seen += rows
        if cursor is None:
            break
    assert [r.message_data["name"] for r in seen] == [str(i) for i in reversed(range(7))]
    queue.cancel(session=db, org_id=org.id, notification_id=seen[0].id, actor=SYSTEM)
    db.commit()
    cancelled, _ = queue.list_for_org(session=db, org_id=org.id, status="cancelled")
    assert [r.id for r in cancelled] == [seen[0].id]
    counts = counters.queue_counts(session=db, org_id=org.id)
    assert counts["pending"] == 6 and counts["cancelled"] == 1 and counts["unknown"] == 0
