"""A fuzz of every event handler's payload: wrong types, huge strings, unknown ids, junk forms.

Sent by a signed-in owner (so admitted payloads reach the handlers' own code) and by an anonymous tab.
Whatever arrives, the server logs no ERROR and no traceback (the `app` fixture), and keeps serving."""

from __future__ import annotations

import uuid
from typing import Any

from fleet_dashboard.web.state.connect import ConnectState
from tests.security.catalog import HandlerInfo, event_handlers
from tests.security.test_wire_attackers import firing_order
from tests.support.server import PASSWORD
from tests.support.wire import AUTH, Tab
from tests.support.world import build_victim

STRINGS = ["", "00000000-0000-0000-0000-000000000000", str(uuid.UUID(int=7)), "not-a-uuid",
           "'; DROP TABLE users; --", "../../../etc/passwd", "\u0000\u202e\ufeff", "<script>alert(1)</script>",
           "{{name}}", "٠١٢٣", "9999-12-31", "x" * 60_000, "y" * 70_000]
WRONG_TYPES: list[Any] = [12345, -1, 3.5, True, None, [], ["a", 1], {}, {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
                          ["x"] * 500]
FORM_KEYS = ("email", "password", "url", "secret", "name", "search", "date_from", "date_to", "scope_send",
             "event_message.inbound", "message_body")


def variants(h: HandlerInfo) -> list[dict[str, Any]]:
    """Missing and unknown arguments, then each argument replaced by every junk value in turn."""
    if h.label == "AuthState.login":  # failed sign-ins count towards the address's limit: a few only
        return [{}, {"form_data": None}, {"form_data": {"email": ["a"], "password": {"x": 1}}},
                {"form_data": {"email": "x" * 60_000, "password": "p"}}]
    base = {name: "x" for name, _hint, _required in h.params}
    out: list[dict[str, Any]] = [{}, {**base, "unexpected": 1}]
    for name, hint, _required in h.params:
        for value in [*STRINGS, *WRONG_TYPES]:
            out.append({**base, name: value})
        if hint is dict or getattr(hint, "__origin__", None) is dict:
            for key in FORM_KEYS:
                for value in ("", "x" * 60_000, ["list"], {"nested": "dict"}, 7, "javascript:alert(1)"):
                    out.append({**base, name: {key: value}})
    return out


def fire_all(tab: Tab, victim_message: str) -> int:
    handlers = sorted(event_handlers(), key=firing_order)
    sent = 0
    for h in handlers:
        for payload in variants(h):
            tab.emit(h.full_name, payload, path=h.page(victim_message))
            sent += 1
    tab.drain(quiet=2.0, limit=240)
    # The same socket still answers: the fuzz did not just end in a dropped connection.
    assert tab.send(f"{ConnectState.get_full_name()}.load", path="/connect"), "the tab's socket stopped answering"
    return sent


def test_fuzzing_every_handler_as_a_signed_in_owner_breaks_nothing(app):
    victim = build_victim(app)
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(victim.admin.email, PASSWORD)
        assert fire_all(tab, str(victim.message_id)) > 500
    finally:
        tab.close()
    # Still serving, and the admin's session (ended by the fuzzed logout at the very end) can sign in again.
    after = Tab(app.base_url)
    try:
        after.hydrate("/login")
        after.login(victim.admin.email, PASSWORD)
        after.send(f"{ConnectState.get_full_name()}.load", path="/connect")
        assert after.delta_value(AUTH, "signed_in") is True
    finally:
        after.close()
    assert "refused event" in app.log_since(0)


def test_fuzzing_every_handler_from_an_anonymous_tab_breaks_nothing(app):
    victim = build_victim(app)
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/")
        fire_all(tab, str(victim.message_id))
        assert victim.markers["org"] not in tab.text()
    finally:
        tab.close()
