"""Send a template with variables, find it in history, and watch a read receipt turn its chip live."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import connect_whatsapp, login, open_page, pick_option
from tests.e2e.server import AppServer

RECIPIENT = "+201001112223"


def test_template_send_then_history_then_live_read_receipt(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    connect_whatsapp(page, app_server, owner)
    open_page(page, "nav-send")
    expect(page.get_by_role("heading", name="إرسال رسالة", level=1)).to_be_visible()

    page.get_by_role("radio", name="قالب").click()
    pick_option(page, "اختر قالباً", "payment_reminder")
    expect(page.get_by_label("{{customer_name}}")).to_be_visible()
    page.get_by_label("{{customer_name}}").fill("سارة")
    page.get_by_label("{{amount}}").fill("150 جنيه")
    page.get_by_label("رقم المستلم").fill("12345")

    # Both mistakes are shown inline, in Arabic, and nothing is sent.
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("phone-error")).to_contain_text("رقم الهاتف غير صحيح")
    expect(page.get_by_test_id("missing-due_date")).to_have_text("هذا الحقل مطلوب")
    expect(page.get_by_test_id("missing-customer_name")).to_have_count(0)
    expect(page.get_by_test_id("send-result")).to_have_count(0)

    page.get_by_label("رقم المستلم").fill(RECIPIENT)
    page.get_by_label("{{due_date}}").fill("2026-12-01")
    expect(page.get_by_test_id("preview")).to_contain_text("عزيزي سارة")
    expect(page.get_by_test_id("preview")).to_contain_text("150 جنيه")
    expect(page.get_by_test_id("preview")).to_contain_text("2026-12-01")
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أُرسلت الرسالة.")
    expect(page.get_by_test_id("phone-error")).to_have_count(0)

    open_page(page, "nav-history")
    row = page.get_by_test_id("message-row").filter(has_text=RECIPIENT)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("payment_reminder")
    chip = row.locator("[data-status]")
    expect(chip).to_have_text("تم التسليم")  # the simulator's delivery receipt

    sent = app_server.simulator.get(f"/api/simulator/{owner.org_id}/sent").json()["messages"]
    assert [m["recipient_phone"] for m in sent] == [RECIPIENT]
    page.evaluate("window.__sameDocument = true")
    app_server.simulate(owner.org_id, "receipt", whatsapp_message_id=sent[0]["whatsapp_message_id"], type="read")
    expect(chip).to_have_text("تمت القراءة")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    row.get_by_role("link", name="عرض").click()
    expect(page.get_by_role("heading", name="تفاصيل الرسالة", level=1)).to_be_visible()
    expect(page.get_by_test_id("detail-body")).to_contain_text("عزيزي سارة")
    expect(page.get_by_test_id("detail-status")).to_have_text("تمت القراءة")
