"""Connect: QR pairing, rotation, a drop and its recovery, and logout, all pushed live with no reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import login, open_page, watch_texts
from tests.support.server import AppServer

PHONE = "+201001234567"


def test_pair_rotate_drop_recover_and_disconnect(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    open_page(page, "nav-connect")  # the first page is the org home
    page.evaluate("window.__sameDocument = true")
    status = page.get_by_test_id("session-status")
    expect(status).to_have_text("غير متصل")

    page.get_by_role("button", name="ربط الواتساب").click()
    expect(status).to_have_text("بانتظار مسح الرمز")
    qr = page.get_by_role("img", name="رمز QR لربط واتساب")
    expect(qr).to_be_visible()
    first_src = qr.get_attribute("src")
    assert first_src.startswith("data:image/svg+xml;base64,")
    expect(page.get_by_test_id("qr-countdown")).to_have_text(__import__("re").compile(r"^\d+$"))

    # The simulator rotates the code every few seconds; the new one replaces the old without a click.
    expect(qr).not_to_have_attribute("src", first_src, timeout=15_000)

    app_server.simulate(owner.org_id, "scan", phone=PHONE, name="أسطول التجربة")
    expect(status).to_have_text("متصل")
    expect(page.get_by_test_id("session-phone")).to_contain_text(PHONE)
    expect(page.get_by_test_id("session-name")).to_contain_text("أسطول التجربة")
    expect(page.get_by_test_id("session-last-connected")).to_contain_text("آخر اتصال")
    expect(qr).to_have_count(0)

    seen = watch_texts(page, "session-status")
    reasons = watch_texts(page, "session-reason")
    # The first reconnect attempt fails too, so the outage lasts a backoff step: long enough to show,
    # where a drop healed within one batch of bus events would (rightly) never leave "متصل".
    app_server.simulate(owner.org_id, "fail-connects", count=1)
    app_server.simulate(owner.org_id, "drop")
    # The simulator acknowledges once the gateway dropped, before the engine has written the row.
    page.wait_for_function("() => window.__seen['session-status'].some(t => t !== 'متصل')", timeout=15_000)
    expect(status).to_have_text("متصل", timeout=15_000)
    statuses = seen()
    assert any(s != "متصل" for s in statuses), f"the drop never showed: {statuses}"
    assert statuses[-1] == "متصل"
    # While it reconnects by itself, the page says so in Arabic; once connected the note is gone.
    assert "انقطع الاتصال بواتساب؛ نعيد المحاولة تلقائياً." in reasons(), reasons()
    expect(page.get_by_test_id("session-reason")).to_have_count(0)

    page.get_by_role("button", name="قطع الاتصال").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("قطع الاتصال؟")
    dialog.get_by_role("button", name="نعم، اقطع الاتصال").click()
    expect(status).to_have_text("غير متصل")
    expect(page.get_by_role("button", name="ربط الواتساب")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
