"""A conversation's times: the clock alone on each message, the day once above each day's first message."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from fleet_dashboard.web.format import day_label
from fleet_dashboard.web.state.conversation import conversation_items

CAIRO = ZoneInfo("Africa/Cairo")


def _row(when: datetime, direction: str = "outbound", **extra) -> dict:
    return {"id": uuid.uuid4(), "direction": direction, "body": "نص", "status": "sent" if direction == "outbound"
            else "", "created_at": when, **extra}


def test_days_are_named_once_in_the_organisations_zone() -> None:
    today = date(2026, 12, 7)
    rows = [_row(datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
            _row(datetime(2026, 12, 6, 21, 30, tzinfo=UTC), "inbound"),  # 23:30 in Cairo: still yesterday
            _row(datetime(2026, 12, 6, 22, 30, tzinfo=UTC)),  # 00:30 in Cairo: today
            _row(datetime(2026, 12, 7, 8, 0, tzinfo=UTC), has_file=True, file="إيصال.png", kind="image")]
    items = conversation_items(rows, CAIRO, today=today)
    assert [i["day"] for i in items] == ["الجمعة 4 ديسمبر 2026", "أمس", "اليوم", ""]
    assert [i["time"] for i in items] == ["11:00", "23:30", "00:30", "10:00"]
    assert items[3]["file_url"] == f"/files/messages/{rows[3]['id']}" and items[0]["file_url"] == ""
    assert items[1]["url"] == "" and items[0]["url"] == f"/history/{rows[0]['id']}"


def test_a_day_label_has_no_latin_month() -> None:
    assert day_label(date(2027, 3, 1), date(2027, 3, 9)) == "الاثنين 1 مارس 2027"
