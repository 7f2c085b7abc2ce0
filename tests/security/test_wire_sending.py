"""Over the real socket, by name: the sending page's handlers ("الإرسال": load, save_rules, resume), the connect page's
simulated scan and the alert banner, fired by a member, the read-only super_admin inside the organisation, another
organisation's owner and an anonymous tab, with crafted payloads. The victim's rules stay, its pause stays, its
simulated phone is never driven, and nothing of it reaches another organisation's tab."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.deliverability import pauses, rules
from fleet_dashboard.web.state.admin import AdminState
from fleet_dashboard.web.state.alerts import AlertState
from fleet_dashboard.web.state.connect import ConnectState
from fleet_dashboard.web.state.sending import SendingState
from tests.support.server import PASSWORD, _events_through
from tests.support.wire import Tab
from tests.support.world import audit_rows, build_victim

SENDING, CONNECT, ALERTS = SendingState.get_full_name(), ConnectState.get_full_name(), AlertState.get_full_name()


def crafted_forms(victim_org_id: str) -> list[dict]:
    """What a script would put in the rules form: another organisation named inside, junk, extremes."""
    return [{"org_id": victim_org_id, "daily_cap": "1", "typing": "on", "day_friday": "on"},
            {"daily_cap": "9" * 500, "quiet_start": "25:99", "quiet_end": "-1"},
            {"quiet_start": "00:00", "quiet_end": "00:01", **{f"day_{d}": "on" for d in (
                "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}},
            {"daily_cap": "", "warmup": ["on"], "typing": {"on": 1}}, {}]


def fire(tab: Tab, victim_org_id: str) -> None:
    """Every handler of the sending surface, each crafted payload, then the page's load again."""
    tab.emit(f"{SENDING}.load", {}, path="/sending")
    for form in crafted_forms(victim_org_id):
        tab.emit(f"{SENDING}.save_rules", {"form_data": form}, path="/sending")
    tab.emit(f"{SENDING}.save_rules", {"form_data": "not-a-form"}, path="/sending")
    tab.emit(f"{SENDING}.resume", {}, path="/sending")
    tab.emit(f"{SENDING}.resume", {"org_id": victim_org_id}, path="/sending")  # an argument it does not take
    tab.emit(f"{CONNECT}.simulate_scan", {}, path="/connect")
    tab.emit(f"{ALERTS}.load", {}, path="/sending")
    tab.drain(quiet=2.0, limit=60)


@pytest.fixture
def guarded_victim(app):
    """The victim organisation with rules of its own (a daily cap that works as a marker) and a paused number."""
    victim = build_victim(app)
    cap = random.randint(4000, 9000)
    with app.session() as s, _events_through(s):
        rules.set_rules(session=s, org_id=victim.org.id, actor=SYSTEM,
                        body={"daily_cap": cap, "quiet_hours": {"start": "23:17", "end": "06:43", "days_off": []}})
        pauses.pause(session=s, org_id=victim.org.id, reason="sends_failing", detail="victim-pause")
    return victim, cap


def pushed(tab: Tab, var: str) -> list:
    """Every value the server pushed to this tab for one var of the sending page."""
    return [value for update in tab.updates() for key, value in ((update.get("delta") or {}).get(SENDING) or {}).items()
            if key == var or key.startswith(var + "_rx_state_")]


def snapshot(app, org_id) -> tuple:
    with app.session() as s:
        return (rules.get_rules(session=s, org_id=org_id).view(),
                s.execute(text("SELECT count(*) FROM sending_pauses WHERE org_id = :o AND resumed_at IS NULL"),
                          {"o": org_id}).scalar(),
                s.execute(text("SELECT count(*) FROM simulator_commands WHERE org_id = :o"), {"o": org_id}).scalar())


@pytest.mark.parametrize("who", ["member", "super_admin"])
def test_a_member_and_the_super_admin_read_the_sending_page_and_change_nothing(app, guarded_victim, who):
    victim, cap = guarded_victim
    before = snapshot(app, victim.org.id)
    person = victim.member if who == "member" else app.make_user("super_admin")
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(person.email, PASSWORD)
        if who == "super_admin":  # into the victim organisation, read-only, as the overview's link does
            tab.send(f"{AdminState.get_full_name()}.enter_org", path=f"/admin/org/{victim.org.slug}")
        mark = len(tab.updates())
        fire(tab, str(victim.org.id))
        assert not tab.sent_to_login(mark), "a signed-in reader was sent to the login page"
        # It reads the page: the rules and the pause are what it may see.
        assert tab.delta_value(SENDING, "daily_cap") == str(cap)
        assert tab.delta_value(SENDING, "paused") is True
    finally:
        tab.close()
    assert snapshot(app, victim.org.id) == before
    denied = [d["action"] for d in audit_rows(app, "access_denied", person.user_id)]
    # Five well-formed rule forms (a string instead of a form is refused before it is a call, and so is the resume
    # with an argument it does not take), one resume and the simulated scan: each refused by name and on record.
    assert sorted(denied) == sorted(["sending"] * 6 + ["connect"]), denied


def test_another_organisations_owner_acts_on_its_own_number_only(app, guarded_victim):
    victim, cap = guarded_victim
    before = snapshot(app, victim.org.id)
    mine = app.make_org()
    intruder = app.make_user("owner", mine)
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(intruder.email, PASSWORD)
        fire(tab, str(victim.org.id))
        assert str(cap) not in pushed(tab, "daily_cap") and "23:17" not in pushed(tab, "quiet_start")
        assert "victim-pause" not in tab.text() and victim.markers["org"] not in tab.text()
    finally:
        tab.close()
    assert snapshot(app, victim.org.id) == before
    # The first crafted form changed the intruder's own rules, whatever organisation it named.
    with app.session() as s:
        assert rules.get_rules(session=s, org_id=mine.id).daily_cap == 1
    assert not audit_rows(app, "access_denied", intruder.user_id)


def test_an_anonymous_tab_is_sent_to_sign_in_and_changes_nothing(app, guarded_victim):
    victim, cap = guarded_victim
    before = snapshot(app, victim.org.id)
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/sending")
        fire(tab, str(victim.org.id))
        assert tab.sent_to_login(), "refused events send the tab to the login page"
        assert str(cap) not in pushed(tab, "daily_cap") and "victim-pause" not in tab.text()
    finally:
        tab.close()
    assert snapshot(app, victim.org.id) == before
