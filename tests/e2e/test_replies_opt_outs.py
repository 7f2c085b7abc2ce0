"""An owner sees a customer's reply arrive live in the conversation, and keeps the opt-out list by hand."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import at, connect_whatsapp, login, open_page
from tests.support.server import AppServer

CUSTOMER = "+201001234568"


def test_a_reply_arrives_live_in_the_conversation(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    # Before WhatsApp is linked the dashboard refuses the send, as the API does, and keeps nothing.
    open_page(page, "nav-send")
    page.get_by_label("رقم المستلم").fill(CUSTOMER)
    page.get_by_label("نص الرسالة").fill("فاتورة الشهر جاهزة، المبلغ 250 جنيه")
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("text-error")).to_contain_text("الواتساب غير متصل")
    expect(page.get_by_test_id("send-result")).to_have_count(0)

    connect_whatsapp(page, app_server, owner)
    open_page(page, "nav-send")
    page.get_by_label("رقم المستلم").fill(CUSTOMER)
    page.get_by_label("نص الرسالة").fill("فاتورة الشهر جاهزة، المبلغ 250 جنيه")
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أُرسلت الرسالة.")

    open_page(page, "nav-history")
    row = page.get_by_test_id("message-row").filter(has_text=CUSTOMER)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="عرض").click()
    expect(page.get_by_test_id("detail-no-replies")).to_be_visible()
    page.get_by_test_id("detail-conversation").click()
    expect(page).to_have_url(at("/conversations/%2B201001234568"))
    expect(page.get_by_test_id("conversation-phone")).to_have_text(CUSTOMER)
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("فاتورة الشهر جاهزة")

    page.evaluate("window.__sameDocument = true")
    app_server.simulate(owner.org_id, "inbound", **{"from": CUSTOMER, "text": "تم الدفع، شكراً"})
    expect(items).to_have_count(2)
    reply = items.nth(1)
    expect(reply).to_have_attribute("data-direction", "inbound")
    expect(reply).to_contain_text("تم الدفع، شكراً")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    # History shows replies beside what was sent, by time, without touching a filter.
    open_page(page, "nav-history")
    both = page.get_by_test_id("message-row")
    expect(both).to_have_count(2)
    expect(both.first).to_have_attribute("data-direction", "inbound")
    expect(page.get_by_role("columnheader").first).to_have_text("رقم العميل")
    # The replies tab heads the number "المرسل", and the owner finds this one by its text.
    page.get_by_role("tab", name="ردود العملاء").click()
    expect(page.get_by_role("columnheader").first).to_have_text("المرسل")
    page.get_by_label("بحث برقم أو نص").fill("الدفع")
    page.get_by_test_id("apply-filters").click()
    replies = page.locator("[data-testid=message-row][data-direction=inbound]")
    expect(replies).to_have_count(1)
    expect(replies).to_contain_text("تم الدفع، شكراً")


def test_owner_adds_and_removes_a_number_on_the_opt_out_page(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    open_page(page, "nav-opt-outs")
    expect(page.get_by_role("heading", name="قائمة إيقاف الرسائل", level=1)).to_be_visible()
    expect(page.get_by_test_id("opt-outs-empty")).to_be_visible()

    page.get_by_label("الرقم").fill("12")
    page.get_by_test_id("opt-out-add").click()
    expect(page.get_by_test_id("opt-out-phone-error")).to_contain_text("رقم الهاتف غير صحيح")

    page.get_by_label("الرقم").fill("+201007776665")
    page.get_by_label("السبب (اختياري)").fill("طلب العميل بالهاتف")
    page.get_by_test_id("opt-out-add").click()
    row = page.get_by_test_id("opt-out-row").filter(has_text="+201007776665")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("طلب العميل بالهاتف")

    page.get_by_label("بحث برقم أو سبب").fill("بالهاتف")
    page.get_by_test_id("opt-out-apply").click()
    expect(page.get_by_test_id("opt-out-row")).to_have_count(1)

    row.get_by_test_id("opt-out-remove").click()
    page.get_by_test_id("confirm-opt-out-remove").click()
    expect(page.get_by_test_id("opt-out-row")).to_have_count(0)
    expect(page.get_by_test_id("opt-outs-empty")).to_be_visible()

    kinds = app_server.audit_types(owner.org_id, owner.user_id)
    assert "opt_out_added" in kinds and "opt_out_removed" in kinds
