"""Small conversions between what forms send and what services take, shared by the page states."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.messaging import templates


def stamp(value: datetime | None, zone: ZoneInfo) -> str:
    """A stored instant as the organisation reads it, `2025-01-05 09:00:07 (UTC+03:00)`, or "" for none."""
    return localtime.format_seconds(value, zone)


def stamp_iso(value: str | None, zone: ZoneInfo) -> str:
    """`stamp` for an ISO string from a status dict or an event (sessions.status_view)."""
    if not value:
        return ""
    try:
        return stamp(datetime.fromisoformat(value), zone)
    except (TypeError, ValueError):
        return ""


def parse_local(text: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` or `date` input value, read in the organisation's zone; None when empty or bad."""
    try:
        return localtime.parse_local(text, zone)
    except ValidationError:
        return None


def day_range(start: str, end: str, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start of the first day, start of the day after the last) for a from/to date filter, in local days."""
    since = until = None
    try:
        if start:
            since = localtime.day_start(date.fromisoformat(start), zone)
        if end:
            until = localtime.day_start(date.fromisoformat(end) + timedelta(days=1), zone)
    except (ValueError, OverflowError):  # not a date, or the day after 9999-12-31
        return None, None
    return since, until


def short(text: str | None, limit: int = 80) -> str:
    """One line of a long text for a table cell."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure(code: str | None, detail: str | None) -> str:
    """Why a send failed, in Arabic when the failure has a code; the technical detail otherwise."""
    return strings.error_text(code) if code else (detail or "")


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def clock(value: datetime | None, zone: ZoneInfo) -> str:
    """The local time of day alone, `14:05`: a conversation's day separators carry the date."""
    return localtime.to_local(value, zone).local.strftime("%H:%M") if value is not None else ""


def local_day(value: datetime, zone: ZoneInfo) -> date:
    return localtime.to_local(value, zone).local.date()


def day_label(day: date, today: date) -> str:
    """A day as a separator reads it: اليوم, أمس, else `الأحد 6 ديسمبر 2026`."""
    if day == today:
        return strings.TODAY
    if day == today - timedelta(days=1):
        return strings.YESTERDAY
    weekday = strings.WEEKDAY_NAMES[_WEEKDAYS[day.weekday()]]
    return f"{weekday} {day.day} {strings.MONTH_NAMES[day.month - 1]} {day.year}"


_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


def isolated(value: str) -> str:
    """A value without Arabic letters (a number, a date, a phone, Latin text) keeps its own order inside Arabic:
    Unicode isolates around it, what <bdi> does. Arabic values need none."""
    if not value or value.isdigit() or _ARABIC_LETTER.search(value):
        return value
    return f"\u2068{value}\u2069"


def fill_preview(body: str, values: dict[str, str] | None = None) -> str:
    """A template body as people read it: each {{variable}} replaced by its value, isolated, or by its Arabic
    name in brackets while it has none, so the line never shows a raw {{due_date}} nor scrambles."""
    values = values or {}

    def one(match: re.Match) -> str:
        value = str(values.get(match.group(1)) or "").strip()
        return isolated(value) if value else f"[{strings.variable_label(match.group(1))}]"
    return templates.VARIABLE_RE.sub(one, body or "")
