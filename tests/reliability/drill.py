"""What every drill does around its outage: connected organisations draining a queue, tabs open on the dashboard,
and the checks a person would make afterwards (a reply, a receipt, a Connect click), each timed."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.support.browser import login
from tests.support.server import Account, AppServer

CUSTOMER = "+201005550001"
# A drill passes when each part works again within this many seconds of its dependency's return.
RECOVERY_SECONDS = 10.0
TEMPLATE = "drill_notice"


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> object:
    """Poll until `predicate()` is truthy (errors count as not yet: the database may be away); returns it."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Org:
    """A connected organisation of the drill: its owner and an API key."""

    account: Account
    api_key: str
    phone: str

    @property
    def id(self) -> uuid.UUID:
        return self.account.org_id


@dataclass
class Drill:
    """The app under drill and what the drill created in it."""

    server: AppServer
    orgs: list[Org] = field(default_factory=list)
    idle: Account | None = None  # an organisation nobody connected yet: its owner's Connect click
    figures: dict[str, float] = field(default_factory=dict)

    # ---- set-up ----
    def connected_orgs(self, count: int) -> list[Org]:
        """Organisations whose phones were paired before: the engines resume them; waits until all are connected."""
        from fleet_dashboard.accounts.permissions import SYSTEM
        from fleet_dashboard.integrations import api_keys
        from fleet_dashboard.whatsapp import sessions
        from fleet_dashboard.whatsapp.engine.simulator import jid_for

        for n in range(count):
            account = self.server.owner()
            phone = f"+20109{n:08d}"
            self.server.make_template(account.org_id, TEMPLATE, "تنبيه رقم {{n}}")
            with self.server.session() as s:
                row = sessions.get_or_create(session=s, org_id=account.org_id)
                row.enabled, row.whatsapp_id, row.phone_number = True, jid_for(phone), phone
                s.add(row)
                _, key = api_keys.create_key(session=s, org_id=account.org_id, name="drill", actor=SYSTEM)
            self.orgs.append(Org(account=account, api_key=key, phone=phone))
        wait_until(lambda: all(self.server.whatsapp_status(o.id)["status"] == "connected" for o in self.orgs), 60,
                   "every organisation connected")
        self.idle = self.server.owner()
        return self.orgs

    def enqueue(self, per_org: int) -> int:
        """`per_org` notifications for each organisation, each to its own number."""
        for k, org in enumerate(self.orgs):
            for i in range(per_org):
                self.server.enqueue(org.id, f"+2011{k:02d}{i:06d}", TEMPLATE, {"n": str(i)})
        return per_org * len(self.orgs)

    # ---- what the database says ----
    def sql(self, statement: str, **params) -> list:
        """Rows from the app's database; the test's own pooled connections die with a restarted server, so a
        failed read is tried once more on fresh ones."""
        for attempt in (1, 2):
            try:
                with self.server.engine.connect() as conn:
                    return list(conn.execute(text(statement), params))
            except OperationalError:
                if attempt == 2:
                    raise
                self.server.engine.dispose()
        return []

    def sent_count(self) -> int:
        return self.sql("SELECT count(*) FROM simulator_sent WHERE kind = 'message'")[0][0]

    def first_send_after(self, moment: datetime) -> float | None:
        """Seconds from `moment` to the first message the simulated network accepted after it."""
        row = self.sql("SELECT min(created_at) FROM simulator_sent WHERE kind = 'message' AND created_at > :t",
                       t=moment)[0][0]
        return (row - moment).total_seconds() if row is not None else None

    def wait_drained(self, total: int, timeout: float) -> None:
        wait_until(lambda: self.sql("SELECT count(*) FROM notification_queue WHERE status = 'completed'")[0][0]
                   >= total, timeout, f"all {total} notifications sent", interval=0.5)

    def assert_each_sent_once(self, total: int) -> None:
        """Nothing lost, nothing doubled: every notification completed, each number got exactly one message."""
        statuses = dict(self.sql("SELECT status, count(*) FROM notification_queue GROUP BY status"))
        assert statuses == {"completed": total}, f"queue after the drill: {statuses}"
        # The network's log holds the typing presence and the look-ups too: only its messages count here.
        per_number = self.sql("SELECT recipient_phone, count(*) FROM simulator_sent WHERE kind = 'message' "
                              "GROUP BY recipient_phone HAVING count(*) > 1")
        assert per_number == [], f"sent more than once: {per_number[:5]}"
        assert self.sent_count() == total
        bad = self.sql("SELECT status, count(*) FROM whatsapp_messages WHERE status NOT IN "
                       "('sent', 'delivered', 'read') GROUP BY status")
        assert bad == [], f"messages not sent: {bad}"

    # ---- tabs a person has open through the outage ----
    def open_tabs(self, browser: Browser) -> Tabs:
        org = self.orgs[0]
        tabs = Tabs(browser, self.server)
        tabs.conversation = tabs.open(org.account, f"/conversations/{CUSTOMER.replace('+', '%2B')}",
                                      lambda p: p.get_by_test_id("conversation-phone"))
        tabs.history = tabs.open(org.account, "/history",
                                 lambda p: p.get_by_role("heading", name="سجل الرسائل", level=1))
        assert self.idle is not None
        tabs.connect = tabs.open(self.idle, "/connect", lambda p: p.get_by_test_id("session-status"))
        expect(tabs.connect.get_by_test_id("session-status")).to_have_text("غير متصل")
        return tabs

    # ---- after the outage: what a person checks ----
    def check_live_paths(self, tabs: Tabs, since: float, *, budget: float = RECOVERY_SECONDS) -> dict[str, float]:
        """From `since` (the dependency's return, monotonic): a reply reaches the API and the conversation tab,
        a receipt the history tab, a Connect click the engine. Returns each delay; asserts each within budget."""
        org = self.orgs[0]
        # The newest message whose send is recorded: the history tab shows the newest 25 (a notification's row is
        # written when it is sent), and the drain goes on meanwhile (at most 15 more in 15 s at 60 a minute), so
        # the oldest one may have left the page by the time its receipt comes.
        wamid, recipient = self.sql("SELECT whatsapp_message_id, recipient_phone FROM whatsapp_messages "
                                    "WHERE org_id = :o AND whatsapp_message_id IS NOT NULL "
                                    "AND status IN ('sent', 'delivered') ORDER BY created_at DESC LIMIT 1",
                                    o=org.id)[0]
        figures: dict[str, float] = {}
        text_in = f"وصلت الرسالة {uuid.uuid4().hex[:6]}"
        results: dict[str, BaseException | None] = {}

        def simulate(name: str, action: str, **body) -> None:
            try:
                self.server.simulate(org.id, action, **body)
                figures[f"{name} accepted"] = time.monotonic() - since
                results[name] = None
            except BaseException as exc:  # noqa: BLE001  (reported below, on the test's thread)
                results[name] = exc

        threads = [threading.Thread(target=simulate, args=("reply", "inbound"),
                                    kwargs={"from": CUSTOMER, "text": text_in}),
                   threading.Thread(target=simulate, args=("receipt", "receipt"),
                                    kwargs={"whatsapp_message_id": wamid, "type": "read"})]
        for thread in threads:
            thread.start()
        tabs.connect.get_by_role("button", name="ربط الواتساب").click()
        status = tabs.connect.get_by_test_id("session-status")
        reply = tabs.conversation.get_by_test_id("conversation-item").filter(has_text=text_in)
        chip = tabs.history.get_by_test_id("message-row").filter(has_text=recipient).locator("[data-status]")
        # Each part is timed where it shows, not by a loop of the test's that a busy machine slows down: every tab
        # looks at itself every 100 ms and notes the wall-clock time it first sees its part; the API is polled
        # by a thread of its own.
        since_wall = time.time() - (time.monotonic() - since)
        seen_at: dict[str, float] = {}
        watched = {
            "connect click reached the engine": (tabs.connect, _TEXT_IS, ["session-status", "بانتظار مسح الرمز"]),
            "reply on the conversation tab": (tabs.conversation, _ITEM_HAS, ["conversation-item", text_in]),
            "receipt on the history tab": (tabs.history, _ROW_STATUS, ["message-row", recipient, "تمت القراءة"]),
        }

        def look(what: str) -> float | None:
            """The watcher's moment, installing it first if the tab has none (a navigation drops it)."""
            page, condition, args = watched[what]
            return page.evaluate(_watcher(condition), [what, args])

        for what in watched:
            with contextlib.suppress(Exception):
                look(what)

        def api_watch() -> None:
            end = time.monotonic() + budget + 5
            while time.monotonic() < end:
                with contextlib.suppress(Exception):
                    api = httpx.get(f"{self.server.base_url}/api/messages", params={"direction": "inbound"},
                                    timeout=5, headers={"Authorization": f"Bearer {org.api_key}",
                                                        "X-Org-Id": str(org.id)})
                    if api.status_code == 200 and any(m.get("message_body") == text_in
                                                      for m in api.json()["messages"]):
                        seen_at["reply in the API"] = time.time()
                        return
                time.sleep(0.2)

        api_thread = threading.Thread(target=api_watch)
        api_thread.start()
        deadline = time.monotonic() + budget + 5
        pending = [*watched, "reply in the API"]
        while pending and time.monotonic() < deadline:
            for what in watched:
                with contextlib.suppress(Exception):
                    if what not in seen_at and (at := look(what)):
                        seen_at[what] = at / 1000
            pending = [w for w in [*watched, "reply in the API"] if w not in seen_at]
            time.sleep(0.2)
        api_thread.join(30)
        pending = [w for w in [*watched, "reply in the API"] if w not in seen_at]
        figures.update({what: at - since_wall for what, at in seen_at.items()})
        for thread in threads:
            thread.join(30)
        for what, seconds in figures.items():
            print(f"   {what}: {seconds:.1f} s after the return")
        for what in pending:
            print(f"   {what}: not seen within {budget + 5:.0f} s of the return")
        for name, exc in results.items():
            assert exc is None, f"the {name} did not go through: {exc}"
        # What never showed fails here with its own message (these wait no longer: the deadline has passed).
        expect(status).to_have_text("بانتظار مسح الرمز", timeout=1)
        expect(reply).to_have_count(1, timeout=1)
        expect(chip).to_have_text("تمت القراءة", timeout=1)
        assert "reply in the API" not in pending, "the reply never reached GET /api/messages?direction=inbound"
        assert not pending, f"not seen within {budget + 5:.0f} s of the return: {list(pending)}"
        slow = {k: round(v, 1) for k, v in figures.items() if v > budget}
        assert not slow, f"later than {budget:.0f} s after the return: {slow}"
        self.figures.update(figures)
        return figures



# In-page watchers (tabs' own timers): `condition` is a function of `args` that is true once the part shows. It is
# spliced into the watcher's source (evaluated by the devtools protocol, so the page's CSP has no say).
def _watcher(condition: str) -> str:
    return f"""([name, args]) => {{
    window.__seen = window.__seen || {{}};
    window.__watching = window.__watching || {{}};
    if (!window.__watching[name]) {{
        window.__watching[name] = true;
        const seen = {condition};
        const timer = setInterval(() => {{
            try {{ if (seen(args)) {{ window.__seen[name] = Date.now(); clearInterval(timer); }} }} catch (e) {{}}
        }}, 100);
    }}
    return window.__seen[name] || null;
}}"""


_TEXT_IS = """([id, text]) => [...document.querySelectorAll(`[data-testid="${id}"]`)]
    .some(e => e.innerText.trim() === text)"""
_ITEM_HAS = """([id, text]) => [...document.querySelectorAll(`[data-testid="${id}"]`)]
    .some(e => e.innerText.includes(text))"""
_ROW_STATUS = """([id, text, status]) => [...document.querySelectorAll(`[data-testid="${id}"]`)]
    .some(r => r.innerText.includes(text) && (r.querySelector('[data-status]')?.innerText || '').trim() === status)"""


class Tabs:
    """Dashboard tabs, each in its own browser context (its own socket), signed in before the outage."""

    def __init__(self, browser: Browser, server: AppServer):
        self.browser, self.server = browser, server
        self.contexts: list[BrowserContext] = []
        self.conversation: Page
        self.history: Page
        self.connect: Page

    def open(self, account: Account, path: str, ready: Callable[[Page], Locator]) -> Page:
        context = self.browser.new_context(base_url=self.server.base_url, locale="ar-EG", timezone_id="Africa/Cairo",
                                           viewport={"width": 1280, "height": 900})
        self.contexts.append(context)
        page = context.new_page()
        login(page, account)
        page.goto(path)
        expect(ready(page)).to_be_visible()
        page.evaluate("window.__sameDocument = true")
        return page

    def same_documents(self) -> bool:
        """No tab reloaded: every update arrived live."""
        pages = (self.conversation, self.history, self.connect)
        return all(p.evaluate("window.__sameDocument === true") for p in pages)

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                context.close()


def utc_now() -> datetime:
    return datetime.now(UTC)
