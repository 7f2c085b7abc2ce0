"""Local time: an org's zone for reading, and typed local times read back as UTC across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleet_dashboard.accounts import localtime
from fleet_dashboard.core.errors import ValidationError


def test_a_scheduled_send_for_nine_in_riyadh_is_due_at_six_utc():
    due = localtime.parse_local("2025-01-05T09:00", "Asia/Riyadh")
    assert due == datetime(2025, 1, 5, 6, 0, tzinfo=UTC)
    shown = localtime.to_local(due, "Asia/Riyadh")
    assert (shown.text, shown.offset, shown.label) == ("2025-01-05 09:00", "UTC+03:00", "2025-01-05 09:00 (UTC+03:00)")


def test_cairo_summer_and_winter_offsets():
    assert localtime.to_local(datetime(2025, 1, 15, 10, 0, tzinfo=UTC), "Africa/Cairo").offset == "UTC+02:00"
    assert localtime.to_local(datetime(2025, 7, 15, 10, 0, tzinfo=UTC), "Africa/Cairo").offset == "UTC+03:00"
    assert localtime.format_local(None, "Africa/Cairo", empty="—") == "—"
    naive_utc = datetime(2025, 7, 15, 10, 0)  # the database's naive values mean UTC
    assert localtime.to_local(naive_utc, "Africa/Cairo").text == "2025-07-15 13:00"


def test_a_time_skipped_by_the_spring_jump_moves_forward_by_the_jump():
    # Cairo, 2024-04-26: clocks go from 00:00 straight to 01:00.
    skipped = datetime(2024, 4, 26, 0, 30)
    assert localtime.classify_local(skipped, "Africa/Cairo") == "gap"
    due = localtime.local_to_utc(skipped, "Africa/Cairo")
    assert localtime.to_local(due, "Africa/Cairo").text == "2024-04-26 01:30"


def test_a_time_repeated_in_autumn_means_its_first_occurrence():
    # Cairo, 2024-10-31: 24:00 EEST becomes 23:00 EET, so 23:30 happens twice.
    repeated = datetime(2024, 10, 31, 23, 30)
    assert localtime.classify_local(repeated, "Africa/Cairo") == "ambiguous"
    assert localtime.local_to_utc(repeated, "Africa/Cairo") == datetime(2024, 10, 31, 20, 30, tzinfo=UTC)
    assert localtime.classify_local(datetime(2024, 10, 31, 12, 0), "Africa/Cairo") == "ok"


def test_zone_names_are_validated():
    assert localtime.validate_zone(" Asia/Riyadh ") == "Asia/Riyadh"
    for bad in ("", "Riyadh", "../etc/passwd", "Mars/Olympus"):
        with pytest.raises(ValidationError):
            localtime.validate_zone(bad)
    with pytest.raises(ValidationError) as exc:
        localtime.parse_local("tomorrow at nine", "Asia/Riyadh")
    assert exc.value.code == "invalid_datetime"
    assert localtime.parse_local("", "Asia/Riyadh") is None


def test_an_organisation_without_a_zone_follows_the_setting(db, make_org, monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    org = make_org()
    assert localtime.org_zone(session=db, org_id=org.id).key == "Africa/Cairo"
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Asia/Riyadh")
    get_settings.cache_clear()
    try:
        assert localtime.org_zone(session=db, org_id=org.id).key == "Asia/Riyadh"
        org.timezone = "Asia/Dubai"
        assert localtime.zone_of(org).key == "Asia/Dubai"
        monkeypatch.setenv("DEFAULT_TIMEZONE", "Nowhere/Land")
        get_settings.cache_clear()
        with pytest.raises(ValueError, match="DEFAULT_TIMEZONE"):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_dashboard_and_csv_stamps_carry_the_offset():
    at = datetime(2025, 1, 5, 6, 0, 7, 123456, tzinfo=UTC)
    assert localtime.format_seconds(at, "Asia/Riyadh") == "2025-01-05 09:00:07 (UTC+03:00)"
    assert localtime.format_seconds(None, "Asia/Riyadh") == ""
    assert localtime.csv_stamp(at, "Asia/Riyadh") == "2025-01-05T09:00:07+03:00"
    assert localtime.csv_stamp(None, "Asia/Riyadh") == ""
    assert localtime.zone_label("Asia/Riyadh", now=at) == "Asia/Riyadh (UTC+03:00)"
    assert localtime.zone_label("Africa/Cairo", now=datetime(2025, 7, 1, tzinfo=UTC)) == "Africa/Cairo (UTC+03:00)"


def test_local_days_begin_at_local_midnight():
    # 2025-01-05 00:30 UTC is already 03:30 on the 5th in Riyadh; 22:00 UTC on the 4th is the 5th there too.
    assert localtime.local_today("Asia/Riyadh", now=datetime(2025, 1, 4, 22, 0, tzinfo=UTC)).isoformat() == "2025-01-05"
    since, until = localtime.day_bounds(datetime(2025, 1, 5).date(), datetime(2025, 1, 6).date(), "Asia/Riyadh")
    assert (since, until) == (datetime(2025, 1, 4, 21, 0, tzinfo=UTC), datetime(2025, 1, 6, 21, 0, tzinfo=UTC))
    # Cairo's spring night has no midnight (00:00 -> 01:00): the day begins at 01:00 local, 22:00 UTC.
    assert localtime.day_start(datetime(2024, 4, 26).date(), "Africa/Cairo") == datetime(2024, 4, 25, 22, 0, tzinfo=UTC)
