"""History at laptop width: direction tabs over one compact row of filters, replies shown beside what was sent,
and an unread-replies badge in the navigation that clears once the conversation is opened."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import at, login
from tests.support.server import AppServer
from tests.support.showcase import connect_whatsapp_by_api

LAPTOP = {"width": 1366, "height": 800}
CUSTOMER = "+201001234570"

# Each visible filter control's vertical centre, and the filter row's and the whole block's heights.
BAR_JS = """() => {
    const row = document.querySelector('[data-testid="history-filters"]');
    const controls = [...row.querySelectorAll('input, button')].filter((el) => el.offsetParent !== null);
    const centre = (el) => { const r = el.getBoundingClientRect(); return (r.top + r.bottom) / 2; };
    const tabs = document.querySelector('[data-testid="direction-tabs"]').getBoundingClientRect();
    return {centres: controls.map(centre), row: row.getBoundingClientRect().height,
            block: row.getBoundingClientRect().bottom - tabs.top};
}"""


def test_history_filters_sit_in_one_row_and_replies_show_with_an_unread_badge(page: Page,
                                                                             app_server: AppServer) -> None:
    owner = app_server.owner()
    connect_whatsapp_by_api(app_server, owner, phone="+201009998887")
    app_server.make_message(owner.org_id, CUSTOMER, "موعد الصيانة غداً الساعة العاشرة")
    app_server.simulate(owner.org_id, "inbound", **{"from": CUSTOMER, "text": "تمام، سأكون هناك"})
    app_server.simulate(owner.org_id, "inbound", **{"from": CUSTOMER, "text": "هل يمكن تأجيله ساعة؟"})
    page.set_viewport_size(LAPTOP)
    login(page, owner)

    # Two replies nobody has read: the navigation says so on every page.
    badge = page.get_by_test_id("sidebar").get_by_test_id("unread-replies")
    expect(badge).to_have_text("2")
    page.get_by_test_id("nav-history").click()
    expect(page).to_have_url(at("/history"))

    rows = page.get_by_test_id("message-row")
    expect(rows).to_have_count(3)
    expect(page.get_by_role("tab", name="الكل")).to_have_attribute("aria-selected", "true")
    bar = page.evaluate(BAR_JS)
    assert len(bar["centres"]) >= 5, bar
    assert max(bar["centres"]) - min(bar["centres"]) <= 6, f"the filters wrap onto several lines: {bar}"
    assert bar["row"] <= 60 and bar["block"] <= 130, f"the filters take too much height: {bar}"

    # The sent tab hides the replies; its number column is the recipient.
    page.get_by_role("tab", name="المرسلة").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("columnheader").first).to_have_text("المستلم")
    page.get_by_role("tab", name="ردود العملاء").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_role("columnheader").first).to_have_text("المرسل")

    # Opening the conversation reads the replies: the badge goes.
    rows.first.get_by_role("link", name=CUSTOMER).click()
    expect(page).to_have_url(at("/conversations/%2B201001234570"))
    expect(page.get_by_test_id("conversation-item")).to_have_count(3)
    expect(badge).to_have_count(0)

    # A new reply while the owner reads history shows up, and so does the badge, without a reload.
    page.get_by_test_id("nav-history").click()
    expect(rows).to_have_count(2)
    app_server.simulate(owner.org_id, "inbound", **{"from": CUSTOMER, "text": "شكراً"})
    expect(rows).to_have_count(3)
    expect(badge).to_have_text("1")
