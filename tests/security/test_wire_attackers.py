"""Events crafted as attackers send them, against every handler of every state, over the real websocket.

Five attackers: an anonymous tab, a member, another organisation's owner, a tab whose person logged out
elsewhere, and an expired token. Each fires every registered handler (the app's own list) with payloads
naming the victim's rows. Nothing the victim holds reaches them, nothing changes, and each refusal is
audited; the `app` fixture fails the test on any server ERROR."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest

from fleet_dashboard.accounts import permissions
from fleet_dashboard.integrations import qr
from fleet_dashboard.web.access import NOBODY
from fleet_dashboard.web.state.connect import ConnectState
from tests.security.catalog import HandlerInfo, event_handlers
from tests.support.server import PASSWORD
from tests.support.wire import AUTH, Tab
from tests.support.world import Victim, audit_rows, build_victim, mint

CONNECT = ConnectState.get_full_name()
EVERYTHING = ("org", "body", "template", "qr", "hook", "ip", "audit", "phone", "key")
# What a member of the victim organisation may not see: its integration secrets, its audit trail, its QR.
MEMBER_MAY_NOT_SEE = ("qr", "hook", "key", "ip", "audit")


# Handlers that end the caller's session: fired after every other one.
ENDS_SIGNINS = ("AccountState.sign_out_everywhere", "AuthState.logout")
# Handlers that may check a password hash (slow on purpose): fired after the rest, so a long hash on a busy
# machine cannot end the drain before the refusals are written.
HASHES = ("AuthState.login", "AccountState.change_password", "InviteState.accept")


def firing_order(h: HandlerInfo) -> int:
    return 2 if h.label in ENDS_SIGNINS else 1 if h.label in HASHES else 0


def payloads(h: HandlerInfo, victim: Victim) -> list[dict[str, Any]]:
    """Arguments that name the victim's rows wherever the handler takes an id; plausible values elsewhere."""
    ids = victim.ids()
    base: dict[str, Any] = {}
    for name, hint, _required in h.params:
        if name in ids:
            base[name] = ids[name]
        elif name == "form_data":
            base[name] = {"email": victim.owner.email, "password": "not-the-password", "name": "stolen",
                          "url": "https://attacker.example.com/in", "secret": "s" * 20, "event_message.inbound": "on",
                          "scope_send": "on", "search": "", "date_from": "", "date_to": ""}
        elif hint is bool:
            base[name] = True
        elif name == "tz":
            base[name] = "Africa/Cairo"
        elif name == "vars":
            base[name] = {}
        else:
            base[name] = "template" if name == "mode" else "x"
    out = [base]
    if "notification_id" in base:  # the pending and failed rows too, for cancel and retry
        out += [{**base, "notification_id": str(victim.rows[s])} for s in ("pending", "failed")]
    return out


def blast(tab: Tab, victim: Victim) -> int:
    """Every registered handler, every payload, fired back to back; those that end the session last."""
    handlers = sorted(event_handlers(), key=firing_order)
    sent = 0
    for h in handlers:
        for payload in payloads(h, victim):
            tab.emit(h.full_name, payload, path=h.page(str(victim.message_id)))
            sent += 1
    tab.emit(f"{AUTH}.no_such_handler", {}, path="/")  # a name that exists nowhere
    tab.drain()
    return sent


def _downloads(tab: Tab, since: int) -> list[str]:
    """The files the server handed this tab (CSV exports), decoded."""
    out = []
    for frame in tab.frames[since:]:
        for url in re.findall(r'"url": ?"data:[^;"]+;base64,([^"]+)"', frame):
            out.append(base64.b64decode(url).decode("utf-8", "replace"))
    return out


def assert_sees_none(tab: Tab, victim: Victim, kinds: tuple[str, ...], since: int = 0,
                     may_export: bool = False) -> None:
    downloads = _downloads(tab, since)
    assert may_export or not downloads, "an export reached a caller without the export column"
    seen = "\n".join([*tab.frames[since:], *downloads])
    leaked = {k: victim.markers[k] for k in kinds if victim.markers[k] in seen}
    assert not leaked, f"leaked {leaked}"
    # The QR travels as an image: compare with the image of the victim's code.
    assert qr.qr_data_uri(victim.markers["qr"]) not in seen, "the victim's pairing QR reached this tab"


@pytest.fixture
def victim(app) -> Victim:
    return build_victim(app)


def test_an_anonymous_tab_reaches_nothing(app, victim):
    before = victim.snapshot(app)
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/connect")
        assert blast(tab, victim) > 90
        assert_sees_none(tab, victim, EVERYTHING)
        assert tab.events_named("_redirect"), "refused events send the tab to the login page"
    finally:
        tab.close()
    assert victim.snapshot(app) == before


def test_another_organisations_owner_reaches_nothing(app, victim):
    before = victim.snapshot(app)
    intruder = app.make_user("owner", app.make_org("مؤسسة المهاجم"))
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(intruder.email, PASSWORD)
        blast(tab, victim)
        assert_sees_none(tab, victim, EVERYTHING, may_export=True)  # their own organisation's messages
    finally:
        tab.close()
    assert victim.snapshot(app) == before
    # The only columns an owner lacks are the overview and running organisations: those are the refusals on record.
    denied = {d["action"] for d in audit_rows(app, "access_denied", intruder.user_id)}
    assert {"overview", "organizations"} <= denied
    assert denied <= {"overview", "organizations", "admin_overview", "admin_enter_org"}, denied


def test_a_member_reaches_no_secret_and_changes_only_what_a_member_may(app, victim):
    before = victim.snapshot(app)
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(victim.member.email, PASSWORD)
        blast(tab, victim)
        assert_sees_none(tab, victim, MEMBER_MAY_NOT_SEE)
    finally:
        tab.close()
    after = victim.snapshot(app)
    for kind in ("templates", "whatsapp", "webhooks", "keys"):
        assert after[kind] == before[kind], kind
    statuses = dict(after["queue"])
    assert statuses[str(victim.rows["unknown"])] == "unknown", "a member retried an unknown notification"
    # What a member may do went through: the pending row was cancelled and the failed one retried.
    assert statuses[str(victim.rows["pending"])] == "cancelled"
    assert statuses[str(victim.rows["failed"])] == "pending"
    denied = {d["action"] for d in audit_rows(app, "access_denied", victim.member.user_id)}
    refused = {a.value for a in permissions.Action if not permissions.can("member", a)}
    # Every column a member lacks was tried by some handler and refused with an audit row.
    assert refused <= denied | {"admin_overview", "admin_enter_org"}, refused - denied
    assert "retry_unknown" in denied


def test_a_logged_out_tab_and_a_copied_token_are_refused_and_audited(app, victim):
    before = victim.snapshot(app)
    first, second = Tab(app.base_url), Tab(app.base_url)
    try:
        first.hydrate("/login")
        token = first.login(victim.owner.email, PASSWORD)
        second.signin_token = token  # another tab of the same browser, or a copy of the cookie
        second.hydrate("/connect")
        second.send(f"{CONNECT}.load", path="/connect")
        assert second.delta_value(AUTH, "signed_in") is True
        first.send(f"{AUTH}.logout", path="/connect")
        mark = len(second.frames)
        blast(second, victim)
        assert_sees_none(second, victim, EVERYTHING, since=mark)
        assert second.events_named("_redirect")
    finally:
        first.close()
        second.close()
    assert victim.snapshot(app) == before
    refused = audit_rows(app, "session_refused", victim.owner.user_id)
    assert refused and refused[0]["reason"] == "ended"
    assert len(refused) == 1, "one row per tab and token, not one per event"


def test_an_expired_or_forged_token_is_refused_and_audited(app, victim):
    before = victim.snapshot(app)
    expired = mint(victim.admin, ttl_seconds=-60)
    forged = mint(victim.admin).rsplit(".", 1)[0] + ".AAAA"
    for token in (expired, forged):
        tab = Tab(app.base_url, signin_token=token)
        try:
            tab.hydrate("/connect")
            blast(tab, victim)
            assert_sees_none(tab, victim, EVERYTHING)
        finally:
            tab.close()
    assert victim.snapshot(app) == before
    assert [r["reason"] for r in audit_rows(app, "session_refused", victim.admin.user_id)] == ["expired"]


def test_undeclared_and_generated_handlers_are_refused_for_everyone(app, victim):
    """`setvar` (generated on every state) would set any var with a setter; it is refused even for an owner."""
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(victim.owner.email, PASSWORD)
        nobody = [h for h in event_handlers() if h.rule is NOBODY]
        assert nobody
        for h in nobody:
            tab.emit(h.full_name, {"var_name": "tz", "value": "Asia/Tokyo"}, path="/")
        tab.emit(f"{AUTH}.setvar", {"var_name": "timezone", "value": "Asia/Tokyo"}, path="/")
        tab.drain(quiet=1.0)
        assert '"Asia/Tokyo"' not in json.dumps(tab.updates())
    finally:
        tab.close()
    assert "refused event ConnectState.setvar: nobody may call it" in app.log_since(0)


def test_crafted_page_paths_do_not_widen_access(app, victim):
    """The browser names the page path itself: a member claiming the overview's path gets no overview."""
    other = app.make_org(f"OTHERORG{uuid.uuid4().hex[:6]}")
    tab = Tab(app.base_url)
    try:
        tab.hydrate("/login")
        tab.login(victim.member.email, PASSWORD)
        admin_state = next(h for h in event_handlers() if h.label == "AdminState.load").full_name
        tab.send(admin_state, path="/admin")
        tab.send(admin_state.rsplit(".", 1)[0] + ".enter_org", path=f"/admin/org/{other.slug}")
        tab.send(admin_state.rsplit(".", 1)[0] + ".watch", path="/admin", timeout=2)
        assert other.name not in tab.text()
    finally:
        tab.close()
