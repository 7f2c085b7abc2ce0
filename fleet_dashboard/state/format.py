"""Small conversions between what forms send and what services take, shared by the page states."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fleet_dashboard import strings


def iso(value: datetime | None) -> str:
    """An ISO timestamp for the browser to format in local time, or "" for none."""
    return value.isoformat() if value else ""


def parse_local(text: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` or `date` input value, read in the browser's zone; None when empty or bad."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def day_range(start: str, end: str, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start of the first day, start of the day after the last) for a from/to date filter."""
    since = until = None
    try:
        if start:
            since = datetime.combine(date.fromisoformat(start), datetime.min.time(), zone)
        if end:
            until = datetime.combine(date.fromisoformat(end) + timedelta(days=1), datetime.min.time(), zone)
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
