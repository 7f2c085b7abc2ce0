"""Item 5: a number's week (sent, unique recipients, who never replied, first contacts, failures by reason, opt-outs)
becomes green, amber or red with its reasons; red alerts the owner once and halves the pace."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import health
from fleet_dashboard.notifications.guards import SLOW_FACTOR, Guards
from fleet_dashboard.notifications.throttle import SendThrottle
from tests.deliverability.conftest import scalar_rows


def _messages(org_id, rows: list[tuple[str, str, str | None]], days_ago: float = 1.0) -> None:
    """Write message rows as the worker would have: (recipient, status, error_code)."""
    with get_engine().begin() as conn:
        for phone, status, code in rows:
            conn.execute(text("""
                INSERT INTO whatsapp_messages (id, org_id, recipient_phone, message_type, message_body, status,
                                               error_code, created_at, sent_at)
                VALUES (:id, :org, :phone, 'text', 'hi', :status, :code, :at, :sent_at)
            """), {"id": uuid.uuid4(), "org": org_id, "phone": phone, "status": status, "code": code,
                   "at": utcnow() - timedelta(days=days_ago),
                   "sent_at": None if status == "failed" else utcnow() - timedelta(days=days_ago)})


def _replies(org_id, phones: list[str]) -> None:
    with get_engine().begin() as conn:
        for phone in phones:
            conn.execute(text("INSERT INTO whatsapp_inbound_messages (id, org_id, phone, message_body, "
                              "whatsapp_message_id) VALUES (:id, :org, :p, 'ok', :w)"),
                         {"id": uuid.uuid4(), "org": org_id, "p": phone, "w": uuid.uuid4().hex})


def _phone(i: int) -> str:
    return f"+2010{i:08d}"


def test_a_healthy_week_is_green_and_its_figures_add_up(db, make_org):
    org = make_org()
    # 30 recipients, each messaged twice (the second is not a first contact), every one replied.
    _messages(org.id, [(_phone(i), "delivered", None) for i in range(30)], days_ago=3)
    _messages(org.id, [(_phone(i), "read", None) for i in range(30)], days_ago=1)
    _replies(org.id, [_phone(i) for i in range(30)])
    with session_scope() as s:
        h = health.compute(session=s, org_id=org.id)
    figures = h.figures()
    assert (h.risk, h.reasons) == ("green", [])
    assert (figures["sent"], figures["unique_recipients"], figures["never_replied"]) == (60, 30, 0)
    assert (figures["first_contact_messages"], figures["first_contact_share"]) == (30, 0.5)
    assert figures["failure_rate"] == 0.0 and figures["opt_out_rate"] == 0.0


def test_failures_and_silent_first_contacts_turn_a_number_red_with_its_reasons(db, make_org, monkeypatch):
    org = make_org()
    _messages(org.id, [(_phone(i), "sent", None) for i in range(40)])
    _messages(org.id, [(_phone(100 + i), "failed", "send_failed") for i in range(10)])
    _messages(org.id, [(_phone(200 + i), "failed", "not_on_whatsapp") for i in range(4)])
    with get_engine().begin() as conn:  # two recipients sent STOP
        for i in range(2):
            conn.execute(text("INSERT INTO whatsapp_opt_outs (id, org_id, phone, keyword) "
                              "VALUES (:id, :org, :p, 'STOP')"), {"id": uuid.uuid4(), "org": org.id, "p": _phone(i)})
    with session_scope() as s:
        h = health.compute(session=s, org_id=org.id)
        before = health.record(session=s, org_id=org.id, health=h)
    codes = {r["code"]: r["level"] for r in h.reasons}
    assert h.risk == "red" and before == "green"
    assert codes == {"failure_rate": "amber", "not_on_whatsapp_rate": "amber", "opt_out_rate": "red",
                     "never_replied_share": "red", "first_contact_share": "red"}
    assert h.figures()["failures_by_reason"] == {"not_on_whatsapp": 4, "send_failed": 10}
    view = health.reasons_view(h.reasons)
    assert all(r["text"] and "{" not in r["text"] for r in view)
    # Red: one alert (an open incident), and the worker halves the pace.
    [(kind, reason)] = scalar_rows("SELECT kind, reason FROM sending_incidents WHERE org_id = :o AND closed_at "
                                   "IS NULL", o=org.id)
    assert (kind, reason) == ("risk", "risk_red")
    guards, throttle = Guards(enabled=True), SendThrottle(rate_per_minute=20, jitter_seconds=0)
    with session_scope() as s:
        guards.refresh(s, [org.id])
    guards.pace(throttle)
    assert throttle.interval(org.id) == throttle.interval() * SLOW_FACTOR
    # Recorded again while still red: still one incident. Green again: it ends.
    with session_scope() as s:
        health.record(session=s, org_id=org.id, health=h)
        health.record(session=s, org_id=org.id, health=health.Health())
    assert scalar_rows("SELECT count(*), count(closed_at) FROM sending_incidents WHERE org_id = :o",
                       o=org.id) == [(1, 1)]


def test_too_few_messages_are_not_judged(db, make_org):
    org = make_org()
    _messages(org.id, [(_phone(i), "failed", "send_failed") for i in range(5)])
    with session_scope() as s:
        assert health.compute(session=s, org_id=org.id).risk == "green"


def test_the_overview_shows_each_number_s_risk_and_every_open_incident(db, make_org):
    from fleet_dashboard.accounts.permissions import Actor
    from fleet_dashboard.deliverability import incidents, pauses
    from fleet_dashboard.stats import overview

    risky, calm = make_org("Risky Fleet"), make_org("Calm Fleet")
    _messages(risky.id, [(_phone(i), "failed", "send_failed") for i in range(30)])
    with session_scope() as s:
        health.record(session=s, org_id=risky.id, health=health.compute(session=s, org_id=risky.id))
        pauses.pause(session=s, org_id=calm.id, reason="temporary_ban", detail="ban")
    admin = Actor("super_admin")
    with session_scope() as s:
        rows = {r["name"]: r for r in overview.org_overview(session=s, actor=admin)}
        open_ = overview.open_incidents(session=s, actor=admin)
    assert (rows["Risky Fleet"]["risk"], rows["Calm Fleet"]["risk"]) == ("red", "green")
    assert sorted((i["org_name"], i["kind"]) for i in open_) == [("Calm Fleet", "paused"), ("Risky Fleet", "risk")]
    assert all(i["text"] for i in open_)
    import pytest

    from fleet_dashboard.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied), session_scope() as s:
        overview.open_incidents(session=s, actor=Actor("owner", risky.id))
    with session_scope() as s:
        assert [r["kind"] for r in incidents.banner_rows(session=s, org_id=calm.id)] == ["paused"]
