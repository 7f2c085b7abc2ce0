"""Phone numbers as the Send page shows them before sending: E.164 read back in groups a person can check."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fleet_dashboard.core import phones
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.notifications import queue


@pytest.mark.parametrize(("typed", "shown"), [
    ("01001234567", "+20 100 123 4567"),       # a local Egyptian number, read in the default region
    ("+966501234567", "+966 50 123 4567"),
    ("+12025550123", "+1 202 555 0123"),
    ("+447911123456", "+44 791 112 3456"),
])
def test_a_number_reads_back_in_groups_from_its_end(typed: str, shown: str) -> None:
    assert phones.spaced(phones.normalize_phone(typed, region="EG")) == shown


def test_a_picked_time_must_be_ahead() -> None:
    ahead = utcnow() + timedelta(minutes=5)
    assert queue.picked_time(ahead) == ahead
    assert queue.picked_time(None) is None  # no time: as soon as the worker can
    with pytest.raises(ValidationError) as refused:
        queue.picked_time(utcnow() - timedelta(minutes=1))
    assert refused.value.code == "schedule_in_past"


def test_a_stored_number_is_sent_as_stored_and_any_other_form_is_checked_again() -> None:
    # What normalize_phone wrote is taken as is: the worker does not parse each number it sends a second time.
    assert phones.stored_phone("+201001234567") == "+201001234567"
    # A row written some other way (a local form) is parsed as when it was typed, and refused if it is no number.
    assert phones.stored_phone("01001234567") == phones.normalize_phone("01001234567")
    with pytest.raises(ValidationError):
        phones.stored_phone("12")
    with pytest.raises(ValidationError):
        phones.stored_phone("")
