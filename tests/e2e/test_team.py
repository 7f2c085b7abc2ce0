"""Organisations and their people, in real browsers and with no command line after the demo accounts.

The super_admin creates an organisation and copies its owner's invitation; the owner accepts it, invites a
member and changes the member's role; the member signs in, changes their password and signs out
everywhere, and another browser of theirs is signed out. Every step is in the audit log, in Arabic."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from fleet_dashboard import strings
from tests.support.browser import at, login, open_page
from tests.support.server import Account, AppServer

NEW_PASSWORD = "a-brand-new-pass-9"


def _context(browser: Browser, app_server: AppServer) -> BrowserContext:
    return browser.new_context(base_url=app_server.base_url, locale="ar-EG", timezone_id="Africa/Cairo",
                               viewport={"width": 1280, "height": 900})


def _accept(page: Page, url: str, name: str, password: str, intro: str) -> None:
    """Open an invitation link, set a name and a password, and land signed in."""
    page.goto(url)
    expect(page.get_by_test_id("invite-intro")).to_contain_text(intro)
    page.get_by_label(strings.INVITE_FULL_NAME).fill(name)
    page.get_by_label(strings.INVITE_PASSWORD, exact=True).fill(password)
    page.get_by_label(strings.INVITE_PASSWORD_AGAIN).fill(password)
    page.get_by_test_id("accept-invite").click()
    expect(page.get_by_test_id("sidebar").get_by_test_id("user-label")).to_have_text(name)


def _as(email: str, password: str, org: uuid.UUID | None) -> Account:
    return Account(email=email, password=password, user_id=uuid.uuid4(), org_id=org, org_slug=None, org_name=None)


@pytest.mark.timeout(900)  # three browsers and a dozen steps, on a shared machine
def test_organisation_owner_and_member_without_a_shell(page: Page, browser: Browser, app_server: AppServer) -> None:
    tag = uuid.uuid4().hex[:6]
    org_name, owner_email, member_email = f"شركة النقل {tag}", f"owner-{tag}@fleet.local", f"driver-{tag}@fleet.local"
    root = app_server.make_user("super_admin")  # `make run`'s demo super_admin
    app_server.make_org("مؤسسة الديمو")  # `make run`'s demo organisation

    # 1. The super_admin creates the organisation and copies the owner's one-time invitation.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, root)
    open_page(page, "nav-organizations")
    expect(page).to_have_url(at("/admin/organizations"))
    expect(page.get_by_test_id("org-row").first).to_be_visible()  # the page has loaded its list
    page.get_by_label(strings.ORG_NAME).fill(org_name)
    page.get_by_label(strings.ORG_OWNER_EMAIL).fill(owner_email)
    page.get_by_test_id("create-org").click()
    expect(page.get_by_test_id("invite-link")).to_contain_text(owner_email)
    row = page.get_by_test_id("org-row").filter(has_text=org_name)
    expect(row.get_by_test_id("org-state")).to_have_text(strings.ORG_ACTIVE)
    page.get_by_test_id("invite-copy").click()
    owner_url = page.evaluate("navigator.clipboard.readText()")
    assert "/invite?token=" in owner_url and owner_url == page.get_by_test_id("invite-url").input_value()

    # 2. The owner accepts it, invites a member and, once the member is in, makes them an admin.
    owner_ctx, member_ctx, other_ctx = (_context(browser, app_server) for _ in range(3))
    try:
        owner_page = owner_ctx.new_page()
        _accept(owner_page, owner_url, "منى المالكة", "owner-pass-123", org_name)
        open_page(owner_page, "nav-people")
        expect(owner_page).to_have_url(at("/people"))
        expect(owner_page.get_by_test_id("person-row").first).to_be_visible()
        owner_page.get_by_label(strings.PEOPLE_EMAIL).fill(member_email)
        owner_page.get_by_test_id("invite-person").click()
        expect(owner_page.get_by_test_id("invite-link")).to_contain_text(member_email)
        member_url = owner_page.get_by_test_id("invite-url").input_value()
        expect(owner_page.get_by_test_id("invitation-row").filter(has_text=member_email)).to_be_visible()

        member_page = member_ctx.new_page()
        _accept(member_page, member_url, "سامي السائق", "member-pass-123", strings.ROLES["member"])
        member_page.goto(member_url)  # the link worked once
        expect(member_page.get_by_test_id("invite-link-error")).to_have_text(strings.error_text("link_used"))

        owner_page.reload()
        person = owner_page.get_by_test_id("person-row").filter(has_text=member_email)
        expect(person).to_have_attribute("data-role", "member")
        person.get_by_test_id("role-select").click()
        owner_page.get_by_role("option", name=strings.ROLES["admin"], exact=True).click()
        # Nothing changes until the dialog naming the person and both roles is confirmed.
        ask = owner_page.get_by_test_id("role-change-dialog")
        expect(ask).to_contain_text("سامي السائق")
        expect(ask.get_by_test_id("role-change-roles")).to_have_text(
            f"من «{strings.ROLES['member']}» إلى «{strings.ROLES['admin']}».")
        expect(person).to_have_attribute("data-role", "member")
        ask.get_by_test_id("confirm-role-change").click()
        expect(person).to_have_attribute("data-role", "admin")
        expect(ask).to_have_count(0)

        # 3. The member signs in, changes their password, and signs out everywhere.
        other_page = other_ctx.new_page()
        login(other_page, _as(member_email, "member-pass-123", None))
        open_page(other_page, "nav-account")
        expect(other_page.get_by_test_id("account-email")).to_have_text(member_email)
        other_page.get_by_label(strings.ACCOUNT_CURRENT_PASSWORD).fill("member-pass-123")
        other_page.get_by_label(strings.ACCOUNT_NEW_PASSWORD, exact=True).fill(NEW_PASSWORD)
        other_page.get_by_label(strings.ACCOUNT_NEW_PASSWORD_AGAIN).fill(NEW_PASSWORD)
        other_page.get_by_test_id("change-password").click()
        expect(other_page.get_by_text(strings.ACCOUNT_PASSWORD_CHANGED)).to_be_visible()
        expect(other_page.get_by_test_id("account-email")).to_have_text(member_email)  # not blank after the change
        # The first browser held the old password's session: it is out, told why, and the new password lets it in.
        member_page.goto("/history")
        expect(member_page).to_have_url(at("/login", "next=/history"))
        expect(member_page.get_by_test_id("login-note")).to_have_text(strings.SIGNIN_ENDED["ended"])
        login(member_page, _as(member_email, NEW_PASSWORD, None), path="/login?next=/history")
        expect(member_page).to_have_url(at("/history"))
        other_page.reload()
        expect(other_page.get_by_test_id("account-email")).to_have_text(member_email)  # this tab stayed in

        other_page.get_by_test_id("sign-out-everywhere").click()
        other_page.get_by_test_id("confirm-sign-out-everywhere").click()
        expect(other_page).to_have_url(at("/login"))
        member_page.goto("/history")  # the other browser is signed out too
        expect(member_page).to_have_url(at("/login", "next=/history"))

        # Every step is in the organisation's audit log, in Arabic.
        open_page(owner_page, "nav-audit")
        events = owner_page.get_by_test_id("audit-row")
        expect(events.first).to_be_visible()
        for event_type in ("org_created", "member_invited", "invitation_accepted", "role_changed",
                           "password_changed", "signed_out_everywhere"):
            badge = owner_page.locator(f'[data-testid="audit-row"][data-type="{event_type}"]').first
            expect(badge).to_contain_text(strings.AUDIT_EVENTS[event_type])
        assert owner_page.locator('[data-testid="audit-row"][data-type="member_invited"]').count() == 2
        assert owner_page.locator('[data-testid="audit-row"][data-type="invitation_accepted"]').count() == 2
    finally:
        for ctx in (owner_ctx, member_ctx, other_ctx):
            ctx.close()


def test_the_organisation_page_renames_suspends_and_resumes(page: Page, app_server: AppServer) -> None:
    org = app_server.make_org(f"مؤسسة {uuid.uuid4().hex[:6]}")
    login(page, app_server.make_user("super_admin"))
    page.goto("/admin/organizations")
    row = page.locator(f'[data-testid="org-row"][data-slug="{org.slug}"]')
    expect(row).to_be_visible()
    row.get_by_test_id("rename-org").click()
    page.get_by_label(strings.ORG_NAME).last.fill("الاسم الجديد " + org.slug)
    page.get_by_test_id("confirm-rename-org").click()
    expect(row).to_contain_text("الاسم الجديد " + org.slug)
    row.get_by_test_id("suspend-org").click()
    # The dialog names the organisation it suspends.
    expect(page.get_by_role("dialog")).to_contain_text("إيقاف مؤسسة الاسم الجديد " + org.slug + "؟")
    page.get_by_label(strings.ORG_SUSPEND_REASON).fill("لم تُدفع الفاتورة")
    page.get_by_test_id("confirm-suspend-org").click()
    expect(row.get_by_test_id("org-state")).to_have_text(strings.ORG_SUSPENDED)
    row.get_by_test_id("resume-org").click()
    expect(row.get_by_test_id("org-state")).to_have_text(strings.ORG_ACTIVE)
    assert app_server.audit_types(org.id) == ["org_renamed", "org_suspended", "org_resumed"]


def test_a_member_has_no_team_or_organisations_page(page: Page, app_server: AppServer) -> None:
    member = app_server.owner("member")
    login(page, member)
    expect(page.get_by_test_id("sidebar").get_by_test_id("nav-people")).to_have_count(0)
    expect(page.get_by_test_id("sidebar").get_by_test_id("nav-organizations")).to_have_count(0)
    expect(page.get_by_test_id("sidebar").get_by_test_id("nav-account")).to_be_visible()
    page.goto("/people")
    expect(page.get_by_test_id("not-allowed")).to_be_visible()
    expect(page.get_by_test_id("person-row")).to_have_count(0)
