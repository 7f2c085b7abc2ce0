"""The permission matrix through the dashboard: every role fires every handler of every column, over the socket.

The cells come from accounts/permissions.py and the handlers from the app, so both stay in step by
themselves. A refused cell shows as an `access_denied` audit row naming the column; an allowed one as none."""

from __future__ import annotations

import pytest

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action
from tests.security.catalog import event_handlers
from tests.security.test_wire_attackers import payloads
from tests.support.server import PASSWORD
from tests.support.wire import Tab
from tests.support.world import audit_rows, build_victim


def _column_handlers():
    return [h for h in event_handlers() if h.rule is not None and h.rule.kind == "action"]


def test_every_column_has_a_dashboard_handler():
    covered = {h.rule.action for h in _column_handlers()}
    # retry_unknown is the retry handler on an `unknown` row: the service refuses it, not the declaration.
    assert covered | {Action.retry_unknown} == set(Action)


@pytest.mark.parametrize("role", permissions.ROLES)
def test_every_cell_of_a_role_holds_on_the_dashboard(app, role):
    victim = build_victim(app)
    person = {"owner": victim.owner, "admin": victim.admin, "member": victim.member}.get(role)
    if person is None:
        person = app.make_user("super_admin")
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(person.email, PASSWORD)
        admin_state = next(h for h in event_handlers() if h.label == "AdminState.enter_org")
        if role == "super_admin":  # into the victim organisation, read-only, as the overview's link does
            tab.send(admin_state.full_name, path=f"/admin/org/{victim.org.slug}")
        mark = len(tab.updates())
        handlers = _column_handlers()
        for h in handlers:
            for payload in payloads(h, victim):
                tab.emit(h.full_name, payload, path=h.page(str(victim.message_id)))
        tab.drain()
        assert not tab.sent_to_login(mark), "a signed-in person was sent to the login page"
    finally:
        tab.close()
    fired = {h.rule.action for h in handlers}
    expected = {a.value for a in fired if not permissions.can(role, a)}
    if permissions.can(role, Action.retry) and not permissions.can(role, Action.retry_unknown):
        expected.add(Action.retry_unknown.value)  # the service refuses it on the `unknown` row
    denied = {d["action"] for d in audit_rows(app, "access_denied", person.user_id)}
    assert denied == expected, f"{role}: refused {sorted(denied)}, the matrix says {sorted(expected)}"
    assert not audit_rows(app, "session_refused", person.user_id)
    queue = dict(victim.snapshot(app)["queue"])
    retried_unknown = queue[str(victim.rows["unknown"])] != "unknown"
    assert retried_unknown == permissions.can(role, Action.retry_unknown)
