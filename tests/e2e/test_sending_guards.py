"""As an owner: set quiet hours and a daily cap on the new "الإرسال" page, see the risk card and today's allowance on
the home page, watch an alert banner appear live when the simulator bans the number and clear when the ban ends,
and receive the alert e-mails through the real local SMTP server the shared live app sends to (tests/conftest.py
starts it before the app)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from playwright.sync_api import Page, expect

from fleet_dashboard.accounts import localtime
from fleet_dashboard.core.tables import utcnow
from tests.support.browser import at, connect_whatsapp, login, open_page, search_overview
from tests.support.server import AppServer


def _hhmm(minutes_from_now: int, zone) -> str:
    return localtime.to_local(utcnow() + timedelta(minutes=minutes_from_now), zone).local.strftime("%H:%M")


def test_an_owner_sets_the_rules_sees_the_number_and_is_alerted_of_a_ban(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    connect_whatsapp(page, app_server, owner)

    # The new page, in the sidebar: quiet hours later tonight, a daily cap of 30.
    open_page(page, "nav-sending")
    expect(page.get_by_role("heading", name="الإرسال", level=1)).to_be_visible()
    zone = localtime.zone_of(None)
    start, end = _hhmm(180, zone), _hhmm(240, zone)
    page.get_by_label("بداية ساعات الهدوء").fill(start)
    page.get_by_label("نهاية ساعات الهدوء").fill(end)
    page.get_by_test_id("day-friday").click()
    page.get_by_label("الحد اليومي للرسائل").fill("30")
    page.get_by_test_id("save-rules").click()
    expect(page.get_by_text("حُفظت قواعد الإرسال.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("بداية ساعات الهدوء")).to_have_value(start)
    expect(page.get_by_label("نهاية ساعات الهدوء")).to_have_value(end)
    expect(page.get_by_label("الحد اليومي للرسائل")).to_have_value("30")
    expect(page.get_by_test_id("day-friday")).to_be_checked()
    assert "sending_rules_changed" in app_server.audit_types(owner.org_id)
    # A mistake is explained in Arabic, and nothing is saved.
    page.get_by_label("الحد اليومي للرسائل").fill("0")
    page.get_by_test_id("save-rules").click()
    expect(page.get_by_test_id("rules-error")).to_contain_text("الحد اليومي")

    # The home: the risk card (a healthy new number) and today's allowance (warm-up 50, under the cap of 30).
    open_page(page, "nav-home")
    expect(page.get_by_test_id("risk-card")).to_be_visible()
    expect(page.get_by_test_id("risk-level")).to_have_text("سليم")
    expect(page.get_by_test_id("today-allowance")).to_have_text("0 / 30")

    # WhatsApp bans the number for a few seconds: the banner appears without a reload, then clears.
    page.evaluate("window.__sameDocument = true")
    expect(page.get_by_test_id("alert-banner")).to_have_count(0)
    app_server.simulate(owner.org_id, "ban", seconds=6)
    banner = page.get_by_test_id("alert-banner")
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner).to_contain_text("توقف الإرسال لحماية الرقم")
    expect(banner).to_contain_text("حظر واتساب هذا الرقم مؤقتاً")
    expect(page.get_by_test_id("pause-notice")).to_be_visible()
    expect(banner).to_have_count(0, timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True  # live, not a reload

    # One alert e-mail and one all-clear, to the owner, in Arabic.
    mails = app_server.mail.wait_for(owner.email, 2)
    assert len(mails) == 2, [m["Subject"] for m in mails]
    opening, cleared = mails
    assert opening["Subject"].startswith("تنبيه") and owner.org_name in opening["Subject"]
    assert "حظر واتساب هذا الرقم مؤقتاً" in opening.get_content()
    assert cleared["Subject"].startswith("انتهى التنبيه")


def test_the_super_admin_sees_each_number_s_risk_and_its_open_incident_live(page: Page, app_server: AppServer) -> None:
    org = app_server.make_org(f"أسطول الحظر {uuid.uuid4().hex[:4]}")
    owner = app_server.make_user("owner", org)
    app_server.request_connect(org.id, owner.user_id)
    app_server.simulate(org.id, "scan", phone="+201007770099", name="هاتف الأسطول")
    admin = app_server.make_user("super_admin")
    login(page, admin)
    expect(page).to_have_url(at("/admin"))
    search_overview(page, org.slug)
    row = page.locator(f'[data-testid="org-row"][data-slug="{org.slug}"]')
    expect(row.get_by_test_id("org-status")).to_have_text("متصل")
    expect(row.get_by_test_id("org-risk")).to_have_text("سليم")
    incident = page.get_by_test_id("incident-row").filter(has_text=org.name)
    expect(incident).to_have_count(0)

    # WhatsApp bans the number: the overview lists the open incident without a reload, and drops it at the end.
    page.evaluate("window.__sameDocument = true")
    app_server.simulate(org.id, "ban", seconds=6)
    expect(incident).to_be_visible(timeout=15_000)
    expect(incident).to_have_attribute("data-kind", "paused")
    expect(incident).to_contain_text("حظر واتساب هذا الرقم مؤقتاً")
    expect(incident).to_have_count(0, timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
