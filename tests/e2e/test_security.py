"""Acceptance in Chromium: events rewritten on the wire reach nothing they may not, and logout ends every tab.

A real page's socket is tapped: after its own first event, the crafted ones follow on the same socket,
as a browser extension or a proxy would send them. Four attackers: an anonymous tab, a member, another
organisation's owner, a tab logged out elsewhere. Targets: the overview, the session and its QR,
history, a message, the queue, the audit log and the settings."""

from __future__ import annotations

import base64
import json
import re
import time

from playwright.sync_api import Browser, Page, expect

from fleet_dashboard.integrations import qr
from tests.security.catalog import event_handlers
from tests.support.browser import at, login
from tests.support.server import AppServer
from tests.support.wire import NAMESPACE
from tests.support.world import Victim, audit_rows, build_victim

# Page-reading handlers of every data page, and the background watchers behind them.
TARGETS = ("AdminState.load", "AdminState.watch", "AdminState.enter_org", "ConnectState.load", "ConnectState.watch",
           "HistoryState.load", "HistoryState.watch", "HistoryState.export_csv", "MessageState.load",
           "MessageState.watch", "QueueState.load", "QueueState.watch", "AuditState.load", "SettingsState.load")
EVERYTHING = ("org", "body", "template", "qr", "hook", "ip", "audit", "phone", "key")
MEMBER_MAY_NOT_SEE = ("qr", "hook", "key", "ip", "audit")


class Tap:
    """What a page's socket carried, and crafted events waiting to ride along with its next event."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.pending: list[tuple[str, dict, str]] = []
        self.injected = 0

    def seen(self, since: int = 0) -> str:
        frames = self.received[since:]
        files = [base64.b64decode(m).decode("utf-8", "replace")
                 for f in frames for m in re.findall(r'"url": ?"data:[^;"]+;base64,([^"]+)"', f)]
        return "\n".join(frames + files)


def tap_socket(page: Page) -> Tap:
    """Forward the page's socket both ways, recording what the server sends and adding the crafted events."""
    tap = Tap()

    def handle(ws) -> None:
        server = ws.connect_to_server()

        def inject() -> None:
            for name, payload, path in tap.pending:
                event = {"name": name, "payload": payload,
                         "router_data": {"pathname": path, "asPath": path, "query": {}}}
                server.send(f"42{NAMESPACE}," + json.dumps(["event", event], ensure_ascii=False))
            tap.injected += len(tap.pending)
            tap.pending = []

        def to_server(message) -> None:
            server.send(message)
            if tap.pending and isinstance(message, str) and message.startswith("42"):
                inject()

        def to_page(message) -> None:
            tap.received.append(message if isinstance(message, str) else "")
            ws.send(message)
            # The page's hydrate rides in the connect packet: once the server has accepted it, follow it.
            if tap.pending and isinstance(message, str) and message.startswith(f"40{NAMESPACE}"):
                inject()

        ws.on_message(to_server)
        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/_event"), handle)
    return tap


def crafted(victim: Victim) -> list[tuple[str, dict, str]]:
    """The target handlers, naming the victim's rows and pages."""
    by_label = {h.label: h for h in event_handlers()}
    out = []
    for label in TARGETS:
        h = by_label[label]
        path = f"/admin/org/{victim.org.slug}" if label == "AdminState.enter_org" else h.page(str(victim.message_id))
        out.append((h.full_name, {}, path))
    retry = by_label["QueueState.retry"]
    out.append((retry.full_name, {"notification_id": str(victim.rows["unknown"])}, retry.page()))
    return out


def fire(page: Page, tap: Tap, victim: Victim) -> int:
    """Queue the crafted events, make the page send an event of its own, and wait until the socket is quiet."""
    mark = len(tap.received)
    tap.pending = crafted(victim)
    page.reload()
    deadline, last = time.monotonic() + 20, -1
    while time.monotonic() < deadline:
        page.wait_for_timeout(1500)
        if tap.injected and len(tap.received) == last:
            break
        last = len(tap.received)
    assert tap.injected, "the crafted events never went out"
    return mark


def assert_nothing_leaked(page: Page, tap: Tap, victim: Victim, kinds: tuple[str, ...], since: int) -> None:
    seen = tap.seen(since)
    leaked = {k: victim.markers[k] for k in kinds if victim.markers[k] in seen}
    assert not leaked, f"reached the browser: {leaked}"
    assert qr.qr_data_uri(victim.markers["qr"]) not in seen, "the victim's pairing QR reached the browser"
    body = page.locator("body").inner_text()
    assert not [k for k in kinds if victim.markers[k] in body]


def test_an_anonymous_tab_crafting_events_reaches_nothing(page: Page, app_server: AppServer) -> None:
    victim = build_victim(app_server)
    before = victim.snapshot(app_server)
    tap = tap_socket(page)
    page.goto("/login")
    mark = fire(page, tap, victim)
    expect(page).to_have_url(re.compile(r"/login"))
    assert_nothing_leaked(page, tap, victim, EVERYTHING, mark)
    assert victim.snapshot(app_server) == before


def test_another_organisations_owner_crafting_events_reaches_nothing(page: Page, app_server: AppServer) -> None:
    victim = build_victim(app_server)
    before = victim.snapshot(app_server)
    intruder = app_server.owner()
    tap = tap_socket(page)
    login(page, intruder)
    page.goto("/history")
    mark = fire(page, tap, victim)
    assert_nothing_leaked(page, tap, victim, EVERYTHING, mark)
    assert victim.snapshot(app_server) == before
    expect(page.get_by_test_id("sidebar")).to_contain_text(intruder.org_name)
    assert {d["action"] for d in audit_rows(app_server, "access_denied", intruder.user_id)} >= {"overview"}


def test_a_member_crafting_events_reaches_no_secret(page: Page, app_server: AppServer) -> None:
    victim = build_victim(app_server)
    before = victim.snapshot(app_server)
    tap = tap_socket(page)
    login(page, victim.member)
    page.goto("/connect")
    expect(page.get_by_test_id("session-status")).to_be_visible()
    mark = fire(page, tap, victim)
    assert_nothing_leaked(page, tap, victim, MEMBER_MAY_NOT_SEE, mark)
    assert "_download" not in tap.seen(mark), "a member exported the messages"
    expect(page.get_by_role("img", name="رمز QR لربط واتساب")).to_have_count(0)
    after = victim.snapshot(app_server)
    assert after == before, "nothing a member crafted here may change anything"
    denied = {d["action"] for d in audit_rows(app_server, "access_denied", victim.member.user_id)}
    assert {"overview", "audit", "export", "retry_unknown"} <= denied, denied


def test_logout_in_one_tab_ends_the_other_tabs_and_a_copied_cookie(browser: Browser, app_server: AppServer,
                                                                   page: Page) -> None:
    victim = build_victim(app_server)
    before = victim.snapshot(app_server)
    login(page, victim.owner, path="/login?next=/connect")
    expect(page.get_by_role("img", name="رمز QR لربط واتساب")).to_be_visible()  # qr_pending, as the owner
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "fd_session")

    second = page.context.new_page()  # another tab of the same browser
    tap = tap_socket(second)
    second.goto("/queue")
    expect(second.get_by_test_id("queue-row").first).to_be_visible()
    copied = browser.new_context(base_url=app_server.base_url, locale="ar-EG")
    try:
        copied.add_cookies([{"name": "fd_session", "value": token, "url": app_server.base_url}])
        thief = copied.new_page()
        thief.goto("/history")
        expect(thief.get_by_test_id("message-row").first).to_be_visible()  # the copy works until logout

        page.get_by_test_id("sidebar").get_by_role("button", name="تسجيل الخروج").click()
        expect(page).to_have_url(at("/login"))

        # The other tab's next event -- crafted ones included -- is refused, and it lands on the login page.
        mark = fire(second, tap, victim)
        expect(second).to_have_url(re.compile(r"/login"))
        assert_nothing_leaked(second, tap, victim, EVERYTHING, mark)
        # The copied cookie in another browser is refused at its next event too.
        thief.get_by_test_id("sidebar").get_by_test_id("nav-queue").click()
        expect(thief).to_have_url(re.compile(r"/login"))
    finally:
        copied.close()
    assert victim.snapshot(app_server) == before
    refused = audit_rows(app_server, "session_refused", victim.owner.user_id)
    assert len(refused) >= 2 and {r["reason"] for r in refused} == {"ended"}, refused
