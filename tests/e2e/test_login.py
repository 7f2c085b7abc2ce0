"""Signing in and out: argon2 passwords, an Arabic error, the rate limit, and pages that need a session."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import at, login
from tests.support.server import AppServer


def test_login_lands_on_the_org_home_and_logout_clears_session(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    expect(page).to_have_url(at("/"))
    # The owner's first page is the org home: the connection at a glance.
    expect(page.get_by_role("heading", name="الرئيسية", level=1)).to_be_visible()
    expect(page.get_by_test_id("home-session-status")).to_have_text("غير متصل")
    expect(page.get_by_test_id("sidebar")).to_contain_text(owner.org_name)

    page.get_by_test_id("sidebar").get_by_role("button", name="تسجيل الخروج").click()
    expect(page).to_have_url(at("/login"))
    assert not [c for c in page.context.cookies() if c["name"] == "fd_session" and c["value"]]
    page.goto("/connect")
    expect(page).to_have_url(at("/login", "next=/connect"))


def test_bad_password_shows_arabic_error_and_is_rate_limited(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    page.goto("/login")
    page.get_by_label("البريد الإلكتروني").fill(owner.email)
    page.get_by_label("كلمة المرور").fill("wrong-password")
    page.get_by_role("button", name="دخول").click()
    expect(page.get_by_role("alert")).to_have_text("البريد الإلكتروني أو كلمة المرور غير صحيحة.")
    expect(page).to_have_url(at("/login"))

    for _ in range(5):
        page.get_by_role("button", name="دخول").click()
    # The refusal counts down the seconds left.
    locked = re.compile(r"^محاولات دخول كثيرة\. حاول مرة أخرى بعد \d+ ثانية\.$")
    expect(page.get_by_role("alert")).to_have_text(locked)
    seconds = int(re.search(r"\d+", page.get_by_role("alert").inner_text()).group())
    expect(page.get_by_role("alert")).not_to_have_text(re.compile(rf"بعد {seconds} ثانية"), timeout=3_000)
    expect(page.get_by_role("alert")).to_have_text(locked)  # one second less, still counting
    # Even the right password waits out the limit, so guessing gains nothing.
    page.get_by_label("كلمة المرور").fill(owner.password)
    page.get_by_role("button", name="دخول").click()
    expect(page.get_by_role("alert")).to_have_text(locked)


def test_forged_session_cookie_is_refused(page: Page, app_server: AppServer) -> None:
    page.context.add_cookies([{"name": "fd_session", "value": "eyJ1aWQiOiJ4In0.forged", "url": app_server.base_url}])
    page.goto("/connect")
    expect(page).to_have_url(at("/login", "next=/connect"))
    expect(page.get_by_test_id("user-label")).to_have_count(0)
