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


def test_a_list_opened_again_never_shows_its_last_visits_rows(page: Page, app_server: AppServer) -> None:
    """A tab keeps its state between visits: until the page has loaded what its address asks for, it must show
    nothing of the last visit (another filter's rows would be read as this filter's)."""
    from fleet_dashboard.messaging.models import WhatsAppMessage

    owner = app_server.owner()
    with app_server.session() as s:
        for i, status in enumerate(("sent", "sent", "sent", "delivered")):
            s.add(WhatsAppMessage(org_id=owner.org_id, recipient_phone=f"+20100888000{i}", message_body="رسالة",
                                  status=status))
    # Every row count and status filter the page ever shows, from the first paint on.
    page.add_init_script("""
        window.__shown = [];
        new MutationObserver(() => {
            const shown = [document.querySelectorAll('[data-testid="message-row"]').length,
                           document.querySelector('#filter-status')?.textContent ?? null];
            const last = window.__shown[window.__shown.length - 1];
            if (!last || last[0] !== shown[0] || last[1] !== shown[1]) window.__shown.push(shown);
        }).observe(document, {subtree: true, childList: true, characterData: true});
    """)
    login(page, owner)
    rows = page.get_by_test_id("message-row")
    for _ in range(3):
        page.goto("/history?status=sent")
        expect(rows).to_have_count(3)
        page.goto("/history?status=delivered")
        expect(rows).to_have_count(1)
        shown = page.evaluate("window.__shown")
        assert [n for n, _ in shown if n] == [1], f"the page showed the last visit's rows first: {shown}"
