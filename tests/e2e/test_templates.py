"""Templates: create, validate, edit, switch off and delete; system templates read-only but copyable."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import login, open_page
from tests.support.server import AppServer

BODY = "مرحباً {{customer_name}}، طلبك رقم {{order_no}} جاهز للاستلام."


def test_template_lifecycle_and_read_only_system_templates(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    open_page(page, "nav-templates")
    system = page.locator('[data-testid="template-row"][data-name="trial_welcome"]')
    # People read the Arabic name; trial_welcome is the API's name, kept for the editor.
    expect(system.get_by_test_id("template-name")).to_have_text("ترحيب بالفترة التجريبية")
    expect(system).not_to_contain_text("trial_welcome")
    expect(system).to_contain_text("اسم العميل")
    expect(system).to_contain_text("نظام")
    expect(system.get_by_role("button", name="حذف")).to_have_count(0)
    expect(system.get_by_role("button", name="تعديل")).to_have_count(0)

    page.get_by_role("button", name="قالب جديد").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("الاسم الظاهر").fill("طلب جاهز للاستلام")
    dialog.get_by_label("الاسم البرمجي").fill("Bad Name")
    dialog.get_by_label("نص القالب").fill(BODY)
    expect(dialog.get_by_test_id("tpl-variables")).to_contain_text("اسم العميل")
    expect(dialog.get_by_test_id("tpl-variables")).to_contain_text("رقم الطلب")
    expect(dialog.get_by_test_id("tpl-preview")).to_have_text("مرحباً أحمد علي، طلبك رقم 1042 جاهز للاستلام.")
    dialog.get_by_role("button", name="حفظ").click()
    expect(dialog.get_by_test_id("tpl-name-error")).to_contain_text("اسم القالب")
    dialog.get_by_label("الاسم البرمجي").fill("trial_welcome")
    dialog.get_by_role("button", name="حفظ").click()
    expect(dialog.get_by_test_id("tpl-name-error")).to_have_text("يوجد قالب بهذا الاسم.")
    dialog.get_by_label("الاسم البرمجي").fill("order_ready")
    dialog.get_by_label("نص القالب").fill("   ")
    dialog.get_by_role("button", name="حفظ").click()
    expect(dialog.get_by_test_id("tpl-body-error")).to_have_text("نص القالب مطلوب.")
    dialog.get_by_label("نص القالب").fill(BODY)
    dialog.get_by_role("button", name="حفظ").click()
    expect(dialog).to_have_count(0)
    mine = page.locator('[data-testid="template-row"][data-name="order_ready"]')
    expect(mine.get_by_test_id("template-name")).to_have_text("طلب جاهز للاستلام")
    expect(mine).to_contain_text("المؤسسة")
    expect(mine).to_contain_text("اسم العميل، رقم الطلب")
    expect(mine.get_by_test_id("usage-count")).to_have_text("0")

    mine.get_by_role("button", name="تعديل").click()
    dialog.get_by_label("نص القالب").fill("طلبك {{order_no}} وصل يا {{customer_name}}.")
    dialog.get_by_role("button", name="حفظ").click()
    expect(mine).to_contain_text("طلبك [رقم الطلب] وصل")  # the body reads in Arabic, no raw {{order_no}}

    mine.get_by_role("button", name="تعطيل").click()
    expect(mine).to_contain_text("معطّل")
    mine.get_by_role("button", name="حذف").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("طلب جاهز للاستلام")
    confirm.get_by_role("button", name="حذف").click()
    expect(mine).to_have_count(0)
    assert app_server.template_names(owner.org_id) == set()

    system.get_by_role("button", name="معاينة").click()
    expect(dialog.get_by_label("نص القالب")).to_have_attribute("readonly", "")
    expect(dialog.get_by_role("button", name="حفظ")).to_have_count(0)
    dialog.get_by_role("button", name="نسخ").click()
    copy = page.locator('[data-testid="template-row"][data-name="trial_welcome_copy"]')
    expect(copy.get_by_test_id("template-name")).to_have_text("ترحيب بالفترة التجريبية (نسخة)")
    expect(copy).to_contain_text("المؤسسة")
    expect(copy.get_by_role("button", name="تعديل")).to_be_visible()

    types = app_server.audit_types(owner.org_id, owner.user_id)
    for event in ("template_created", "template_updated", "template_deleted", "template_duplicated"):
        assert event in types
