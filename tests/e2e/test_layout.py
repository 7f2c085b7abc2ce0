"""Right-to-left on every page, and nothing wider than a phone (390x844) outside the scrollable tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.support.browser import at
from tests.support.server import Account, AppServer

PHONE = {"width": 390, "height": 844}
# Every element's box must stay inside the viewport, except inside `.table-wrap` (it scrolls on
# its own) and elements that are clipped away on purpose (visually hidden form controls).
OVERFLOW_JS = """() => {
    const width = window.innerWidth, bad = [];
    if (document.documentElement.scrollWidth > width) bad.push(`document ${document.documentElement.scrollWidth}px`);
    for (const el of document.body.querySelectorAll('*')) {
        if (el.parentElement && el.parentElement.closest('.table-wrap')) continue;
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden' || style.position === 'fixed') continue;
        if (style.clip === 'rect(0px, 0px, 0px, 0px)' || style.clipPath === 'inset(50%)') continue;
        const box = el.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        if (box.left < -1 || box.right > width + 1) {
            const id = el.getAttribute('data-testid') || el.id || el.className || '';
            const where = `${Math.round(box.left)}..${Math.round(box.right)}`;
            bad.push(`${el.tagName.toLowerCase()} ${String(id).slice(0, 60)} ${where}`);
        }
    }
    return bad;
}"""


def _check(page: Page, name: str) -> None:
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.wait_for_function("document.fonts.status === 'loaded'")
    overflow = page.evaluate(OVERFLOW_JS)
    assert not overflow, f"{name} overflows a 390px screen: {overflow[:10]}"


def _phone_login(page: Page, account: Account) -> None:
    """The login form on a phone: the sidebar is hidden there, the menu button shows instead."""
    page.get_by_label("البريد الإلكتروني").fill(account.email)
    page.get_by_label("كلمة المرور").fill(account.password)
    page.get_by_role("button", name="دخول").click()
    expect(page.get_by_test_id("mobile-menu")).to_be_visible()


def test_every_org_page_is_rtl_and_fits_a_phone(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    app_server.make_template(owner.org_id, "long_notice", "إشعار طويل جداً " * 12 + "{{customer_name}}")
    for n in range(3):
        app_server.make_message(owner.org_id, f"+20100888000{n}", "نص رسالة طويلة نسبياً لتملأ عمود النص " * 3)
    app_server.enqueue(owner.org_id, "+201008880009", "long_notice", {"customer_name": "منى"},
                       datetime.now(UTC) + timedelta(days=2))
    page.set_viewport_size(PHONE)
    page.goto("/login")
    _check(page, "/login")
    _phone_login(page, owner)

    pages = {"/": page.get_by_test_id("home-sent-today"),
             "/connect": page.get_by_test_id("session-status"), "/send": page.get_by_label("رقم المستلم"),
             "/templates": page.get_by_test_id("template-row").first,
             "/history": page.get_by_test_id("message-row").first, "/audit": page.get_by_test_id("audit-row").first,
             "/queue": page.get_by_test_id("queue-row").first, "/settings": page.get_by_label("الرابط"),
             "/people": page.get_by_test_id("person-row").first,
             "/account": page.get_by_label("كلمة المرور الحالية")}
    for path, ready in pages.items():
        page.goto(path)
        expect(page).to_have_url(at(path))
        expect(ready).to_be_visible()
        _check(page, path)

    # The phone menu reaches the pages too.
    page.get_by_test_id("mobile-menu").click()
    page.get_by_role("menuitem", name="الطابور").click()
    expect(page).to_have_url(at("/queue"))


def test_admin_overview_is_rtl_and_fits_a_phone(page: Page, app_server: AppServer) -> None:
    app_server.make_org("مؤسسة باسم طويل جداً للتأكد من أن الجدول يلتف داخل حاويته")
    admin = app_server.make_user("super_admin")
    page.set_viewport_size(PHONE)
    page.goto("/login")
    _phone_login(page, admin)
    expect(page).to_have_url(at("/admin"))
    expect(page.get_by_test_id("org-row").first).to_be_visible()
    expect(page.get_by_test_id("daily-chart")).to_be_visible()
    _check(page, "/admin")
    page.goto("/admin/organizations")
    expect(page.get_by_test_id("org-row").first).to_be_visible()
    _check(page, "/admin/organizations")
