"""Queue: schedule from the Send page, see it pending, cancel it, and retry a real failure until it completes."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import connect_whatsapp, login, open_page, pick_option
from tests.support.server import AppServer

LATER = "+201001110001"
STOPPED = "+201001110002"
WHEN = "2030-05-01T09:30"


def _schedule_reminder(page: Page, recipient: str, when: str) -> None:
    """Fill the reminder's variables, the number and the time: each success empties the form for the next one."""
    page.get_by_label("اسم العميل").fill("سارة")
    page.get_by_label("المبلغ").fill("150 جنيه")
    page.get_by_label("تاريخ الاستحقاق").fill("2030-05-02")
    page.get_by_label("رقم المستلم").fill(recipient)
    page.get_by_label("موعد الإرسال (اختياري)").fill(when)
    page.get_by_role("button", name="جدولة في الطابور").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أضيفت الرسالة إلى الطابور.")


def test_schedule_cancel_and_retry_a_failed_notification(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    connect_whatsapp(page, app_server, owner)
    # A customer who texted STOP: the worker must refuse to message them, for real, not by a test switch.
    app_server.simulate(owner.org_id, "inbound", **{"from": STOPPED, "text": "STOP"})

    open_page(page, "nav-send")
    page.get_by_role("radio", name="قالب").click()
    pick_option(page, "اختر قالباً", "تذكير بالدفع")
    _schedule_reminder(page, LATER, WHEN)
    _schedule_reminder(page, STOPPED, "")  # no time: as soon as the worker can

    open_page(page, "nav-queue")
    expect(page.get_by_role("heading", name="الطابور", level=1)).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    rows = page.get_by_test_id("queue-row")
    later = rows.filter(has_text=LATER)
    expect(later.locator("[data-status]")).to_have_text("بانتظار الإرسال")
    expect(later).to_contain_text("2030-05-01 09:30:00")  # the time typed, in the reader's own zone
    expect(later).to_contain_text("0/3")

    later.get_by_role("button", name="إلغاء").click()
    # Cancelling asks first, naming the number; «تراجع» keeps the message.
    ask = page.get_by_role("alertdialog")
    expect(ask).to_contain_text("إلغاء الرسالة إلى " + LATER + "؟")
    expect(ask).to_contain_text("2030-05-01 09:30:00")
    ask.get_by_role("button", name="تراجع").click()
    expect(later.locator("[data-status]")).to_have_text("بانتظار الإرسال")
    later.get_by_role("button", name="إلغاء").click()
    page.get_by_role("alertdialog").get_by_role("button", name="إلغاء الرسالة").click()
    expect(later.locator("[data-status]")).to_have_text("ملغى")
    expect(later.get_by_role("button", name="إلغاء")).to_have_count(0)

    stopped = rows.filter(has_text=STOPPED)
    expect(stopped.locator("[data-status]")).to_have_text("فشل", timeout=20_000)
    # Why, in Arabic; the technical detail stays in the cell's tooltip.
    reason = stopped.get_by_test_id("queue-error")
    expect(reason).to_have_text("هذا الرقم طلب إيقاف الرسائل.")
    expect(reason.locator("[title]")).to_have_attribute("title", re.compile("opted out"))
    expect(stopped.get_by_role("button", name="إلغاء")).to_have_count(0)

    # The customer opts back in; the person retries, and the row completes without a reload.
    app_server.simulate(owner.org_id, "inbound", **{"from": STOPPED, "text": "START"})
    stopped.get_by_role("button", name="إعادة المحاولة").click()
    expect(stopped.locator("[data-status]")).to_have_text("مكتمل", timeout=20_000)
    expect(stopped.get_by_role("button", name="إعادة المحاولة")).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    assert app_server.queue_statuses(owner.org_id) == {LATER: "cancelled", STOPPED: "completed"}
    sent = app_server.simulator.get(f"/api/simulator/{owner.org_id}/sent?kind=message").json()["messages"]
    assert [m["recipient_phone"] for m in sent] == [STOPPED]
    assert "عزيزي سارة" in sent[0]["text"]
    types = app_server.audit_types(owner.org_id, owner.user_id)
    assert types.count("message_scheduled") == 2
    assert "queue_cancelled" in types and "queue_retried" in types
    assert [d["recipient"] for d in app_server.audit_data(owner.org_id, "queue_cancelled")] == [LATER]
    assert [d["recipient"] for d in app_server.audit_data(owner.org_id, "queue_retried")] == [STOPPED]
