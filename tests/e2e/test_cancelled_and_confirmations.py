"""A cancelled send is its own outcome on every page (never a failure), and actions on a person, an organisation or
a queued message ask first, naming who or what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from fleet_dashboard import strings
from tests.support.browser import login
from tests.support.server import AppServer

LATER = "+201001110071"


def _scheduled_text(server: AppServer, org_id, recipient: str) -> None:
    """A text scheduled for tomorrow, as the Send page's schedule button makes it."""
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.notifications import queue
    from tests.support.server import _events_through

    with server.session() as s, _events_through(s):
        queue.schedule_text(session=s, org_id=org_id, recipient=recipient, text_body="موعد الصيانة غداً",
                            scheduled_for=datetime.now(UTC) + timedelta(days=1), actor=SYSTEM)


def test_a_cancelled_message_is_not_a_failure_anywhere(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    _scheduled_text(app_server, owner.org_id, LATER)
    login(page, owner)

    # Nothing sent this week: the rates say "—", not a 0% that reads as every message lost.
    expect(page.get_by_test_id("home-delivery-rate")).to_have_text("—")
    expect(page.get_by_test_id("home-read-rate")).to_have_text("—")

    # Cancel in the queue asks first, naming the number.
    page.goto("/queue")
    row = page.get_by_test_id("queue-row").filter(has_text=LATER)
    row.get_by_role("button", name="إلغاء").click()
    ask = page.get_by_role("alertdialog")
    expect(ask.get_by_test_id("confirm-name")).to_have_text(LATER)
    ask.get_by_role("button", name="إلغاء الرسالة").click()
    expect(row.locator("[data-status]")).to_have_text(strings.QUEUE_STATUS["cancelled"])

    # The home's failure card and list do not count it.
    page.goto("/")
    expect(page.get_by_test_id("home-failed-today")).to_have_text("0")
    expect(page.get_by_test_id("home-failed-week")).to_have_text("0")
    expect(page.get_by_test_id("home-failures-empty")).to_be_visible()
    expect(page.get_by_test_id("home-reason")).to_have_count(0)
    expect(page.get_by_test_id("home")).not_to_contain_text("cancelled")

    # History: its own Arabic name on a neutral chip.
    page.goto("/history")
    chip = page.get_by_test_id("message-row").filter(has_text=LATER).locator("[data-status]")
    expect(chip).to_have_text(strings.MESSAGE_STATUS["cancelled"])
    expect(chip).to_have_attribute("data-accent-color", "gray")

    # The overview: no failure rate made of it.
    page.get_by_test_id("logout").click()
    login(page, app_server.make_user("super_admin"))
    page.goto("/admin")
    # The overview's first page is 25 organisations by name, and other tests make their own: search for this one.
    page.get_by_label("بحث باسم المؤسسة أو معرّفها").fill(owner.org_slug)
    page.get_by_test_id("admin-search-apply").click()
    org_row = page.locator(f'[data-testid="org-row"][data-slug="{owner.org_slug}"]')
    expect(org_row.get_by_test_id("org-failure-rate")).to_have_text("—")


def test_a_role_change_asks_first_and_names_the_person(page: Page, app_server: AppServer) -> None:
    org = app_server.make_org()
    owner = app_server.make_user("owner", org)
    member = app_server.make_user("member", org, name="Karim Hassan")
    login(page, owner)
    page.goto("/people")
    person = page.locator(f'[data-testid="person-row"][data-email="{member.email}"]')
    person.get_by_test_id("role-select").click()
    page.get_by_role("option", name=strings.ROLES["owner"], exact=True).click()
    ask = page.get_by_test_id("role-change-dialog")
    expect(ask.get_by_test_id("confirm-name")).to_have_text("Karim Hassan")
    expect(ask.get_by_test_id("role-change-roles")).to_have_text(
        f"من «{strings.ROLES['member']}» إلى «{strings.ROLES['owner']}».")
    expect(ask).to_contain_text(strings.ROLE_CHANGE_OWNER_NOTE)  # a promotion to owner says what it gives
    # Cancel: nothing changed, nothing audited.
    ask.get_by_role("button", name=strings.CANCEL).click()
    expect(ask).to_have_count(0)
    expect(person).to_have_attribute("data-role", "member")
    assert "role_changed" not in app_server.audit_types(owner.org_id)

    person.get_by_test_id("role-select").click()
    page.get_by_role("option", name=strings.ROLES["admin"], exact=True).click()
    page.get_by_test_id("confirm-role-change").click()
    expect(person).to_have_attribute("data-role", "admin")
    expect(page.locator("[data-sonner-toast]").filter(has_text=strings.ROLE_CHANGED)).to_be_visible()

    # Deactivating names the person too.
    person.get_by_test_id("deactivate-person").click()
    expect(page.get_by_role("alertdialog").get_by_test_id("confirm-name")).to_have_text("Karim Hassan")
    page.get_by_test_id("confirm-deactivate-person").click()
    expect(person).to_have_attribute("data-active", "")
