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
