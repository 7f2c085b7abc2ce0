"""History pages walk forward and back by keyset cursors, newest first, with no row lost or repeated."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import login, open_page
from tests.support.server import AppServer

PAGE_SIZE = 25  # web/state/history.py


def test_history_pages_forward_and_back(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    phones = [f"+2010077700{n:02d}" for n in range(PAGE_SIZE + 3)]
    for phone in phones:
        app_server.make_message(owner.org_id, phone, "رسالة للتجربة")
    login(page, owner)
    open_page(page, "nav-history")
    rows = page.get_by_test_id("message-row")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(rows.first).to_contain_text(phones[-1])  # newest first
    expect(page.get_by_test_id("page-prev")).to_be_disabled()
    first_page = rows.all_inner_texts()

    page.get_by_test_id("page-next").click()
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("page-next")).to_be_disabled()
    expect(rows.last).to_contain_text(phones[0])
    seen = " ".join(first_page + rows.all_inner_texts())
    assert all(seen.count(phone) == 1 for phone in phones), "a row was lost or repeated across pages"

    page.get_by_test_id("page-prev").click()
    expect(rows).to_have_count(PAGE_SIZE)
    expect(rows.first).to_contain_text(phones[-1])
