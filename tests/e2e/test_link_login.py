"""The SaaS's one-time sign-in link in a real browser: it signs in once, then says it was used or expired."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from fleet_dashboard import strings
from fleet_dashboard.accounts import links, permissions
from fleet_dashboard.accounts.models import OneTimeLink
from fleet_dashboard.core.tables import utcnow
from tests.support.browser import at
from tests.support.server import AppServer

SAAS = permissions.platform("service_role")


def issue(app_server: AppServer, user_id, next_path=None, *, expired=False) -> str:
    with app_server.session() as s:
        link, url = links.issue_login_link(session=s, actor=SAAS, user_id=user_id, next_path=next_path)
        if expired:
            s.get(OneTimeLink, link.id).expires_at = utcnow() - timedelta(seconds=1)
    return url


def test_a_login_link_signs_in_once(page: Page, browser: Browser, app_server: AppServer) -> None:
    owner = app_server.owner()
    url = issue(app_server, owner.user_id, "/history")
    assert url.startswith("/login/link?token=")
    page.goto(url)
    expect(page).to_have_url(at("/history"))
    expect(page.get_by_test_id("sidebar").get_by_test_id("user-label")).to_be_visible()
    expect(page.get_by_test_id("sidebar")).to_contain_text(owner.org_name)
    assert "login" in app_server.audit_types(owner.org_id, owner.user_id)

    other = browser.new_context(base_url=app_server.base_url, locale="ar-EG")
    try:  # the same link in another browser: refused, no session
        second = other.new_page()
        second.goto(url)
        expect(second.get_by_test_id("link-error")).to_have_text(strings.error_text("link_used"))
        second.goto("/history")
        expect(second).to_have_url(at("/login", "next=/history"))
    finally:
        other.close()


def test_an_expired_or_unknown_link_explains_itself(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    page.goto(issue(app_server, owner.user_id, expired=True))
    expect(page.get_by_test_id("link-error")).to_have_text(strings.error_text("link_expired"))
    page.goto("/login/link?token=made-up")
    expect(page.get_by_test_id("link-error")).to_have_text(strings.error_text("link_invalid"))
    page.get_by_role("link", name=strings.LINK_LOGIN_TO_FORM).click()
    expect(page).to_have_url(at("/login"))
