"""Audit rows read as Arabic sentences: every event has one, values sit isolated, links go to their pages, and no
English code, raw key:value or UUID reaches the page."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

from fleet_dashboard import strings
from fleet_dashboard.web.audit_text import FSI, PDI, Names, actor_name, reason_text, sentence

ALLOWED_LATIN = {"QR", "CSV"}


def _latin_outside_isolates(text: str) -> set[str]:
    bare = re.sub(f"{FSI}[^{PDI}]*{PDI}", "", text)
    return set(re.findall(r"[A-Za-z][A-Za-z_]*(?:\.[A-Za-z_]+)*", bare)) - ALLOWED_LATIN


def test_every_audit_event_has_a_sentence() -> None:
    assert set(strings.AUDIT_EVENTS) <= set(strings.AUDIT_SENTENCES)


def test_sentences_fill_their_values_and_link_what_they_name() -> None:
    names = Names(people_by_id={}, people_by_email={"mona@example.com": "منى إبراهيم"},
                  templates={"payment_reminder": "تذكير بالدفع"})
    message_id = str(uuid.uuid4())
    parts = sentence("message_sent", {"message_id": message_id, "recipient": "+201001234567", "via": "api"}, names)
    assert parts == [{"text": "أُرسلت ", "href": ""}, {"text": "رسالة", "href": f"/history/{message_id}"},
                     {"text": " إلى ", "href": ""}, {"text": "+201001234567", "href": "/conversations/%2B201001234567"},
                     {"text": ".", "href": ""}]
    assert sentence("template_updated", {"name": "payment_reminder", "template_id": message_id}, names) == [
        {"text": "عُدّل القالب ", "href": ""}, {"text": "«تذكير بالدفع»", "href": "/templates"},
        {"text": ".", "href": ""}]
    role = sentence("role_changed", {"email": "mona@example.com", "before": "member", "role": "owner"}, names)
    assert "".join(p["text"] for p in role) == "تغيّر دور منى إبراهيم من عضو إلى مالك."
    assert role[1] == {"text": "منى إبراهيم", "href": "/people"}
    hook = sentence("webhook_saved", {"url": "https://hooks.example.com/x", "events": ["message.status"]}, names)
    assert "".join(p["text"] for p in hook) == "حُفظ رابط الإشعارات https://hooks.example.com/x للأحداث: حالة الرسائل."


def test_no_english_outside_isolated_values_in_any_sentence() -> None:
    data = {"email": "a@example.com", "name": "order_ready", "recipient": "+201001234567", "phone": "+201001234567",
            "message_id": str(uuid.uuid4()), "role": "admin", "before": "member", "reason": "unlinked by a user",
            "keyword": "STOP", "rows": 3, "url": "https://x.example", "events": ["session.status"],
            "scopes": ["send", "read"], "timezone": "Africa/Cairo", "outcome": "failed", "page": "/settings",
            "status": "connected", "via": "dashboard", "credential": "api_key:" + str(uuid.uuid4())}
    for event in strings.AUDIT_SENTENCES:
        text = "".join(p["text"] if not p["href"] else FSI + p["text"] + PDI for p in sentence(event, data, Names()))
        assert not _latin_outside_isolates(text), (event, text)
        assert "{" not in text and "via" not in text, (event, text)


def test_reasons_are_arabic_or_left_out() -> None:
    assert reason_text("engine_crashed") == strings.error_text("engine_crashed").rstrip(".")
    assert reason_text("طلب العميل ذلك") == "طلب العميل ذلك"
    assert reason_text("unlinked by a user") == ""
    assert reason_text("websocket: close 1006") == ""


def test_the_actor_is_named() -> None:
    user = uuid.uuid4()
    names = Names(people_by_id={str(user): "منى إبراهيم"}, keys={"k1": "fleet-backend"})
    row = lambda actor_id=None, **data: SimpleNamespace(actor_id=actor_id, event_data=data)  # noqa: E731
    assert actor_name(row(user), names) == "منى إبراهيم"
    assert actor_name(row(credential="api_key:k1"), names) == f"مفتاح الواجهة البرمجية «{FSI}fleet-backend{PDI}»"
    assert actor_name(row(credential="service_role"), names) == strings.AUDIT_ACTOR_PLATFORM
    assert actor_name(row(credential="operator:root", via="cli"), names) == strings.AUDIT_ACTOR_OPERATOR
    assert actor_name(row(), names) == strings.AUDIT_SYSTEM_ACTOR
    assert actor_name(row(user, credential="super_admin:x", via="break_glass"), names) == "منى إبراهيم (دخول طارئ)"


def test_a_sentence_travels_in_its_row() -> None:
    from fleet_dashboard.web.audit_text import MAX_PARTS, as_fields

    parts = sentence("role_changed", {"email": "x@example.com", "before": "member", "role": "admin"}, Names())
    fields = as_fields(parts)
    assert len(fields) == 2 * MAX_PARTS and fields["h1"] == "/people" and fields["t7"] == ""
    assert "".join(fields[f"t{i}"] for i in range(MAX_PARTS)) == "".join(p["text"] for p in parts)
    long = [{"text": str(i), "href": ""} for i in range(MAX_PARTS + 3)]
    assert "".join(as_fields(long)[f"t{i}"] for i in range(MAX_PARTS)) == "".join(str(i) for i in range(MAX_PARTS + 3))
