"""Right to left at the root: every table starts at the right edge, the navigation stays put, one <h1> and a skip
link on every page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import at, login
from tests.support.server import AppServer
from tests.support.showcase import ADMIN_LIST_PAGES, LIST_PAGES, OWNER_PAGES, build_showcase

LAPTOP = {"width": 1366, "height": 800}

# For the table holding a row with this test id: where its first header cell and first cell sit, and its own box.
EDGES_JS = """(rowId) => {
    const row = document.querySelector(`[data-testid="${rowId}"]`);
    const table = row.closest('table');
    const th = table.querySelector('thead th');
    const td = row.querySelector('td');
    const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right}; };
    return {table: box(table), th: box(th), td: box(td), thText: th.textContent,
            dir: table.closest('[dir]').getAttribute('dir')};
}"""


def _first_column_at_the_right(page: Page, path: str, row_id: str) -> None:
    page.goto(path)
    expect(page).to_have_url(at(path))
    expect(page.get_by_test_id(row_id).first).to_be_visible()
    edges = page.evaluate(EDGES_JS, row_id)
    table = edges["table"]
    assert abs(edges["th"]["right"] - table["right"]) <= 2, f"{path}: first header {edges['thText']!r} {edges}"
    assert abs(edges["td"]["right"] - table["right"]) <= 2, f"{path}: first cell not at the right edge {edges}"
    assert edges["dir"] == "rtl", f"{path}: the table's scroll area says {edges['dir']}"


def test_the_first_column_sits_at_the_right_edge_on_every_list_page(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    page.set_viewport_size(LAPTOP)
    login(page, show.owner)
    for path, row_id in LIST_PAGES.items():
        _first_column_at_the_right(page, path, row_id)
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(at("/login"))
    login(page, show.admin)
    for path, row_id in ADMIN_LIST_PAGES.items():
        _first_column_at_the_right(page, path, row_id)


def test_selects_menus_and_toggles_read_right_to_left(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    page.set_viewport_size(LAPTOP)
    login(page, show.owner)
    page.goto("/send")
    toggle = page.get_by_test_id("send-mode")
    expect(toggle).to_have_attribute("dir", "rtl")
    text_mode, template_mode = toggle.get_by_role("radio", name="نص حر"), toggle.get_by_role("radio", name="قالب")
    # The first choice is on the right, as an Arabic reader starts.
    assert text_mode.bounding_box()["x"] > template_mode.bounding_box()["x"]
    page.goto("/history")
    page.get_by_label("الحالة").click()
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(page.locator("[role=listbox]").locator("xpath=ancestor-or-self::*[@dir][1]")).to_have_attribute(
        "dir", "rtl")


def test_the_navigation_stays_in_place_at_the_bottom_of_a_long_page(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    for n in range(40):
        app_server.record_audit(show.owner.org_id, show.owner.user_id, "template_updated", name=f"order_ready_{n}")
    page.set_viewport_size(LAPTOP)
    login(page, show.owner)
    page.goto("/audit")
    expect(page.get_by_test_id("audit-row")).to_have_count(30)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("window.scrollY > 300")
    nav = page.get_by_test_id("sidebar")
    for name in ("nav-home", "nav-history", "logout"):
        expect(nav.get_by_test_id(name)).to_be_in_viewport()

    # On a phone the top bar with the menu stays at the top.
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(page.get_by_test_id("mobile-menu")).to_be_in_viewport()


def test_one_h1_and_a_skip_link_on_every_page(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    page.set_viewport_size(LAPTOP)
    login(page, show.owner)
    for path, ready in OWNER_PAGES.items():
        page.goto(path)
        expect(page.get_by_test_id(ready).first).to_be_visible()
        expect(page.locator("h1"), path).to_have_count(1)
    page.goto("/history")
    expect(page.get_by_test_id("message-row").first).to_be_visible()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="تخطَّ إلى المحتوى")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    skip.press("Enter")
    expect(page.locator("#main-content")).to_be_focused()
