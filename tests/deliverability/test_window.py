"""Quiet hours and days off, read in the organisation's own zone, and the warm-up curve under the daily cap."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fleet_dashboard.deliverability import allowance
from fleet_dashboard.deliverability.window import QuietWindow, parse_hhmm

RIYADH = "Asia/Riyadh"  # UTC+3, no DST
NIGHTS_AND_FRIDAY = QuietWindow.of("22:00", "08:00", ["friday"])


def at(text: str) -> datetime:
    """A UTC instant from Riyadh wall-clock text."""
    return datetime.fromisoformat(text + "+03:00").astimezone(UTC)


@pytest.mark.parametrize(("local", "opens"), [
    ("2026-12-07 23:30", "2026-12-08 08:00"),  # Monday night: the morning
    ("2026-12-08 07:59", "2026-12-08 08:00"),
    ("2026-12-10 22:00", "2026-12-12 08:00"),  # Thursday night, then Friday off, then Friday night
    ("2026-12-11 12:00", "2026-12-12 08:00"),  # Friday noon: the same Saturday morning
])
def test_a_message_due_in_the_window_waits_until_it_ends(local, opens):
    assert NIGHTS_AND_FRIDAY.next_open(at(local), RIYADH) == at(opens)


@pytest.mark.parametrize("local", ["2026-12-08 08:00", "2026-12-08 12:00", "2026-12-08 21:59"])
def test_outside_the_window_nothing_waits(local):
    assert NIGHTS_AND_FRIDAY.next_open(at(local), RIYADH) is None


def test_a_daytime_window_and_the_zone_of_the_organisation():
    lunch = QuietWindow.of("12:00", "13:00", [])
    assert lunch.next_open(at("2026-12-08 12:30"), RIYADH) == at("2026-12-08 13:00")
    # 12:30 in Riyadh is 10:30 in Cairo (UTC+2 in December): not quiet there.
    assert lunch.next_open(at("2026-12-08 12:30"), "Africa/Cairo") is None


def test_times_are_read_strictly():
    assert parse_hhmm("08:00").hour == 8 and parse_hhmm("") is None
    for bad in ("8", "25:00", "08:0", "ab:cd", "08:00:00"):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_warm_up_doubles_from_fifty_up_to_the_cap(monkeypatch):
    linked = at("2026-12-01 10:00")
    curve = [allowance.allowance(daily_cap=1000, warmup=True, linked_at=linked, today=date(2026, 12, d),
                                 zone=RIYADH) for d in range(1, 8)]
    assert curve == [50, 100, 200, 400, 800, 1000, 1000]
    assert allowance.allowance(daily_cap=1000, warmup=False, linked_at=linked, today=date(2026, 12, 1),
                               zone=RIYADH) == 1000
    assert allowance.allowance(daily_cap=30, warmup=True, linked_at=linked, today=date(2026, 12, 1),
                               zone=RIYADH) == 30
    # A number whose link we never saw is not new: its cap applies at once.
    assert allowance.allowance(daily_cap=1000, warmup=True, linked_at=None, today=date(2026, 12, 1),
                               zone=RIYADH) == 1000
    assert allowance.reserve(50) == 5 and allowance.reserve(3) == 1
