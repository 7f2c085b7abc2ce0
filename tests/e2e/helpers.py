"""Steps several e2e tests share, written the way a person does them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.server import Account


def login(page: Page, account: Account, *, path: str = "/login") -> None:
    """Sign in through the form and wait until the dashboard frame shows the user."""
    page.goto(path)
    page.get_by_label("البريد الإلكتروني").fill(account.email)
    page.get_by_label("كلمة المرور").fill(account.password)
    page.get_by_role("button", name="دخول").click()
    expect(page.get_by_test_id("sidebar").get_by_test_id("user-label")).to_be_visible()


def open_page(page: Page, nav_test_id: str) -> None:
    """Follow a sidebar link, as a person would."""
    page.get_by_test_id("sidebar").get_by_test_id(nav_test_id).click()


def at(path: str, query: str = "") -> re.Pattern[str]:
    """A URL matcher for a route; the static host may add a trailing slash."""
    tail = re.escape("?" + query) if query else ""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?{tail}$")
