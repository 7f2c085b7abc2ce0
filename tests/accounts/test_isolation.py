"""Service-level tenancy: a second organisation's rows are invisible through every org-scoped service."""

import pytest

from fleet_dashboard.accounts import audit
from fleet_dashboard.accounts.permissions import SYSTEM, Actor
from fleet_dashboard.core.errors import NotFound
from fleet_dashboard.messaging import messages, templates
from fleet_dashboard.notifications import queue
from fleet_dashboard.stats import counters


def test_templates_are_scoped_but_system_ones_are_shared(db, make_org):
    a, b = make_org("A"), make_org("B")
    mine = templates.create(session=db, org_id=a.id, name="welcome_a", message_template="hi {{name}}", actor=SYSTEM)
    db.commit()
    names_a = {t.name for t in templates.list_for_org(session=db, org_id=a.id)}
    names_b = {t.name for t in templates.list_for_org(session=db, org_id=b.id)}
    assert "welcome_a" in names_a and "welcome_a" not in names_b
    assert {"trial_welcome", "payment_reminder"} <= names_a & names_b

    with pytest.raises(NotFound):
        templates.get_for_org(session=db, org_id=b.id, template_id=mine.id)
    with pytest.raises(NotFound):
        templates.delete(session=db, org_id=b.id, template_id=mine.id, actor=SYSTEM)


def test_audit_is_scoped(db, make_org):
    a, b = make_org("A"), make_org("B")
    audit.record(session=db, org_id=a.id, event_type="login", event_data={"who": "a"})
    db.commit()
    rows_a, _ = audit.list_for_org(session=db, org_id=a.id, actor=SYSTEM)
    rows_b, _ = audit.list_for_org(session=db, org_id=b.id, actor=SYSTEM)
    assert [r.event_type for r in rows_a] == ["login"]
    assert rows_b == []


def test_messages_are_scoped(db, make_org):
    a, b = make_org("A"), make_org("B")
    message, _ = messages.create_message(session=db, org_id=a.id, recipient="+201001234567", text="hello",
                                          actor=SYSTEM)
    db.commit()
    rows_a, _ = messages.list_for_org(session=db, org_id=a.id)
    rows_b, _ = messages.list_for_org(session=db, org_id=b.id, search="+20100")
    assert [m.id for m in rows_a] == [message.id]
    assert rows_b == []
    with pytest.raises(NotFound):
        messages.get_for_org(session=db, org_id=b.id, message_id=message.id)


def test_queue_is_scoped(db, make_org):
    a, b = make_org("A"), make_org("B")
    row, _ = queue.enqueue(session=db, org_id=a.id, recipient="+201001234567", template_name="trial_welcome",
                           variables={"customer_name": "x", "company_name": "y", "plan_name": "p",
                                                               "expiry_date": "2026-12-31"}, actor=SYSTEM)
    db.commit()
    assert [n.id for n in queue.list_for_org(session=db, org_id=a.id)[0]] == [row.id]
    assert queue.list_for_org(session=db, org_id=b.id)[0] == []
    assert sum(counters.queue_counts(session=db, org_id=b.id).values()) == 0
    with pytest.raises(NotFound):
        queue.get_for_org(session=db, org_id=b.id, notification_id=row.id)
    with pytest.raises(NotFound):  # b's own owner, naming a's notification: it does not exist for them
        queue.cancel(session=db, org_id=b.id, notification_id=row.id, actor=Actor("owner", b.id))
    db.rollback()
    assert queue.get_for_org(session=db, org_id=a.id, notification_id=row.id).status == "pending"
