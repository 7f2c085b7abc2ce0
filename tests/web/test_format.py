"""What filter and schedule fields turn into: typed dates in the organisation's zone, and nothing odd crashes."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fleet_dashboard.web.format import day_range, failure, parse_local

CAIRO = ZoneInfo("Africa/Cairo")


def test_a_day_range_covers_whole_local_days():
    since, until = day_range("2026-11-01", "2026-11-02", CAIRO)
    assert since == datetime(2026, 11, 1, tzinfo=CAIRO) and until == datetime(2026, 11, 3, tzinfo=CAIRO)


@pytest.mark.parametrize("start,end", [("yesterday", ""), ("", "2026-13-40"), ("", "9999-12-31"),
                                       ("0000-01-01", "")])
def test_odd_dates_mean_no_filter_rather_than_an_error(start, end):
    assert day_range(start, end, CAIRO) == (None, None)


def test_a_schedule_is_read_in_the_organisations_zone_and_junk_is_none():
    assert parse_local("2030-05-01T09:30", CAIRO) == datetime(2030, 5, 1, 9, 30, tzinfo=CAIRO)
    assert parse_local("not a time", CAIRO) is None and parse_local("", CAIRO) is None


def test_a_failure_with_a_code_reads_in_arabic_and_without_one_keeps_the_detail():
    assert failure("opted_out", "+20100 has opted out") == "هذا الرقم طلب إيقاف الرسائل."
    assert failure("missing_variables", "missing variables: x") == "متغيرات ناقصة"
    assert failure(None, "gateway said no") == "gateway said no"


def test_dashboard_times_are_shown_in_the_organisations_zone_with_its_offset():
    from fleet_dashboard.web.format import stamp, stamp_iso

    riyadh = ZoneInfo("Asia/Riyadh")
    assert stamp(datetime(2025, 1, 5, 6, 0, tzinfo=ZoneInfo("UTC")), riyadh) == "2025-01-05 09:00:00 (UTC+03:00)"
    assert stamp_iso("2025-01-05T06:00:00+00:00", riyadh) == "2025-01-05 09:00:00 (UTC+03:00)"
    assert stamp_iso("", riyadh) == stamp_iso("junk", riyadh) == stamp(None, riyadh) == ""
    # A schedule typed as 09:00 on the send page of a Riyadh organisation is due at 06:00 UTC.
    assert parse_local("2025-01-05T09:00", riyadh) == datetime(2025, 1, 5, 6, 0, tzinfo=ZoneInfo("UTC"))
