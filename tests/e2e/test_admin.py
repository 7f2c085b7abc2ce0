"""The super_admin overview: every organisation, a live status chip, and a read-only look inside one."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import at, login
from tests.e2e.server import AppServer

PHONE = "+201007770001"


def test_overview_lists_every_org_flips_live_and_drills_in_read_only(page: Page, app_server: AppServer) -> None:
    first, second = app_server.make_org("شركة النقل الأولى"), app_server.make_org("شركة النقل الثانية")
    second_owner = app_server.make_user("owner", second)
    admin = app_server.make_user("super_admin")
    login(page, admin)
    expect(page).to_have_url(at("/admin"))
    expect(page.get_by_role("heading", name="نظرة عامة على المؤسسات", level=1)).to_be_visible()
    row_one = page.locator(f'[data-testid="org-row"][data-slug="{first.slug}"]')
    row_two = page.locator(f'[data-testid="org-row"][data-slug="{second.slug}"]')
    expect(row_one).to_contain_text("شركة النقل الأولى")
    expect(row_two).to_contain_text("شركة النقل الثانية")
    expect(row_two.get_by_test_id("org-status")).to_have_text("غير متصل")

    page.evaluate("window.__sameDocument = true")
    app_server.request_connect(second.id, second_owner.user_id)
    expect(row_two.get_by_test_id("org-status")).to_have_text("بانتظار مسح الرمز")
    app_server.simulate(second.id, "scan", phone=PHONE, name="هاتف الشركة")
    expect(row_two.get_by_test_id("org-status")).to_have_text("متصل")
    expect(row_two).to_contain_text(PHONE)
    expect(row_one.get_by_test_id("org-status")).to_have_text("غير متصل")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    row_two.get_by_test_id("open-org").click()
    expect(page).to_have_url(at("/connect"))
    banner = page.get_by_test_id("read-only-banner")
    expect(banner).to_contain_text("عرض للقراءة فقط:")
    expect(banner).to_contain_text("شركة النقل الثانية")
    expect(page.get_by_test_id("session-status")).to_have_text("متصل")
    expect(page.get_by_test_id("session-phone")).to_contain_text(PHONE)
    expect(page.get_by_role("button", name="قطع الاتصال")).to_have_count(0)
    expect(page.get_by_role("button", name="ربط الواتساب")).to_have_count(0)

    page.get_by_test_id("sidebar").get_by_test_id("nav-templates").click()
    expect(page.get_by_test_id("template-row").first).to_be_visible()
    expect(banner).to_be_visible()
    expect(page.get_by_role("button", name="قالب جديد")).to_have_count(0)
    expect(page.get_by_role("button", name="حذف")).to_have_count(0)

    page.get_by_test_id("sidebar").get_by_test_id("nav-send").click()
    expect(page.get_by_label("رقم المستلم")).to_be_visible()
    expect(page.get_by_role("button", name="إرسال الآن")).to_have_count(0)
    expect(page.get_by_role("button", name="جدولة في الطابور")).to_have_count(0)

    banner.get_by_test_id("leave-org").click()
    expect(page).to_have_url(at("/admin"))
    expect(page.get_by_test_id("read-only-banner")).to_have_count(0)
    expect(row_two.get_by_test_id("org-status")).to_have_text("متصل")
