"""The audit log page: what a person just did shows up as an Arabic sentence, with their name, a local time and
links to what it names; no raw details, e-mail of the actor, UUID or UTC."""

from __future__ import annotations

import re

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
    dialog.get_by_label("الاسم الظاهر").fill("فحص التدقيق")
    dialog.get_by_label("الاسم البرمجي").fill("audit_check")
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
        expect(row.get_by_test_id("audit-actor")).to_have_text("مستخدم مالك")  # the person's name
        expect(row.get_by_test_id("audit-time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    expect(page.locator('[data-testid="audit-row"][data-type="login"]')).to_have_count(2)
    sent = page.locator('[data-testid="audit-row"][data-type="message_sent"]')
    expect(sent.get_by_test_id("audit-sentence")).to_have_text(f"أُرسلت رسالة إلى {RECIPIENT}.")
    # The sentence links the message to its page and the number to its conversation.
    expect(sent.get_by_role("link", name="رسالة")).to_have_attribute("href", re.compile(r"^/history/[0-9a-f-]{36}$"))
    expect(sent.get_by_role("link", name=RECIPIENT)).to_have_attribute("href", "/conversations/%2B201006660001")
    expect(rows.filter(has_text=re.compile(r"UTC|[0-9a-f]{8}-[0-9a-f]{4}|message_id|via:"))).to_have_count(0)
    # What the engine did is there too, in Arabic, by "the system".
    engine_row = page.locator('[data-testid="audit-row"][data-type="session_connected"]')
    expect(engine_row).to_contain_text("اتصال الواتساب")
    expect(engine_row).to_contain_text("النظام")
    expect(rows.filter(has_text="session_connected")).to_have_count(0)

    pick_option(page, "الحدث", "إنشاء قالب")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("إنشاء قالب")
    expect(rows.get_by_test_id("audit-sentence")).to_have_text("أُنشئ القالب «فحص التدقيق».")
    expect(rows.get_by_role("link", name="«فحص التدقيق»")).to_have_attribute("href", "/templates")
    pick_option(page, "الحدث", "الكل")
    expect(rows.filter(has_text="تسجيل خروج")).to_have_count(1)
