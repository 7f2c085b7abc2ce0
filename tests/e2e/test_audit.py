"""The audit log page: what a person just did shows up, with their email and the Arabic event name."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import at, connect_whatsapp, login, open_page, pick_option
from tests.support.server import AppServer

RECIPIENT = "+201006660001"


def test_actions_appear_in_the_audit_log_and_filter_by_type(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    connect_whatsapp(page, app_server, owner)

    open_page(page, "nav-send")
    page.get_by_label("رقم المستلم").fill(RECIPIENT)
    page.get_by_label("نص الرسالة").fill("مرحباً، هذه رسالة للتدقيق.")
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أُرسلت الرسالة.")

    open_page(page, "nav-templates")
    page.get_by_role("button", name="قالب جديد").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("الاسم").fill("audit_check")
    dialog.get_by_label("نص القالب").fill("مرحباً {{customer_name}}")
    dialog.get_by_role("button", name="حفظ").click()
    expect(dialog).to_have_count(0)

    page.get_by_test_id("sidebar").get_by_role("button", name="تسجيل الخروج").click()
    expect(page).to_have_url(at("/login"))
    login(page, owner)
    open_page(page, "nav-audit")
    expect(page.get_by_role("heading", name="سجل التدقيق", level=1)).to_be_visible()

    rows = page.get_by_test_id("audit-row")
    mine = {"login": "تسجيل دخول", "connect_requested": "طلب ربط الواتساب", "message_sent": "إرسال رسالة",
            "template_created": "إنشاء قالب", "logout": "تسجيل خروج"}
    for event_type, arabic in mine.items():
        row = page.locator(f'[data-testid="audit-row"][data-type="{event_type}"]').first
        expect(row).to_contain_text(arabic)
        expect(row).to_contain_text(owner.email)
    expect(page.locator('[data-testid="audit-row"][data-type="login"]')).to_have_count(2)
    expect(page.locator('[data-testid="audit-row"][data-type="message_sent"]')).to_contain_text(RECIPIENT)
    # What the engine did is there too, in Arabic, by "the system".
    engine_row = page.locator('[data-testid="audit-row"][data-type="session_connected"]')
    expect(engine_row).to_contain_text("اتصال الواتساب")
    expect(engine_row).to_contain_text("النظام")
    expect(rows.filter(has_text="session_connected")).to_have_count(0)

    pick_option(page, "الحدث", "إنشاء قالب")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("إنشاء قالب")
    expect(rows).to_contain_text("audit_check")
    expect(rows).to_contain_text(owner.email)
    pick_option(page, "الحدث", "الكل")
    expect(rows.filter(has_text="تسجيل خروج")).to_have_count(1)
