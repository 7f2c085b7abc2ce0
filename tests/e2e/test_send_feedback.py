"""Feedback a person can see after a send: the outcome in view on a phone, the buttons held while it runs, the
form emptied after success, the last outcome gone on a new attempt, the number as it will be dialled, and no
schedule time ignored or taken from the past."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.server import AppServer
from tests.support.showcase import connect_whatsapp_by_api

PHONE = {"width": 390, "height": 844}
SENT = "أُرسلت الرسالة."

# Every `disabled` state the send button goes through from now on.
WATCH_DISABLED = """() => {
    window.__disabled = [];
    const seen = () => {
        const b = document.querySelector('[data-testid="send-now"]');
        if (b) window.__disabled.push(b.disabled);
    };
    new MutationObserver(seen).observe(document.body, {subtree: true, attributes: true, childList: true});
}"""


def _sent_count(server: AppServer, org_id) -> int:
    return server.simulator.get(f"/api/simulator/{org_id}/sent?kind=message").json()["count"]


def test_on_a_phone_the_outcome_of_a_send_is_in_view_within_two_seconds(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    connect_whatsapp_by_api(app_server, owner, phone="+201009998871")
    login(page, owner)
    page.set_viewport_size(PHONE)
    page.goto("/send")
    number = page.get_by_label("رقم المستلم")
    number.fill("01001234567")
    # The number as the service reads it, before anything is sent.
    expect(page.get_by_test_id("recipient-normalised")).to_have_text("سيُرسل إلى +20 100 123 4567")
    page.get_by_label("نص الرسالة").fill("طلبك رقم 1042 في الطريق إليك، ويصل خلال ساعتين.")
    page.evaluate(WATCH_DISABLED)

    tapped = time.monotonic()
    page.get_by_test_id("send-now").click()
    outcome = page.get_by_test_id("send-result")
    expect(outcome).to_have_text(SENT, timeout=2_000)
    expect(outcome).to_be_in_viewport(timeout=500)
    took = time.monotonic() - tapped
    assert took < 2.0, f"the outcome took {took:.2f} s"
    expect(page.get_by_test_id("send-result-recipient")).to_have_text("إلى +20 100 123 4567")
    # A toast says it too, wherever the page is scrolled.
    expect(page.locator("[data-sonner-toast]").filter(has_text=SENT)).to_be_in_viewport()
    # The button was held while the send ran, and is free again.
    assert True in page.evaluate("window.__disabled"), "the send button was never disabled while it ran"
    expect(page.get_by_test_id("send-now")).to_be_enabled()
    # The form is empty for the next message.
    expect(number).to_have_value("")
    expect(page.get_by_label("نص الرسالة")).to_have_value("")
    expect(page.get_by_test_id("recipient-normalised")).to_have_count(0)
    assert _sent_count(app_server, owner.org_id) == 1

    # A new attempt that fails does not leave the old "sent" beside its error.
    number.fill("12345")
    page.get_by_label("نص الرسالة").fill("رسالة ثانية")
    page.get_by_test_id("send-now").click()
    expect(page.get_by_test_id("phone-error")).to_contain_text("رقم الهاتف غير صحيح")
    expect(outcome).to_have_count(0)


def test_a_schedule_time_is_never_ignored_nor_taken_from_the_past(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    connect_whatsapp_by_api(app_server, owner, phone="+201009998872")
    login(page, owner)
    page.goto("/send")
    page.get_by_label("رقم المستلم").fill("+201001234569")
    page.get_by_label("نص الرسالة").fill("موعد الصيانة غداً الساعة العاشرة.")
    cairo = ZoneInfo("Africa/Cairo")  # the organisation's zone (the default), where the field's time is read

    # "Send now" with a time filled in: the person is asked which they meant; nothing is sent.
    later = (datetime.now(cairo) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("موعد الإرسال (اختياري)").fill(later)
    page.get_by_test_id("send-now").click()
    expect(page.get_by_test_id("schedule-error")).to_contain_text("اخترت موعداً للإرسال")
    expect(page.get_by_test_id("send-result")).to_have_count(0)

    # A time already past is refused in Arabic, not "scheduled" and sent at once.
    earlier = (datetime.now(cairo) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("موعد الإرسال (اختياري)").fill(earlier)
    expect(page.get_by_test_id("schedule-error")).to_have_count(0)
    page.get_by_test_id("schedule").click()
    expect(page.get_by_test_id("schedule-error")).to_have_text(
        "هذا الموعد مضى. اختر وقتاً قادماً، أو امسح الموعد واضغط «إرسال الآن».")
    expect(page.get_by_test_id("send-result")).to_have_count(0)
    assert app_server.queue_statuses(owner.org_id) == {}
    assert _sent_count(app_server, owner.org_id) == 0

    # A time ahead is scheduled, said so in view, and the form is emptied. The refusal goes once the time is
    # changed, and the click waits for it as a person's eye does: its line sits above the buttons, and clicking
    # at once raced its removal (the field sends its value when it loses focus, on the button's press), so on a
    # loaded machine the buttons moved up between press and release and the release missed the button.
    page.get_by_label("موعد الإرسال (اختياري)").fill(later)
    expect(page.get_by_test_id("schedule-error")).to_have_count(0)
    page.get_by_test_id("schedule").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أضيفت الرسالة إلى الطابور.")
    expect(page.get_by_label("موعد الإرسال (اختياري)")).to_have_value("")
    assert app_server.queue_statuses(owner.org_id) == {"+201001234569": "pending"}
