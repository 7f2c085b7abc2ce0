"""Local time and the org home: an organisation in Asia/Riyadh reads every time in Riyadh time (pages and CSV),
schedules in it, and its home's numbers are the history's counts for the same days, kept live.

The browser runs in Africa/Cairo (conftest), so a Riyadh time on screen can only come from the server."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.support.browser import connect_whatsapp, login, open_page, watch_texts
from tests.support.server import Account, AppServer, _events_through

RIYADH = "Asia/Riyadh"
# 06:00:07 UTC is 09:00:07 in Riyadh (08:00:07 in the browser's Cairo).
SEEDED_AT = datetime(2026, 1, 5, 6, 0, 7, tzinfo=UTC)
SEEDED_SHOWN = "2026-01-05 09:00:07 (UTC+03:00)"
# Longer than the test takes on a busy machine.
MIDNIGHT_MARGIN = 180
RIYADH_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+03:00\)$")


def _riyadh_owner(app_server: AppServer) -> Account:
    from fleet_dashboard.accounts import lifecycle
    from fleet_dashboard.accounts.permissions import platform

    org = app_server.make_org()
    with app_server.session() as s:
        lifecycle.set_timezone(session=s, actor=platform("e2e"), org_id=org.id, timezone=RIYADH)
    return app_server.make_user("owner", org)


def _add_message(app_server: AppServer, org_id: uuid.UUID, status: str, at: datetime, *, phone: str,
                 code: str | None = None, wa_id: str | None = None) -> uuid.UUID:
    from fleet_dashboard.messaging.models import WhatsAppMessage

    failed = status == "failed"
    row = WhatsAppMessage(org_id=org_id, recipient_phone=phone, message_body=f"رسالة {status}", status=status,
                          created_at=at, whatsapp_message_id=wa_id,
                          sent_at=at + timedelta(seconds=2) if not failed else None,
                          read_at=at + timedelta(minutes=5) if status == "read" else None,
                          failed_at=at if failed else None, error="+966 opted out" if failed else None,
                          error_code=code)
    with app_server.session() as s:
        s.add(row)
    return row.id


def _all_stamps_are_riyadh(page: Page) -> None:
    stamps = page.get_by_test_id("when")
    expect(stamps.first).to_be_visible()
    for text in stamps.all_inner_texts():
        assert RIYADH_STAMP.match(text.strip()), text


def test_a_riyadh_organisation_reads_and_schedules_in_riyadh_time(page: Page, app_server: AppServer) -> None:
    from fleet_dashboard.accounts.models import WhatsAppAuditLog
    from fleet_dashboard.integrations.models import ApiKey
    from fleet_dashboard.messaging.models import WhatsAppTemplate

    owner = _riyadh_owner(app_server)
    message_id = _add_message(app_server, owner.org_id, "read", SEEDED_AT, phone="+966501110001")
    template = app_server.make_template(owner.org_id, "riyadh_note", "مرحبا {{name}}")
    with app_server.session() as s:
        s.add(WhatsAppAuditLog(org_id=owner.org_id, actor_id=owner.user_id, event_type="template_created",
                               event_data={"name": "riyadh_note"}, created_at=SEEDED_AT))
        row = s.get(WhatsAppTemplate, template.id)
        row.last_used_at = SEEDED_AT
        s.add(row)
        from fleet_dashboard.accounts.permissions import SYSTEM
        from fleet_dashboard.integrations import api_keys

        key, _ = api_keys.create_key(session=s, org_id=owner.org_id, name="riyadh-backend", scopes=["send"],
                                     actor=SYSTEM)
        s.get(ApiKey, key.id).created_at = SEEDED_AT

    login(page, owner)
    # The home is the first page, and every page says which zone its times are in.
    expect(page.get_by_role("heading", name="الرئيسية", level=1)).to_be_visible()
    # By its Arabic city name, the offset beside it.
    expect(page.get_by_test_id("zone-label")).to_contain_text("الرياض")
    expect(page.get_by_test_id("zone-label")).to_contain_text("UTC+03:00")

    open_page(page, "nav-history")
    row = page.get_by_test_id("message-row").filter(has_text="+966501110001")
    expect(row).to_contain_text(SEEDED_SHOWN)
    expect(page.get_by_test_id("zone-label")).to_contain_text("الرياض")
    _all_stamps_are_riyadh(page)

    # The CSV: local ISO times with the offset written out, and the zone named.
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    with open(download.value.path(), encoding="utf-8") as f:
        exported = {r["id"]: r for r in csv.DictReader(io.StringIO(f.read()))}
    seeded = exported[str(message_id)]
    assert (seeded["created_at"], seeded["sent_at"], seeded["read_at"], seeded["timezone"]) == \
        ("2026-01-05T09:00:07+03:00", "2026-01-05T09:00:09+03:00", "2026-01-05T09:05:07+03:00", RIYADH)

    row.get_by_role("link", name="عرض").click()
    expect(page.get_by_role("heading", name="تفاصيل الرسالة", level=1)).to_be_visible()
    expect(page.locator("body")).to_contain_text(SEEDED_SHOWN)
    expect(page.locator("body")).to_contain_text("2026-01-05 09:05:07 (UTC+03:00)")
    _all_stamps_are_riyadh(page)

    open_page(page, "nav-templates")
    expect(page.locator("body")).to_contain_text(SEEDED_SHOWN)
    _all_stamps_are_riyadh(page)

    # The audit log reads as sentences: the local time to the minute, its zone named once by the page's caption.
    open_page(page, "nav-audit")
    seeded = page.locator('[data-testid="audit-row"][data-type="template_created"]').last
    expect(seeded.get_by_test_id("audit-time")).to_have_text("2026-01-05 09:00")

    open_page(page, "nav-settings")
    expect(page.locator("body")).to_contain_text(SEEDED_SHOWN)
    expect(page.get_by_label("المنطقة الزمنية", exact=True)).to_have_value(RIYADH)
    _all_stamps_are_riyadh(page)

    # Connect: the last connection time, in Riyadh time.
    connect_whatsapp(page, app_server, owner)
    last = page.get_by_test_id("session-last-connected")
    expect(last).to_contain_text("(UTC+03:00)")
    connected_at = datetime.fromisoformat(app_server.whatsapp_status(owner.org_id)["last_connected_at"])
    from zoneinfo import ZoneInfo

    expect(last).to_contain_text(connected_at.astimezone(ZoneInfo(RIYADH)).strftime("%Y-%m-%d %H:%M:%S"))

    # A send scheduled for 09:00 there is due at 06:00 UTC.
    open_page(page, "nav-send")
    expect(page.get_by_test_id("schedule-zone")).to_contain_text("الرياض")
    page.get_by_label("رقم المستلم").fill("+966501110002")
    page.get_by_label("نص الرسالة").fill("موعدك غداً")
    page.get_by_label("موعد الإرسال (اختياري)").fill("2030-05-01T09:00")
    page.get_by_test_id("schedule").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أضيفت الرسالة إلى الطابور.")
    from sqlmodel import select

    from fleet_dashboard.notifications.models import NotificationQueue

    with app_server.session() as s:
        due = s.exec(select(NotificationQueue.scheduled_for).where(
            NotificationQueue.org_id == owner.org_id, NotificationQueue.recipient_phone == "+966501110002")).one()
    assert due == datetime(2030, 5, 1, 6, 0, tzinfo=UTC)

    open_page(page, "nav-queue")
    expect(page.locator("body")).to_contain_text("2030-05-01 09:00:00 (UTC+03:00)")
    _all_stamps_are_riyadh(page)

    # The owner moves the organisation to Cairo: the same instant now reads 08:00:07 (UTC+02:00), audited.
    open_page(page, "nav-settings")
    field = page.get_by_label("المنطقة الزمنية", exact=True)
    field.fill("Mars/Olympus")
    page.get_by_test_id("save-timezone").click()
    expect(page.get_by_test_id("timezone-error")).to_contain_text("المنطقة الزمنية غير معروفة")
    field.fill("Africa/Cairo")
    page.get_by_test_id("save-timezone").click()
    expect(page.get_by_test_id("zone-label")).to_contain_text("القاهرة")
    open_page(page, "nav-history")
    expect(page.get_by_test_id("message-row").filter(has_text="+966501110001")).to_contain_text(
        "2026-01-05 08:00:07 (UTC+02:00)")
    assert "org_timezone_changed" in app_server.audit_types(owner.org_id)


def _count_rows(page: Page, url: str) -> int:
    page.goto(url)
    expect(page.get_by_role("heading", name="سجل الرسائل", level=1)).to_be_visible()
    expect(page.get_by_test_id("message-row").or_(page.get_by_test_id("history-empty")).first).to_be_visible()
    return page.get_by_test_id("message-row").count()


def _clear_of_midnight(zone) -> None:
    """The test reads "today" in the organisation's zone from its first row to its last check: it must not run
    across that zone's midnight, so it starts after it when it is close."""
    from fleet_dashboard.accounts import localtime

    now = datetime.now(UTC)
    left = (localtime.day_start(localtime.local_today(zone, now=now) + timedelta(days=1), zone) - now).total_seconds()
    if left < MIDNIGHT_MARGIN:
        time.sleep(left + 1)


def test_the_home_counts_what_the_history_lists_and_follows_live(page: Page, app_server: AppServer) -> None:
    from zoneinfo import ZoneInfo

    from fleet_dashboard.accounts import localtime

    owner = _riyadh_owner(app_server)
    zone = ZoneInfo(RIYADH)
    _clear_of_midnight(zone)
    now = datetime.now(UTC)
    today = localtime.local_today(zone, now=now)
    earlier_today = max(localtime.day_start(today, zone), now - timedelta(minutes=2))
    yesterday = localtime.day_start(today, zone) - timedelta(hours=1)  # the same UTC day, often: not today there
    org = owner.org_id
    _add_message(app_server, org, "sent", earlier_today, phone="+966500000001", wa_id=f"wa-{uuid.uuid4().hex}")
    live_wa = f"wa-{uuid.uuid4().hex}"
    _add_message(app_server, org, "sent", earlier_today, phone="+966500000002", wa_id=live_wa)
    _add_message(app_server, org, "delivered", earlier_today, phone="+966500000003")
    _add_message(app_server, org, "read", earlier_today, phone="+966500000004")
    failed_id = _add_message(app_server, org, "failed", earlier_today, phone="+966500000005", code="opted_out")
    _add_message(app_server, org, "pending", earlier_today, phone="+966500000006")
    _add_message(app_server, org, "read", yesterday, phone="+966500000007")
    _add_message(app_server, org, "failed", yesterday, phone="+966500000008", code="opted_out")
    _add_message(app_server, org, "sent", yesterday - timedelta(days=10), phone="+966500000009")
    other = app_server.owner()
    _add_message(app_server, other.org_id, "sent", earlier_today, phone="+966500000010")

    login(page, owner)
    expect(page.get_by_test_id("home-sent-today")).to_have_text("4")
    expected = {"home-sent-today": "4", "home-sent-week": "5", "home-failed-today": "1", "home-failed-week": "2",
                "home-delivery-rate": "60%", "home-read-rate": "40%", "home-in-progress": "1"}
    for test_id, value in expected.items():
        expect(page.get_by_test_id(test_id)).to_have_text(value)
    expect(page.get_by_test_id("home-session-status")).to_have_text("غير متصل")
    expect(page.get_by_test_id("home-reason")).to_contain_text("هذا الرقم طلب إيقاف الرسائل.")
    expect(page.get_by_test_id("home-reason")).to_contain_text("2")

    # The history, filtered to the same Riyadh days, lists exactly what the home counts.
    day, week_start = today.isoformat(), (today - timedelta(days=6)).isoformat()

    def listed(first: str, statuses: tuple[str, ...]) -> int:
        return sum(_count_rows(page, f"/history?from={first}&to={day}&status={s}") for s in statuses)

    sent = ("sent", "delivered", "read")
    assert listed(day, sent) == 4 and listed(week_start, sent) == 5
    assert listed(day, ("failed",)) == 1 and listed(week_start, ("failed",)) == 2
    # The home's own link opens that same filtered history.
    page.goto("/")
    page.get_by_test_id("home-failed-week").click()
    expect(page).to_have_url(re.compile(r"/history/?\?"))
    expect(page.get_by_test_id("message-row")).to_have_count(2)

    # The latest failures link to the message itself.
    page.goto("/")
    failure = page.get_by_test_id("home-failure-row").filter(has_text="+966500000005")
    expect(failure).to_contain_text("(UTC+03:00)")
    failure.get_by_test_id("home-failure-link").click()
    expect(page).to_have_url(re.compile(rf"/history/{failed_id}/?$"))
    expect(page.get_by_test_id("detail-status")).to_have_text("فشل")

    # Live: a read receipt arrives; the rates move without a reload.
    page.goto("/")
    expect(page.get_by_test_id("home-read-rate")).to_have_text("40%")
    page.evaluate("window.__sameDocument = true")
    from fleet_dashboard.messaging import messages

    with app_server.session() as s, _events_through(s):
        assert messages.apply_receipt(session=s, org_id=org, whatsapp_message_ids=[live_wa], kind="read")
    expect(page.get_by_test_id("home-read-rate")).to_have_text("60%")
    expect(page.get_by_test_id("home-delivery-rate")).to_have_text("80%")
    expect(page.get_by_test_id("home-sent-today")).to_have_text("4")
    # And the connection's health, live too.
    connect_whatsapp(page, app_server, owner)
    page.goto("/")
    expect(page.get_by_test_id("home-session-status")).to_have_text("متصل")
    page.evaluate("window.__sameDocument = true")
    watch_texts(page, "home-session-status")
    app_server.simulate(org, "fail-connects", count=1)
    app_server.simulate(org, "drop")
    page.wait_for_function("() => window.__seen['home-session-status'].some(t => t !== 'متصل')", timeout=15_000)
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
