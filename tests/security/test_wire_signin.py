"""The sign-in form over the real socket, as a guessing script uses it: sixteen tabs at once, each spelling the
victim's address another way. Exactly the limit's number of guesses reach the password check; the rest are told,
in Arabic, how many seconds to wait; and the right password waits too."""

from __future__ import annotations

import re
import uuid

from fleet_dashboard.accounts.signin import login_identity
from tests.security.test_signin_limits import LIMIT, spellings
from tests.support.server import PASSWORD
from tests.support.wire import AUTH, Tab
from tests.support.world import audit_rows


def test_sixteen_parallel_guesses_in_sixteen_spellings_reach_the_password_check_five_times(app):
    victim = app.owner()
    local, domain = victim.email.split("@")
    tabs = [Tab(app.base_url) for _ in range(16)]
    try:
        for tab in tabs:
            tab.hydrate("/login")
        for tab, form in zip(tabs, spellings(local, domain, 16), strict=True):
            tab.emit(f"{AUTH}.login", {"form_data": {"email": form, "password": "wrong-guess-9"}}, path="/login")
        for tab in tabs:
            tab.drain(quiet=1.0, limit=60)
        failed = [r for r in audit_rows(app, "login_failed") if login_identity(r["email"]) == victim.email]
        assert len(failed) == LIMIT, f"{len(failed)} of 16 parallel guesses reached the password check"
        errors = [tab.delta_value(AUTH, "login_error") or "" for tab in tabs]
        waits = [tab.delta_value(AUTH, "login_retry_seconds") or 0 for tab in tabs]
        locked = [(e, w) for e, w in zip(errors, waits, strict=True) if w]
        assert len(locked) == 16 - LIMIT, errors
        assert all(re.search(rf"\b{w}\b", e) and "ثانية" in e for e, w in locked), locked
        # The right password now waits as well: the guesses spent this address's allowance for the account.
        late = tabs[0]
        mark = len(late.updates())
        late.send(f"{AUTH}.login", {"form_data": {"email": victim.email, "password": PASSWORD}}, path="/login")
        assert not any("token" in str(u.get("delta", {}).get(AUTH, {})) for u in late.updates()[mark:])
        assert late.delta_value(AUTH, "login_retry_seconds") > 0
    finally:
        for tab in tabs:
            tab.close()


def test_a_script_sending_the_lock_countdown_again_and_again_runs_one_loop(app):
    """The countdown is a background handler anyone may send (the login form is anonymous): sent a hundred times by
    a locked-out tab, it must not start a hundred loops, each taking the tab's lock and pushing every second."""
    countdown = f"{AUTH}.login_countdown"
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        for _ in range(LIMIT + 1):
            tab.send(f"{AUTH}.login", {"form_data": {"email": email, "password": "wrong-guess-8"}}, path="/login")
        assert tab.delta_value(AUTH, "login_retry_seconds") > 0, "the tab was not locked out"
        for _ in range(100):
            tab.emit(countdown, {}, path="/login")
        mark = len(tab.updates())
        tab.drain(quiet=4.0, limit=4.0)
        ticks = [u for u in tab.updates()[mark:] if any(k.startswith("login_retry_seconds")
                                                       for k in (u.get("delta") or {}).get(AUTH, {}))]
        assert len(ticks) <= 6, f"{len(ticks)} countdown updates in 4 s: more than one loop runs"
        assert ticks, "the countdown stopped counting"
    finally:
        tab.close()
