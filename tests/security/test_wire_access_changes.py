"""Over the real socket: a member watching /history is moved to another organisation and hears nothing more of
the old one; a deactivated person's copied token stays dead after a reactivation."""

from __future__ import annotations

import uuid

from fleet_dashboard.accounts import people, permissions, provisioning
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core import events
from fleet_dashboard.web.state.history import HistoryState
from tests.support.server import PASSWORD, AppServer, _events_through
from tests.support.wire import Tab
from tests.support.world import Victim, audit_rows, build_victim

HISTORY = HistoryState.get_full_name()
PLATFORM = permissions.platform("service_role")


def new_message(server: AppServer, victim: Victim, marker: str) -> None:
    """A message of the victim's organisation that the engine just settled, with its bus event."""
    message_id = server.make_message(victim.org.id, victim.markers["phone"], f"رسالة {marker}")
    with server.session() as s, _events_through(s):
        events.emit(s, {"type": "message.status", "org_id": str(victim.org.id), "message_id": str(message_id),
                        "status": "sent"})


def history_tab(server: AppServer, victim: Victim, email: str) -> Tab:
    """A tab on /history whose watcher has shown one new message live."""
    tab = Tab(server.base_url)
    tab.hydrate("/login")
    tab.login(email, PASSWORD)
    tab.send(f"{HISTORY}.load", path="/history", settle=1.0)
    alive = f"ALIVE{uuid.uuid4().hex[:8]}"
    for _ in range(3):  # the watcher subscribes just after load answers
        new_message(server, victim, alive)
        tab.drain(quiet=1.5, limit=6)
        if alive in tab.text():
            break
    assert alive in tab.text(), "the watcher never delivered a live update"
    return tab


def test_a_member_moved_to_another_organisation_hears_nothing_more_of_the_old_one(app):
    victim = build_victim(app)
    elsewhere = app.make_org()
    tab = history_tab(app, victim, victim.member.email)
    try:
        with app.session() as s:  # the SaaS's bridge: PUT the user under another organisation
            provisioning.upsert_user(session=s, actor=PLATFORM, org_id=elsewhere.id, user_id=victim.member.user_id,
                                     email=victim.member.email, role="member")
        mark = len(tab.frames)
        late = [f"LATE{uuid.uuid4().hex[:8]}" for _ in range(3)]
        for marker in late:
            new_message(app, victim, marker)
        tab.drain(quiet=2.0, limit=10)
        seen = "\n".join(tab.frames[mark:])
        assert not any(marker in seen for marker in late), "the old organisation's messages reached the tab"
        before = len(tab.updates())
        tab.send(f"{HISTORY}.load", path="/history")
        assert tab.sent_to_login(before), "the moved person's old session still works"
    finally:
        tab.close()
    refused = audit_rows(app, "session_refused", victim.member.user_id)
    assert refused and refused[0]["reason"] == "ended", refused


def test_a_deactivated_then_reactivated_persons_copied_token_stays_dead(app):
    victim = build_victim(app)
    owner = Actor(role="owner", org_id=victim.org.id, user_id=victim.owner.user_id)
    tab = history_tab(app, victim, victim.admin.email)
    stolen = tab.signin_token
    try:
        with app.session() as s:
            people.deactivate(session=s, actor=owner, org_id=victim.org.id, user_id=victim.admin.user_id)
        mark = len(tab.frames)
        late = f"LATE{uuid.uuid4().hex[:8]}"
        new_message(app, victim, late)
        tab.drain(quiet=2.0, limit=8)
        assert late not in "\n".join(tab.frames[mark:]), "the watcher kept pushing after the deactivation"
        with app.session() as s:
            people.reactivate(session=s, actor=owner, org_id=victim.org.id, user_id=victim.admin.user_id)
        copy = Tab(app.base_url, signin_token=stolen)  # the cookie someone copied while it was live
        try:
            copy.hydrate("/history")
            mark = len(copy.updates())
            copy.send(f"{HISTORY}.load", path="/history")
            assert copy.sent_to_login(mark), "the reactivation revived a copied token"
            assert victim.markers["body"] not in copy.text()
        finally:
            copy.close()
        again = Tab(app.base_url)  # the person signs in afresh and is back in
        try:
            again.hydrate("/login")
            again.login(victim.admin.email, PASSWORD)
            mark = len(again.updates())
            again.send(f"{HISTORY}.load", path="/history")
            assert not again.sent_to_login(mark) and victim.markers["body"] in again.text()
        finally:
            again.close()
    finally:
        tab.close()
    reasons = [r["reason"] for r in audit_rows(app, "session_refused", victim.admin.user_id)]
    assert reasons[:1] == ["deactivated"] and "ended" in reasons, reasons
