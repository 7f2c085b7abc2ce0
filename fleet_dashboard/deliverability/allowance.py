"""The daily cap and the warm-up of a newly linked number: how many messages may go today, and how many went."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.accounts import localtime
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.messaging.models import SENT_MESSAGE_STATUSES


def allowance(*, daily_cap: int, warmup: bool, linked_at: datetime | None, today: date,
              zone: ZoneInfo | str) -> int:
    """Today's allowance: the cap, or the warm-up curve (WARMUP_FIRST_DAY, times WARMUP_FACTOR a day) under it.

    Day 1 is the local day the number was linked; a number whose link we never saw is not warming up."""
    if not warmup or linked_at is None:
        return daily_cap
    settings = get_settings()
    day = max(0, (today - localtime.to_local(linked_at, zone).local.date()).days)
    # Past ~60 doublings every cap is reached: no float overflow.
    curve = settings.warmup_first_day * settings.warmup_factor ** min(day, 60)
    return max(1, min(daily_cap, int(curve)))


def reserve(allowed: int) -> int:
    """How many urgent messages may go past the allowance (URGENT_RESERVE_PERCENT of it, rounded up)."""
    return math.ceil(allowed * get_settings().urgent_reserve_percent / 100)


def next_day(now: datetime, zone: ZoneInfo | str) -> datetime:
    """The UTC instant the organisation's next local day begins: when a spent allowance is whole again."""
    return localtime.day_start(localtime.local_today(zone, now=now) + timedelta(days=1), zone)


# Sent today = went out since local midnight. The message rows are found by their creation (an index bound): a
# message held back more than CREATED_SLACK before going out today is not counted.
CREATED_SLACK = timedelta(days=8)
_SENT_SINCE = text("""
SELECT count(*) FROM whatsapp_messages
WHERE org_id = :org AND created_at >= :created AND sent_at >= :since AND status = ANY(:went_out)
""")


def sent_since(*, session: Session, org_id: uuid.UUID, since: datetime) -> int:
    """Messages of the organisation that went out since `since` (today's, for the cap)."""
    return int(session.execute(_SENT_SINCE, {"org": org_id, "created": since - CREATED_SLACK, "since": since,
                                             "went_out": list(SENT_MESSAGE_STATUSES)}).scalar() or 0)
