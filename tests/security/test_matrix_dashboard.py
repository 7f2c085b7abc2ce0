"""The permission matrix through the dashboard: every role fires every handler of every column, over the socket.

The cells come from accounts/permissions.py and the handlers from the app, so both stay in step by
themselves. A refused cell shows as an `access_denied` audit row naming the column; an allowed one as none."""

from __future__ import annotations

import time

import pytest

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action
from tests.security.catalog import event_handlers
from tests.security.test_wire_attackers import payloads
from tests.support.server import PASSWORD
from tests.support.wire import Tab
from tests.support.world import audit_rows, build_victim

# How long the server may take to work through the burst on a loaded machine (the whole suite on 2 cores). It bounds a
# wait for the outcome, not a figure: a passing run returns as soon as every row is written.
SETTLE_SECONDS = 120.0


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
    handlers = _column_handlers()
    fired = {h.rule.action for h in handlers}
    expected = {a.value for a in fired if not permissions.can(role, a)}
    if permissions.can(role, Action.retry) and not permissions.can(role, Action.retry_unknown):
        expected.add(Action.retry_unknown.value)  # the service refuses it on the `unknown` row

    def denied() -> set[str]:
        return {d["action"] for d in audit_rows(app, "access_denied", person.user_id)}

    def retried_unknown() -> bool:
        return dict(victim.snapshot(app)["queue"])[str(victim.rows["unknown"])] != "unknown"

    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(person.email, PASSWORD)
        admin_state = next(h for h in event_handlers() if h.label == "AdminState.enter_org")
        if role == "super_admin":  # into the victim organisation, read-only, as the overview's link does
            tab.send(admin_state.full_name, path=f"/admin/org/{victim.org.slug}")
        mark = len(tab.updates())
        for h in handlers:
            for payload in payloads(h, victim):
                tab.emit(h.full_name, payload, path=h.page(str(victim.message_id)))
        # The server works through the burst one event at a time. A quiet second and a half does not mean it is
        # done: on a loaded machine it read the audit while the organisations handlers (the middle of the burst)
        # still waited, and an owner seemed to pass them. Wait, tab open, for the refusals the matrix expects and
        # for the retry of the `unknown` row when the role may do it (the queue page's handlers come last).
        deadline = time.monotonic() + SETTLE_SECONDS
        tab.drain()
        while time.monotonic() < deadline and not (
                expected <= denied() and (retried_unknown() or not permissions.can(role, Action.retry_unknown))):
            tab.drain(quiet=0.5, limit=2.0)
        tab.drain()
        assert not tab.sent_to_login(mark), "a signed-in person was sent to the login page"
    finally:
        tab.close()
    assert denied() == expected, f"{role}: refused {sorted(denied())}, the matrix says {sorted(expected)}"
    assert not audit_rows(app, "session_refused", person.user_id)
    assert retried_unknown() == permissions.can(role, Action.retry_unknown)
