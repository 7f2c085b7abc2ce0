"""Messages: validation before anything is written, idempotency, opt-out, forward-only receipts, history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.errors import InvalidPhone, MissingVariables, NotFound, OptedOut
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging import messages, optouts, receipts, templates
from fleet_dashboard.messaging.models import WhatsAppMessage


def _count(db) -> int:
    return db.exec(select(func.count()).select_from(WhatsAppMessage)).one()


def _sent(db, org, wid: str, **extra) -> WhatsAppMessage:
    message, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="hi",
                                          **extra, actor=SYSTEM)
    message.status, message.whatsapp_message_id, message.sent_at = "sent", wid, utcnow()
    db.add(message)
    db.commit()
    return message


def test_text_message_is_written_pending_in_e164(db, make_org):
    org = make_org()
    message, created = messages.create_message(session=db, org_id=org.id, recipient="010 0123 4567",
                                                text="  hello  ", actor=SYSTEM)
    db.commit()
    assert created and message.status == "pending" and message.message_type == "text"
    assert message.recipient_phone == "+201001234567" and message.message_body == "hello"


def test_template_message_renders_values_as_plain_text(db, make_org):
    org = make_org()
    templates.create(session=db, org_id=org.id, name="greet", message_template="Hi {{name}}, {{code}}", actor=SYSTEM)
    message, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234567",
                                          template_name="greet",
                                          variables={"name": "{{code}}", "code": "7", "extra": "ignored"}, actor=SYSTEM)
    db.commit()
    assert message.message_body == "Hi {{code}}, 7"
    assert message.message_type == "template" and message.template_name == "greet"


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"recipient": "123", "text": "x"}, InvalidPhone, "123"),
    ({"recipient": "+201001234567", "template_name": "payment_reminder", "variables": {"customer_name": "A"}},
     MissingVariables, "amount"),
    ({"recipient": "+201001234567", "template_name": "no_such"}, NotFound, "no_such"),
])
def test_unsendable_messages_are_refused_and_nothing_is_written(db, make_org, kwargs, error, words):
    org = make_org()
    with pytest.raises(error) as info:
        messages.create_message(session=db, org_id=org.id, **kwargs, actor=SYSTEM)
    assert words in info.value.message
    db.rollback()
    assert _count(db) == 0


def test_opted_out_number_is_refused_until_it_opts_back_in(db, make_org):
    org = make_org()
    assert optouts.handle_inbound(session=db, org_id=org.id, phone="+201001234567", text="STOP") == "opted_out"
    db.commit()
    with pytest.raises(OptedOut) as info:
        messages.create_message(session=db, org_id=org.id, recipient="01001234567", text="x", actor=SYSTEM)
    assert info.value.code == "opted_out"
    db.rollback()
    other = make_org(name="Other")
    messages.create_message(session=db, org_id=other.id, recipient="01001234567", text="x", actor=SYSTEM)
    optouts.handle_inbound(session=db, org_id=org.id, phone="+201001234567", text="START")
    message, created = messages.create_message(session=db, org_id=org.id, recipient="01001234567", text="x",
                                                actor=SYSTEM)
    assert created and message.status == "pending"


def test_same_idempotency_key_returns_the_first_message(db, make_org):
    org = make_org()
    first, created = messages.create_message(session=db, org_id=org.id, recipient="+201001234567",
                                              text="one", idempotency_key="abc", actor=SYSTEM)
    db.commit()
    again, created_again = messages.create_message(session=db, org_id=org.id, recipient="+201001234567",
                                                    text="two", idempotency_key="abc", actor=SYSTEM)
    db.commit()
    assert created and not created_again and again.id == first.id and again.message_body == "one"
    assert _count(db) == 1


def test_receipts_only_move_forward_and_a_late_delivered_never_downgrades_read(db, make_org):
    org = make_org()
    message = _sent(db, org, "W-1")
    assert messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["W-1"], kind="read") == [
        message.id]
    db.commit()
    db.refresh(message)
    assert message.status == "read" and message.read_at is not None and message.delivered_at is not None
    read_at = message.read_at
    assert messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["W-1"],
                                   kind="delivered") == []
    db.commit()
    db.refresh(message)
    assert message.status == "read" and message.read_at == read_at


def test_delivered_then_read_sets_both_times(db, make_org):
    org = make_org()
    message = _sent(db, org, "W-2")
    messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["W-2"], kind="delivered")
    db.commit()
    db.refresh(message)
    assert message.status == "delivered" and message.delivered_at and message.read_at is None
    messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["W-2"], kind="read")
    db.commit()
    db.refresh(message)
    assert message.status == "read" and message.delivered_at <= message.read_at


def test_a_receipt_for_another_organisation_changes_nothing(db, make_org):
    org, other = make_org(), make_org(name="Other")
    message = _sent(db, org, "W-3")
    assert messages.apply_receipt(session=db, org_id=other.id, whatsapp_message_ids=["W-3"], kind="read") == []
    db.commit()
    db.refresh(message)
    assert message.status == "sent"
    receipts.clear()


def test_a_receipt_that_overtakes_the_sent_write_is_applied_when_it_lands(db, make_org):
    org = make_org()
    receipts.clear()
    messages.apply_receipt(session=db, org_id=org.id, whatsapp_message_ids=["W-early"], kind="delivered")
    message = _sent(db, org, "W-early")
    messages.replay_early_receipts(session=db, org_id=org.id, whatsapp_message_ids=["W-early"])
    db.commit()
    db.refresh(message)
    assert message.status == "delivered"
    assert not receipts.pending()


def test_history_pages_filters_and_searches_within_the_organisation(db, make_org):
    org, other = make_org(), make_org(name="Other")
    for i in range(5):
        messages.create_message(session=db, org_id=org.id, recipient=f"+2010012345{i:02d}", text=f"note {i}",
                                 actor=SYSTEM)
        db.commit()
    messages.create_message(session=db, org_id=other.id, recipient="+201001234500", text="note x", actor=SYSTEM)
    messages.create_message(session=db, org_id=org.id, recipient="+201001234599", text="50% off_now",
                             template_name=None, actor=SYSTEM)
    db.commit()
    seen, cursor = [], None
    while True:
        rows, cursor = messages.list_for_org(session=db, org_id=org.id, cursor=cursor, limit=2)
        seen += rows
        if cursor is None:
            break
    assert [m.message_body for m in seen] == ["50% off_now", *[f"note {i}" for i in reversed(range(5))]]
    found, _ = messages.list_for_org(session=db, org_id=org.id, search="% off_")
    assert [m.message_body for m in found] == ["50% off_now"]
    found, _ = messages.list_for_org(session=db, org_id=org.id, search="234503")
    assert [m.message_body for m in found] == ["note 3"]
    none, _ = messages.list_for_org(session=db, org_id=org.id, status="sent")
    assert none == []
    later, _ = messages.list_for_org(session=db, org_id=org.id, since=utcnow() + timedelta(minutes=1))
    assert later == []
    with pytest.raises(NotFound):
        messages.get_for_org(session=db, org_id=other.id, message_id=seen[0].id)
    assert messages.get_for_org(session=db, org_id=org.id, message_id=str(seen[0].id)).id == seen[0].id
