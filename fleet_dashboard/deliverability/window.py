"""Quiet hours and days off in the organisation's own zone: is it quiet now, and when does sending open again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fleet_dashboard.accounts import localtime
from fleet_dashboard.deliverability.models import WEEKDAYS


def parse_hhmm(text: str | None) -> time | None:
    """"22:00" as a time; None for empty text. Raises ValueError for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    hours, sep, minutes = text.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2 or len(hours) > 2:
        raise ValueError(f"not a time of day: {text[:8]!r}")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietWindow:
    """When an organisation does not want non-urgent messages to go: daily hours, and whole days off."""

    start: time | None = None
    end: time | None = None
    days_off: frozenset[int] = frozenset()  # 0 = Monday, as datetime.weekday()

    @classmethod
    def of(cls, start: str | None, end: str | None, days_off: list[str] | tuple[str, ...]) -> QuietWindow:
        """From the stored rules ("22:00", "08:00", ["friday"])."""
        days = frozenset(WEEKDAYS.index(d) for d in days_off if d in WEEKDAYS)
        return cls(parse_hhmm(start), parse_hhmm(end), days)

    @property
    def empty(self) -> bool:
        return (self.start is None or self.start == self.end) and not self.days_off

    def _in_hours(self, clock: time) -> bool:
        if self.start is None or self.end is None or self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end  # over midnight, e.g. 22:00-08:00

    def quiet_at(self, local: datetime) -> bool:
        """Whether a wall-clock moment falls in the window."""
        return local.weekday() in self.days_off or self._in_hours(local.time().replace(second=0, microsecond=0))

    def next_open(self, now: datetime, zone: ZoneInfo | str) -> datetime | None:
        """The first instant at or after `now` outside the window (UTC), or None when `now` is not quiet."""
        zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        local = now.astimezone(zone)
        if not self.quiet_at(local):
            return None
        # Jump boundary to boundary: a day off ends at midnight, quiet hours at their end; at most 8 days.
        for _ in range(32):
            if local.weekday() in self.days_off:
                naive = datetime.combine(local.date() + timedelta(days=1), time(0))
            elif self._in_hours(local.time()):
                day = local.date()
                if self.start > self.end and local.time() >= self.start:
                    day += timedelta(days=1)
                naive = datetime.combine(day, self.end)
            else:
                return local.astimezone(UTC)
            local = localtime.local_to_utc(naive, zone).astimezone(zone)
        return None  # every day is off: nothing ever opens (the rules refuse that)


def hold_until(window: QuietWindow, now: datetime, zone: ZoneInfo | str) -> datetime:
    """The instant a message that falls due at `now` may go: now, or the window's end."""
    return window.next_open(now, zone) or now
