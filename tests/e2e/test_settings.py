"""Settings: an owner adds a webhook and an API key (each secret shown once), the key works on the API
until it is revoked, and a member sees the lists without the forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from sqlmodel import select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.integrations import webhooks
from fleet_dashboard.integrations.models import Webhook, WebhookDelivery
from tests.support.browser import login, open_page
from tests.support.server import AppServer

HOOK_URL = "http://127.0.0.1:9/hooks/whatsapp"


def test_owner_manages_webhooks_and_api_keys(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    open_page(page, "nav-settings")
    expect(page.get_by_role("heading", name="الإعدادات", level=1)).to_be_visible()
    # The organisation's own settings come first; webhooks and keys sit under "الربط البرمجي".
    expect(page.get_by_role("heading", name="إعدادات المؤسسة", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="الربط البرمجي", level=2)).to_be_visible()
    org_top = page.get_by_test_id("timezone-card").bounding_box()["y"]
    assert org_top < page.get_by_test_id("settings-integration").bounding_box()["y"]

    # A webhook with no secret typed: one is generated and shown once.
    page.get_by_label("الرابط").fill("ftp://nowhere")
    page.get_by_role("button", name="حفظ الرابط").click()
    expect(page.get_by_test_id("webhook-error")).to_contain_text("http://")
    page.get_by_label("الرابط").fill(HOOK_URL)
    page.get_by_role("checkbox", name="الرسائل الواردة").click()
    page.get_by_role("button", name="حفظ الرابط").click()
    hook = page.get_by_test_id("webhook-row").filter(has_text=HOOK_URL)
    expect(hook).to_contain_text("حالة الرسائل، حالة الجلسة")  # the events by their Arabic names
    expect(hook).not_to_contain_text("الرسائل الواردة")
    expect(hook).not_to_contain_text("message.status")
    expect(page.get_by_test_id("revealed-secret")).to_have_text(re.compile(r"^whsec_\S{20,}$"))
    page.get_by_role("button", name="نسختُه").click()
    expect(page.get_by_test_id("revealed-secret")).to_have_count(0)

    # What happened to the events sent to it has its own view on the webhooks card, in Arabic.
    deliveries = page.get_by_test_id("webhook-deliveries")
    expect(deliveries.get_by_test_id("deliveries-empty")).to_be_visible()
    with app_server.session() as s:
        webhook = s.exec(select(Webhook).where(Webhook.org_id == owner.org_id)).one()
        s.add(WebhookDelivery(webhook_id=webhook.id, org_id=owner.org_id, event={"type": "message.status"},
                              status="failed", attempts=6, last_status_code=500, last_error="HTTP 500",
                              settled_at=datetime.now(UTC)))
    page.reload()
    failed = page.get_by_test_id("delivery-row")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("حالة الرسائل")
    expect(failed).to_contain_text("فشل نهائياً")
    expect(failed).to_contain_text("رد الخادم 500")

    # An API key with only the read scope; the key works on the API, then stops once revoked.
    page.get_by_label("اسم المفتاح").fill("reporting")
    page.get_by_role("checkbox", name="الإرسال", exact=True).click()
    page.get_by_role("checkbox", name="الجلسة", exact=True).click()
    page.get_by_role("button", name="إنشاء مفتاح").click()
    secret = page.get_by_test_id("revealed-secret")
    expect(secret).to_have_text(re.compile(r"^fdk_\S{20,}$"))
    key = secret.inner_text()
    page.get_by_role("button", name="نسختُه").click()
    row = page.get_by_test_id("key-row").filter(has_text="reporting")
    expect(row).to_contain_text("القراءة")  # the scopes by their Arabic names
    expect(row).not_to_contain_text("الإرسال")
    expect(row).not_to_contain_text("read")
    headers = {"Authorization": f"Bearer {key}", "X-Org-Id": str(owner.org_id)}
    assert app_server.http.get("/api/messages", headers=headers).status_code == 200
    denied = app_server.http.post("/api/messages/send", headers=headers,
                                  json={"recipient": "+201001234567", "message": "x"})
    assert denied.status_code == 403

    row.get_by_role("button", name="إلغاء المفتاح").click()
    page.get_by_role("alertdialog").get_by_role("button", name="إلغاء المفتاح").click()
    expect(row).to_have_attribute("data-revoked", "1")
    expect(row).to_contain_text("ملغى")
    assert app_server.http.get("/api/messages", headers=headers).status_code == 401

    # The secret is not shown again after a reload.
    page.reload()
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    expect(page.get_by_test_id("revealed-secret")).to_have_count(0)

    hook.get_by_role("button", name="حذف").click()
    page.get_by_role("alertdialog").get_by_role("button", name="حذف").click()
    expect(hook).to_have_count(0)

    types = app_server.audit_types(owner.org_id, owner.user_id)
    for event in ("webhook_saved", "api_key_created", "api_key_revoked", "webhook_deleted"):
        assert event in types


def test_member_sees_no_webhooks_or_keys(page: Page, app_server: AppServer) -> None:
    """Webhook URLs and API keys are the organisation's integration secrets: not a member's (docs/SECURITY.md)."""
    org = app_server.make_org()
    with app_server.session() as s:
        webhooks.set_webhook(session=s, org_id=org.id, url="https://hooks.example.com/secret-path",
                             events=["message.inbound"], actor=SYSTEM)
    member = app_server.make_user("member", org)
    login(page, member)
    expect(page.get_by_test_id("sidebar").get_by_test_id("nav-history")).to_be_visible()
    expect(page.get_by_test_id("sidebar").get_by_test_id("nav-settings")).to_have_count(0)
    expect(page.get_by_test_id("sidebar").get_by_test_id("nav-audit")).to_have_count(0)
    page.goto("/settings")
    expect(page.get_by_test_id("not-allowed")).to_be_visible()
    expect(page.get_by_text("secret-path")).to_have_count(0)
    expect(page.get_by_role("button", name="حفظ الرابط")).to_have_count(0)
    expect(page.get_by_role("button", name="إنشاء مفتاح")).to_have_count(0)


def test_the_time_zone_is_picked_by_searching_its_city_in_arabic(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    open_page(page, "nav-settings")
    card = page.get_by_test_id("timezone-card")
    field = card.get_by_label("المنطقة الزمنية", exact=True)
    field.fill("الريا")
    options = card.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("الرياض")
    expect(options.first).to_contain_text("Asia/Riyadh")
    options.first.click()
    expect(field).to_have_value("Asia/Riyadh")
    expect(options).to_have_count(0)
    card.get_by_test_id("save-timezone").click()
    expect(card.get_by_test_id("timezone-current")).to_contain_text("الرياض")
    expect(page.get_by_test_id("zone-label")).to_contain_text("الرياض")
    # An IANA name found by its Latin letters too.
    field.fill("tokyo")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("data-zone", "Asia/Tokyo")
    assert "org_timezone_changed" in app_server.audit_types(owner.org_id)
