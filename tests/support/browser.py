"""Steps several e2e tests share, written the way a person does them."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.support.server import Account


def login(page: Page, account: Account, *, path: str = "/login") -> None:
    """Sign in through the form and wait until the dashboard frame shows the user."""
    page.goto(path)
    page.get_by_label("البريد الإلكتروني").fill(account.email)
    page.get_by_label("كلمة المرور").fill(account.password)
    page.get_by_role("button", name="دخول").click()
    expect(page.get_by_test_id("sidebar").get_by_test_id("user-label")).to_be_visible()


def open_page(page: Page, nav_test_id: str) -> None:
    """Follow a sidebar link, as a person would."""
    page.get_by_test_id("sidebar").get_by_test_id(nav_test_id).click()


def at(path: str, query: str = "") -> re.Pattern[str]:
    """A URL matcher for a route; the static host may add a trailing slash."""
    tail = re.escape("?" + query) if query else ""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?{tail}$")


def watch_texts(page: Page, test_id: str):
    """Record every text an element shows from now on (short-lived states included); call to read them."""
    page.evaluate(
        """(id) => {
            window.__seen = window.__seen || {};
            const seen = window.__seen[id] = [];
            const observer = new MutationObserver(() => {
                const el = document.querySelector(`[data-testid="${id}"]`);
                const text = el ? el.textContent : null;
                if (text !== null && seen[seen.length - 1] !== text) seen.push(text);
            });
            observer.observe(document.body, {subtree: true, childList: true, characterData: true});
        }""",
        test_id,
    )
    return lambda: page.evaluate("(id) => window.__seen[id]", test_id)


def connect_whatsapp(page: Page, server, account: Account, phone: str = "+201009998887") -> None:
    """Pair the account's organisation through the Connect page and a simulated scan."""
    page.goto("/connect")
    page.get_by_role("button", name="ربط الواتساب").click()
    expect(page.get_by_role("img", name="رمز QR لربط واتساب")).to_be_visible()
    server.simulate(account.org_id, "scan", phone=phone, name="هاتف الاختبار")
    expect(page.get_by_test_id("session-status")).to_have_text("متصل")


def pick_option(page: Page, label: str, option: str) -> None:
    """Choose an option in a labelled select."""
    page.get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def craft_events(page: Page, rewrites: dict[str, tuple[str, dict]], *, once: bool = False) -> list[str]:
    """Rewrite outgoing Reflex events on the wire: `handler` -> (other handler, payload), as an attacker would.

    Call before the page opens its socket. `rewrites` is read live, so a test may add entries later; with
    `once`, each entry is used for one event and then dropped. Returns the names of the events rewritten."""
    done: list[str] = []

    def handle(ws) -> None:
        server = ws.connect_to_server()

        def forward(message) -> None:
            if isinstance(message, str) and message.startswith("42"):
                head, _, body = message.partition(",")
                frame = json.loads(body)
                event = frame[1] if len(frame) > 1 and isinstance(frame[1], dict) else {}
                state, _, handler = str(event.get("name", "")).rpartition(".")
                if handler in rewrites:
                    new_handler, payload = rewrites.pop(handler) if once else rewrites[handler]
                    event["name"], event["payload"] = f"{state}.{new_handler}", payload
                    done.append(new_handler)
                    message = head + "," + json.dumps(frame, ensure_ascii=False)
            server.send(message)

        ws.on_message(forward)

    page.route_web_socket(re.compile(r"/_event"), handle)
    return done


def search_overview(page: Page, text: str) -> None:
    """On the super_admin's overview, search for an organisation by name or slug: the shared live app holds more
    organisations than the first page shows."""
    page.locator("#admin-search").fill(text)
    page.get_by_test_id("admin-search-apply").click()
