"""Sessions that end: a live watcher stops at its next batch on logout, deactivation, a password change or a
role change, and the refusal is audited; a new sign-in works again."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from fleet_dashboard.accounts import users
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core import events
from fleet_dashboard.web.state.connect import ConnectState
from tests.support.server import PASSWORD, AppServer, _events_through
from tests.support.wire import AUTH, Tab
from tests.support.world import Victim, audit_rows, build_victim

CONNECT = ConnectState.get_full_name()


def publish_status(server: AppServer, victim: Victim, marker: str) -> None:
    """A `session.status` event for the victim's organisation, as the engine would publish it."""
    with server.session() as s, _events_through(s):
        events.emit(s, {"type": "session.status", "org_id": str(victim.org.id), "status": "connected",
                        "display_name": marker, "phone_number": "+201001112223"})


def watching_tab(server: AppServer, victim: Victim) -> Tab:
    """An owner's tab on /connect whose watcher has shown one live update."""
    tab = Tab(server.base_url)
    tab.hydrate("/login")
    tab.login(victim.owner.email, PASSWORD)
    tab.send(f"{CONNECT}.load", path="/connect", settle=1.0)
    alive = f"ALIVE{uuid.uuid4().hex[:8]}"
    for _ in range(3):  # the watcher subscribes just after load answers
        publish_status(server, victim, alive)
        tab.drain(quiet=1.5, limit=6)
        if alive in tab.text():
            break
    assert alive in tab.text(), "the watcher never delivered a live update"
    return tab


def _logout_elsewhere(server: AppServer, victim: Victim, tab: Tab) -> None:
    other = Tab(server.base_url, signin_token=tab.signin_token)  # another tab of the same browser
    try:
        other.hydrate("/connect")
        other.send(f"{AUTH}.logout", path="/connect")
    finally:
        other.close()


def _deactivate(server: AppServer, victim: Victim, tab: Tab) -> None:
    with server.session() as s:
        users.set_active(session=s, user_id=victim.owner.user_id, active=False, actor=SYSTEM)


def _new_password(server: AppServer, victim: Victim, tab: Tab) -> None:
    with server.session() as s:
        users.set_password(session=s, user_id=victim.owner.user_id, password="another-horse-2", actor=SYSTEM)


def _demote(server: AppServer, victim: Victim, tab: Tab) -> None:
    from sqlalchemy import text

    with server.session() as s:
        s.execute(text("UPDATE users SET role = 'member' WHERE id = :u"), {"u": victim.owner.user_id})


@pytest.mark.parametrize("end, reason", [(_logout_elsewhere, "ended"), (_deactivate, "deactivated"),
                                         (_new_password, "ended"), (_demote, None)],
                         ids=["logout", "deactivation", "password", "role_change"])
def test_a_watcher_stops_at_its_next_batch(app, end: Callable, reason: str | None):
    victim = build_victim(app)
    tab = watching_tab(app, victim)
    try:
        end(app, victim, tab)
        mark = len(tab.frames)
        late = f"LATE{uuid.uuid4().hex[:8]}"
        publish_status(app, victim, late)
        tab.drain(quiet=2.0, limit=8)
        assert late not in "\n".join(tab.frames[mark:]), "the watcher kept pushing after the session changed"
        # The tab's next event is refused too (a role change leaves a member: the connect column is gone).
        before = len(tab.updates())
        answer = tab.send(f"{CONNECT}.connect", path="/connect")
        if reason is not None:
            assert tab.sent_to_login(before), answer
        else:
            assert any(e.get("name") == "_call_function" for u in answer for e in (u.get("events") or [])), answer
    finally:
        tab.close()
    if reason is not None:
        refused = audit_rows(app, "session_refused", victim.owner.user_id)
        assert refused and refused[0]["reason"] == reason, refused
    else:
        denied = audit_rows(app, "access_denied", victim.owner.user_id)
        assert [(d["action"], d["role"]) for d in denied] == [("connect", "member")]


def test_logout_ends_every_session_and_a_new_sign_in_works(app):
    victim = build_victim(app)
    tabs = [Tab(app.base_url) for _ in range(3)]
    try:
        tabs[0].hydrate("/login")
        token = tabs[0].login(victim.admin.email, PASSWORD)
        laptop = tabs[1]
        laptop.hydrate("/login")
        laptop.login(victim.admin.email, PASSWORD)  # a second sign-in (another computer)
        tabs[2].signin_token = token  # a copy of the first browser's cookie
        tabs[2].hydrate("/connect")
        tabs[0].send(f"{AUTH}.logout", path="/")
        for tab in tabs[1:]:
            tab.send(f"{CONNECT}.load", path="/connect")
            assert tab.events_named("_redirect"), "a session survived the logout"
        again = Tab(app.base_url)
        try:
            again.hydrate("/login")
            again.login(victim.admin.email, PASSWORD)
            mark = len(again.updates())
            again.send(f"{CONNECT}.load", path="/connect")
            assert again.delta_value(AUTH, "signed_in") is True and not again.sent_to_login(mark)
        finally:
            again.close()
    finally:
        for tab in tabs:
            tab.close()
    assert len(audit_rows(app, "session_refused", victim.admin.user_id)) == 2
    assert len(audit_rows(app, "logout", victim.admin.user_id)) == 1


def test_a_tab_reused_by_another_person_keeps_none_of_the_first_ones_rows(app):
    """A shared computer: one person's session ends, another signs in on the same tab and reloads it."""
    from fleet_dashboard.web.state.history import HistoryState

    victim = build_victim(app)
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(victim.owner.email, PASSWORD)
        tab.send(f"{HistoryState.get_full_name()}.load", path="/history")
        assert victim.markers["body"] in tab.text(), "the first person saw their history"
        with app.session() as s:
            users.end_signins(session=s, user_id=victim.owner.user_id)
        stranger = app.owner()
        mark = len(tab.frames)
        tab.login(stranger.email, PASSWORD)
        tab.hydrate("/history")  # a reload: the whole state tree comes back
        seen = "\n".join(tab.frames[mark:])
        assert victim.markers["body"] not in seen and victim.markers["phone"] not in seen
    finally:
        tab.close()
