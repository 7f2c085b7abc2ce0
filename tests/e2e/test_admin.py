"""The super_admin overview: every organisation, a live status chip, and a read-only look inside one."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from fleet_dashboard.messaging.models import WhatsAppMessage
from tests.support.browser import at, login, search_overview
from tests.support.server import AppServer

PHONE = "+201007770001"


def test_overview_lists_every_org_flips_live_and_drills_in_read_only(page: Page, app_server: AppServer) -> None:
    first, second = app_server.make_org("شركة النقل الأولى"), app_server.make_org("شركة النقل الثانية")
    second_owner = app_server.make_user("owner", second)
    admin = app_server.make_user("super_admin")
    login(page, admin)
    expect(page).to_have_url(at("/admin"))
    expect(page.get_by_role("heading", name="نظرة عامة على المؤسسات", level=1)).to_be_visible()
    search_overview(page, "شركة النقل")
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


def test_overview_searches_sorts_and_pages_through_organisations(page: Page, app_server: AppServer) -> None:
    token = uuid.uuid4().hex[:6]
    names = [f"أسطول {token} {k:02d}" for k in range(27)]
    orgs = [app_server.make_org(name) for name in names]
    busiest = orgs[4]
    for i in range(3):
        message_id = app_server.make_message(busiest.id, f"+2010077700{i:02d}", f"رسالة {i}")
        with app_server.session() as s:
            s.get(WhatsAppMessage, message_id).status = "delivered"
    admin = app_server.make_user("super_admin")
    login(page, admin)
    expect(page).to_have_url(at("/admin"))

    page.get_by_label("بحث باسم المؤسسة أو معرّفها").fill(token)
    page.get_by_test_id("admin-search-apply").click()
    rows = page.get_by_test_id("org-row")
    expect(page.get_by_test_id("admin-summary")).to_have_text("27 مؤسسة · الصفحة 1 من 2")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text(names[0])
    page.get_by_test_id("page-next").click()
    expect(page.get_by_test_id("admin-summary")).to_have_text("27 مؤسسة · الصفحة 2 من 2")
    expect(rows).to_have_count(2)
    expect(rows.last).to_contain_text(names[26])

    # Sorting by the week's volume starts again from page one, busiest first; the direction flips.
    page.get_by_role("combobox", name="ترتيب حسب").click()
    page.get_by_role("option", name="آخر 7 أيام").click()
    expect(page.get_by_test_id("admin-summary")).to_have_text("27 مؤسسة · الصفحة 1 من 2")
    expect(page.get_by_test_id("admin-sort-direction")).to_have_text("تنازلي")
    expect(rows.first).to_contain_text(names[4])
    expect(rows.first.get_by_test_id("org-week")).to_have_text("3")
    page.get_by_test_id("admin-sort-direction").click()
    expect(page.get_by_test_id("admin-sort-direction")).to_have_text("تصاعدي")
    expect(rows.first).not_to_contain_text(names[4])
    page.get_by_test_id("page-next").click()
    expect(rows.last).to_contain_text(names[4])

    page.get_by_label("بحث باسم المؤسسة أو معرّفها").fill(f"{token} 04")
    page.get_by_test_id("admin-search-apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(names[4])

    page.get_by_label("بحث باسم المؤسسة أو معرّفها").fill("لا-توجد-مؤسسة-بهذا-الاسم")
    page.get_by_test_id("admin-search-apply").click()
    expect(page.get_by_test_id("admin-empty")).to_have_text("لا توجد مؤسسة تطابق البحث.")
