"""Linking by phone number on a phone-sized screen: the owner cannot scan a QR shown on that same phone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.server import AppServer

PHONE = "+201001234567"


def test_an_owner_on_a_390px_phone_links_by_phone_number(page: Page, app_server: AppServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    owner = app_server.owner()
    # Signed in on the phone itself (the sidebar is folded behind the menu button at this width).
    page.goto("/login?next=/connect")  # straight to Connect (the first page is the org home otherwise)
    page.get_by_label("البريد الإلكتروني").fill(owner.email)
    page.get_by_label("كلمة المرور").fill(owner.password)
    page.get_by_role("button", name="دخول").click()
    status = page.get_by_test_id("session-status")
    expect(status).to_have_text("غير متصل")

    page.get_by_role("button", name="الربط برقم الهاتف").click()
    page.get_by_label("رقم واتساب الذي تريد ربطه").fill("+20 100 123 4567")
    page.get_by_role("button", name="احصل على رمز الربط").click()

    code = page.get_by_test_id("pair-code")
    expect(code).to_have_text(re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$"))
    expect(status).to_have_text("بانتظار مسح الرمز")
    expect(page.get_by_test_id("pair-countdown")).to_have_text(re.compile(r"^\d+$"))
    first = int(page.get_by_test_id("pair-countdown").inner_text())
    expect(page.get_by_test_id("pair-countdown")).not_to_have_text(str(first), timeout=5_000)  # it counts down
    steps = page.get_by_test_id("pair-steps")
    expect(steps).to_contain_text("الأجهزة المرتبطة")
    expect(steps).to_contain_text("الربط برقم الهاتف بدلاً من ذلك")
    expect(page.get_by_role("img", name="رمز QR لربط واتساب")).to_have_count(0)
    # The whole code is on screen, readable left to right, on a 390 px wide phone.
    box = code.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # The owner types the code on the phone (the simulator's phone): the session pairs and connects.
    app_server.simulate(owner.org_id, "confirm-code", code=code.inner_text(), name="أسطول الهاتف")
    expect(status).to_have_text("متصل")
    expect(page.get_by_test_id("session-phone")).to_contain_text(PHONE)
    expect(code).to_have_count(0)
    assert "pair_code_generated" in app_server.audit_types(owner.org_id)
