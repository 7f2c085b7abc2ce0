"""One-time secrets in view with a copy button, the organisation id to copy for X-Org-Id, and the simulated phone's
scan as a button on /connect (simulator mode), so nobody needs a shell to try the product."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.server import AppServer


def _clipboard(page: Page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def test_a_new_api_key_is_in_view_with_a_copy_button_that_works(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size({"width": 1366, "height": 700})
    login(page, owner)
    page.goto("/settings")

    # The organisation id, which every API call sends in X-Org-Id, with its own copy button.
    expect(page.get_by_test_id("org-id")).to_have_text(str(owner.org_id))
    page.get_by_test_id("copy-org-id").click()
    expect(page.locator("[data-sonner-toast]").filter(has_text="نُسخ إلى الحافظة.")).to_be_visible()
    assert _clipboard(page) == str(owner.org_id)

    # The key form sits low on the page: the key still appears in the middle of the screen.
    name = page.get_by_label("اسم المفتاح")
    name.scroll_into_view_if_needed()
    name.fill("fleet-backend")
    page.get_by_role("button", name="إنشاء مفتاح").click()
    dialog = page.get_by_role("alertdialog")
    secret = dialog.get_by_test_id("revealed-secret")
    expect(secret).to_have_text(re.compile(r"^fdk_\S{20,}$"))
    expect(secret).to_be_in_viewport(ratio=1)
    copy = dialog.get_by_role("button", name="نسخ", exact=True)
    expect(copy).to_be_in_viewport(ratio=1)
    copy.click()
    key = _clipboard(page)
    assert key == secret.inner_text()
    # What was copied is the working key.
    headers = {"Authorization": f"Bearer {key}", "X-Org-Id": str(owner.org_id)}
    assert app_server.http.get("/api/messages", headers=headers).status_code == 200

    # "I copied it" closes the dialog, and the key is not shown again.
    dialog.get_by_role("button", name="نسختُه").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.get_by_test_id("revealed-secret")).to_have_count(0)
    expect(page.get_by_test_id("key-row").filter(has_text="fleet-backend")).to_have_count(1)
    page.reload()
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    expect(page.get_by_test_id("revealed-secret")).to_have_count(0)


def test_a_generated_webhook_secret_is_shown_once_with_a_copy_button(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, owner)
    page.goto("/settings")
    page.get_by_label("الرابط").fill("https://hooks.example.com/fleet")
    page.get_by_role("button", name="حفظ الرابط").click()
    dialog = page.get_by_role("alertdialog")
    secret = dialog.get_by_test_id("revealed-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_\S{20,}$"))
    expect(secret).to_be_in_viewport(ratio=1)
    dialog.get_by_role("button", name="نسخ", exact=True).click()
    assert _clipboard(page) == secret.inner_text()
    dialog.get_by_role("button", name="نسختُه").click()
    expect(page.get_by_test_id("revealed-secret")).to_have_count(0)
    expect(page.get_by_label("الرابط")).to_have_value("")  # saved: the form is empty for the next one


def test_simulator_mode_offers_the_scan_as_a_button(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    page.goto("/connect")
    page.get_by_role("button", name="ربط الواتساب").click()
    expect(page.get_by_role("img", name="رمز QR لربط واتساب")).to_be_visible()
    page.get_by_test_id("simulate-scan").click()
    expect(page.get_by_test_id("session-status")).to_have_text("متصل")
    expect(page.get_by_test_id("session-phone")).to_contain_text("+2010")
    expect(page.get_by_test_id("simulate-scan")).to_have_count(0)
