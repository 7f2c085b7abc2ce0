"""The smoke test: the real app serves an Arabic, right-to-left login page with a self-hosted font."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import at
from tests.support.server import AppServer


def test_login_page_is_arabic_rtl_and_self_hosted(page: Page, app_server: AppServer) -> None:
    fonts: list[str] = []
    page.on("response", lambda r: fonts.append(r.url) if r.url.endswith(".woff2") and r.ok else None)
    page.goto("/")
    expect(page).to_have_url(at("/login", "next=/"))
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", name="تسجيل الدخول")).to_be_visible()
    expect(page.get_by_label("البريد الإلكتروني")).to_be_visible()
    expect(page.get_by_label("كلمة المرور")).to_be_visible()
    expect(page.get_by_role("button", name="دخول")).to_be_visible()
    page.wait_for_function("document.fonts.status === 'loaded'")
    assert page.evaluate("document.fonts.check('16px Cairo', 'تسجيل')"), "the Cairo font did not load"
    assert fonts and all(url.startswith(app_server.base_url) for url in fonts)
