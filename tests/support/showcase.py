"""An organisation with something on every page (history, replies, queue, audit, people, keys, webhooks, opt-outs,
a failure on the home), its owner and a super_admin: what the RTL, "no English" and screenshot checks walk through."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.support.browser import search_overview
from tests.support.server import Account, AppServer, _events_through

# Every page a signed-in owner can open, with a test id that shows once its data is on screen.
OWNER_PAGES = {
    "/": "home-sent-today", "/connect": "session-status", "/send": "send-now", "/templates": "template-row",
    "/history": "message-row", "/queue": "queue-row", "/opt-outs": "opt-out-row", "/audit": "audit-row",
    "/settings": "key-row", "/people": "person-row", "/account": "account-email",
}
# The super_admin's own pages.
ADMIN_PAGES = {"/admin": "org-row", "/admin/organizations": "org-row", "/account": "account-email"}
# List pages and the test id of their table rows: the first column's header sits at the right edge.
LIST_PAGES = {"/history": "message-row", "/queue": "queue-row", "/audit": "audit-row", "/templates": "template-row",
              "/people": "person-row", "/settings": "key-row", "/opt-outs": "opt-out-row", "/": "home-failure-row"}
ADMIN_LIST_PAGES = {"/admin": "org-row", "/admin/organizations": "org-row"}


@dataclass
class Showcase:
    owner: Account
    member: Account
    admin: Account
    message_id: uuid.UUID
    phone: str


def build_showcase(server: AppServer, *, phone: str = "+201001234567") -> Showcase:
    """One connected organisation with rows on every page, through the services the app uses."""
    from fleet_dashboard.accounts import audit, people
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.integrations import api_keys, webhooks
    from fleet_dashboard.messaging import optouts, templates
    from fleet_dashboard.notifications import queue

    org = server.make_org("أسطول النيل للنقل")
    owner = server.make_user("owner", org, name="منى إبراهيم")
    member = server.make_user("member", org, name="كريم حسن")
    admin = server.make_user("super_admin", name="مدير المنصة")
    connect_whatsapp_by_api(server, owner, phone="+201009998887")
    with server.session() as s:  # named as an owner names it in the editor: people read "طلب جاهز"
        template = templates.create(session=s, org_id=org.id, name="order_ready", display_name="طلب جاهز",
                                    message_template="مرحباً {{customer_name}}، طلبك رقم {{order_no}} جاهز.",
                                    actor=SYSTEM)
    message_id = server.make_message(org.id, phone, "تم شحن طلبك رقم 1042 وسيصل غداً.")
    server.make_message(org.id, "+966501234567", "Your invoice INV-2045 is ready.")
    with server.session() as s, _events_through(s):
        row, _ = queue.enqueue(session=s, org_id=org.id, recipient=phone, template_name=template.name,
                               variables={"customer_name": "سارة", "order_no": "1043"},
                               scheduled_for=datetime.now(UTC) + timedelta(days=1), actor=SYSTEM)
        webhooks.set_webhook(session=s, org_id=org.id, url="https://hooks.example.com/fleet",
                             events=["message.status", "session.status"], actor=SYSTEM)
        api_keys.create_key(session=s, org_id=org.id, name="fleet-backend", scopes=["send", "read"], actor=SYSTEM)
        optouts.add(session=s, org_id=org.id, phone="+201112223334", reason="طلب العميل ذلك بالهاتف",
                    actor=owner_actor(owner))
        people.invite(session=s, actor=owner_actor(owner), org_id=org.id, email="new.person@example.com",
                      role="member", base_url="http://localhost")
        audit.record(session=s, org_id=org.id, actor_id=owner.user_id, event_type="template_created",
                     event_data={"name": template.name, "template_id": str(template.id)}, ip_address="203.0.113.5")
    with server.session() as s:  # a failure on the home page, with its reason code
        s.execute(text("UPDATE whatsapp_messages SET status = 'failed', error_code = 'send_failed', "
                       "error = 'websocket closed', failed_at = now() WHERE id = :i"),
                  {"i": server.make_message(org.id, "+201005550000", "تذكير بموعد الصيانة")})
    server.simulate(org.id, "inbound", **{"from": phone, "text": "شكراً، متى يصل الطلب؟"})
    return Showcase(owner=owner, member=member, admin=admin, message_id=message_id, phone=phone)


def connect_whatsapp_by_api(server: AppServer, owner: Account, *, phone: str) -> None:
    """Press Connect through the service and scan with the simulated phone; wait until the session is connected."""
    server.request_connect(owner.org_id, owner.user_id)
    server.simulate(owner.org_id, "scan", phone=phone, name="هاتف الأسطول")
    deadline = time.monotonic() + 15
    while server.whatsapp_status(owner.org_id)["status"] != "connected":
        if time.monotonic() > deadline:
            raise TimeoutError(f"the simulated session did not connect: {server.whatsapp_status(owner.org_id)}")
        time.sleep(0.2)


def owner_actor(account: Account):
    from fleet_dashboard.accounts.permissions import Actor

    return Actor(role="owner", org_id=account.org_id, user_id=account.user_id)


# The organisation's pages a super_admin opens from the overview (read-only), by their sidebar entries.
ADMIN_ORG_NAV = ("nav-home", "nav-connect", "nav-send", "nav-templates", "nav-history", "nav-queue", "nav-sending",
                 "nav-opt-outs", "nav-audit", "nav-settings", "nav-people")


def owner_tour(page, show: Showcase):
    """Open every page the owner has (and a conversation and a message), each once its data is on screen; yields
    each page's name."""
    from playwright.sync_api import expect

    from fleet_dashboard.core import routes

    extra = {routes.SENDING: ("rule-typing", "sending"), routes.conversation_url(show.phone): (
        "conversation-item", "conversation"), routes.message_url(str(show.message_id)): ("detail-body", "message")}
    pages = {path: (ready, path.strip("/").replace("/", "_") or "home") for path, ready in OWNER_PAGES.items()}
    for path, (ready, name) in {**pages, **extra}.items():
        page.goto(path)
        expect(page.get_by_test_id(ready).first).to_be_visible()
        yield name


def admin_tour(page, show: Showcase):
    """The super_admin's own pages, then the showcase organisation's pages as it sees them (read-only)."""
    from playwright.sync_api import expect

    for path, ready in ADMIN_PAGES.items():
        page.goto(path)
        expect(page.get_by_test_id(ready).first).to_be_visible()
        yield path.strip("/").replace("/", "_")
    page.goto("/admin")
    search_overview(page, show.owner.org_slug)
    page.locator(f'[data-testid="org-row"][data-slug="{show.owner.org_slug}"]').get_by_test_id("open-org").click()
    expect(page.get_by_test_id("read-only-banner")).to_be_visible()
    sidebar = page.get_by_test_id("sidebar")
    for nav in ADMIN_ORG_NAV:
        entry = sidebar.get_by_test_id(nav)
        if not entry.count():
            continue
        entry.click()
        expect(page.get_by_test_id("read-only-banner")).to_be_visible()
        page.wait_for_load_state("networkidle")
        expect(page.locator("main .rt-Spinner")).to_have_count(0)
        yield "org_" + nav.removeprefix("nav-")
