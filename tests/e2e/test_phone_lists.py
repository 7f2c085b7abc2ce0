"""Lists on a 390 px phone: each table scrolls inside its own box with its first column pinned at the right edge,
and the filters fold into a sheet; on a laptop the charts' y-axis labels sit clear of the axis line and the
organisations page reads every time in the one zone its caption names."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from fleet_dashboard import strings
from tests.support.browser import login
from tests.support.server import AppServer
from tests.support.showcase import LIST_PAGES, build_showcase

PHONE = {"width": 390, "height": 844}

# For the table holding a row with this test id: scroll it to its far (left) end, then where the first and the last
# cell of that row are on screen.
SCROLLED_JS = """(rowId) => {
    const row = document.querySelector(`[data-testid="${rowId}"]`);
    let box = row.parentElement;
    while (box && !(box.scrollWidth > box.clientWidth + 1 && /(auto|scroll)/.test(getComputedStyle(box).overflowX)))
        box = box.parentElement;
    if (box) box.scrollLeft = -box.scrollWidth;  // right to left: the far end is negative
    const cells = row.querySelectorAll('td');
    const at = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right}; };
    return {scrolls: !!box, first: at(cells[0]), last: at(cells[cells.length - 1]), width: window.innerWidth,
            page: document.documentElement.scrollWidth};
}"""


def test_on_a_phone_tables_scroll_in_their_box_with_the_first_column_pinned(page: Page,
                                                                          app_server: AppServer) -> None:
    show = build_showcase(app_server)
    login(page, show.owner)
    page.set_viewport_size(PHONE)
    for path, row_id in LIST_PAGES.items():
        page.goto(path)
        expect(page.get_by_test_id(row_id).first).to_be_visible()
        seen = page.evaluate(SCROLLED_JS, row_id)
        assert seen["page"] <= seen["width"], f"{path}: the page itself scrolls sideways {seen}"
        if not seen["scrolls"]:
            continue  # the whole table fits
        first, last = seen["first"], seen["last"]
        # Scrolled to its end, the row's last cell (the link, the date) is on screen, and the first stays pinned.
        assert last["left"] >= 0 and last["right"] <= seen["width"] + 1, f"{path}: last cell off screen {seen}"
        assert abs(first["right"] - seen["width"]) <= 40 and first["left"] >= 0, f"{path}: first column moved {seen}"


def test_on_a_phone_the_filters_fold_into_a_sheet(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    login(page, show.owner)
    page.set_viewport_size(PHONE)
    page.goto("/history")
    expect(page.get_by_test_id("message-row").first).to_be_visible()
    search = page.get_by_label(strings.FILTER_SEARCH)
    expect(search).to_be_hidden()  # the list starts at the top of the screen
    toggle = page.get_by_test_id("filters-toggle")
    expect(toggle).to_be_in_viewport()
    toggle.click()
    sheet = page.get_by_test_id("filters-sheet")
    expect(sheet).to_be_in_viewport()
    expect(search).to_be_in_viewport()
    search.fill("1042")
    sheet.get_by_role("button", name=strings.APPLY).click()
    expect(page.get_by_test_id("message-row")).to_have_count(1)
    sheet.get_by_test_id("filters-close").click()
    expect(search).to_be_hidden()

    # On a laptop the same filters sit in place, with no button in front of them.
    page.set_viewport_size({"width": 1366, "height": 800})
    expect(search).to_be_visible()
    expect(toggle).to_be_hidden()


# Every y-axis tick label of the chart, and the axis line's box.
Y_AXIS_JS = """(testId) => {
    const chart = document.querySelector(`[data-testid="${testId}"]`);
    const line = chart.querySelector('.recharts-yAxis .recharts-cartesian-axis-line').getBoundingClientRect();
    const labels = [...chart.querySelectorAll('.recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value')]
        .map((t) => { const r = t.getBoundingClientRect(); return {left: r.left, right: r.right}; });
    return {line: {left: line.left, right: line.right}, labels};
}"""


def test_chart_labels_clear_of_the_axis_and_one_zone_per_column(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    login(page, show.owner)
    page.set_viewport_size({"width": 1366, "height": 800})
    expect(page.get_by_test_id("home-chart").locator(".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value")
           .first).to_be_visible()
    axis = page.evaluate(Y_AXIS_JS, "home-chart")
    assert axis["labels"], axis
    crossed = [t for t in axis["labels"] if t["left"] < axis["line"]["right"] - 0.5]
    assert not crossed, f"y-axis labels cross the axis line: {axis}"

    # Organisations in other zones: the created column reads in the viewer's zone, the one the caption names.
    riyadh = app_server.make_org("مؤسسة الرياض")
    with app_server.session() as s:
        from fleet_dashboard.accounts import lifecycle
        from fleet_dashboard.accounts.permissions import SYSTEM

        lifecycle.set_timezone(session=s, actor=SYSTEM, org_id=riyadh.id, timezone="Asia/Riyadh")
    page.get_by_test_id("logout").click()
    login(page, show.admin)
    page.goto("/admin/organizations")
    expect(page.get_by_test_id("org-row").first).to_be_visible()
    caption = page.get_by_test_id("zone-label").inner_text()
    offset = re.search(r"UTC[+-]\d\d:\d\d", caption).group()
    stamps = page.get_by_test_id("org-row").get_by_test_id("when").all_inner_texts()
    assert stamps and all(offset in stamp for stamp in stamps), (caption, stamps)


# The phone menu's first item: its box, where its text starts and ends, and the direction it is laid out in.
MENU_JS = """() => {
    const item = document.querySelector('[role=menu] [role=menuitem]');
    const range = document.createRange();
    range.selectNodeContents(item);
    const text = range.getBoundingClientRect(), box = item.getBoundingClientRect();
    return {box: {left: box.left, right: box.right}, text: {left: text.left, right: text.right},
            dir: item.closest('[dir]').getAttribute('dir')};
}"""


def test_the_phone_menu_reads_from_the_right(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    page.set_viewport_size(PHONE)
    page.get_by_test_id("mobile-menu").click()
    expect(page.get_by_role("menuitem").first).to_be_visible()
    menu = page.evaluate(MENU_JS)
    assert menu["dir"] == "rtl", menu
    # The label hugs the item's right edge, as Arabic starts.
    assert menu["box"]["right"] - menu["text"]["right"] < menu["text"]["left"] - menu["box"]["left"], menu
