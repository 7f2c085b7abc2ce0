"""Organisation local time: UTC instants shown in the org's IANA zone, and local times typed by people read back.

The database and the API stay UTC; only what a person reads or types goes through here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from sqlmodel import Session

from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.core.settings import get_settings

DATETIME_FORMAT = "%Y-%m-%d %H:%M"


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every IANA zone name this installation knows (tzdata), for validation and pickers."""
    return frozenset(available_timezones())


def validate_zone(name: str | None) -> str:
    """The IANA name, or ValidationError `invalid_timezone` (no abbreviations, no file paths)."""
    name = (name or "").strip()
    if name not in zone_names() and name != "UTC":
        raise ValidationError(f"unknown time zone {name!r}: use an IANA name such as Asia/Riyadh",
                              code="invalid_timezone", timezone=name[:64])
    return name


def default_zone_name() -> str:
    """DEFAULT_TIMEZONE, the zone of organisations that chose none."""
    return get_settings().default_timezone


def zone_name_of(org: Organization | None) -> str:
    """The organisation's zone name (its own, else the default)."""
    return (org.timezone if org is not None and org.timezone else None) or default_zone_name()


def zone_of(org: Organization | None) -> ZoneInfo:
    """The organisation's zone."""
    return ZoneInfo(zone_name_of(org))


def org_zone(*, session: Session, org_id: uuid.UUID | None) -> ZoneInfo:
    """The zone of the organisation with this id (the default for none or an unknown id)."""
    return zone_of(session.get(Organization, org_id) if org_id else None)


def offset_label(value: datetime) -> str:
    """An aware datetime's offset as `UTC+03:00` (readable in any language, unlike EET or +03)."""
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class LocalTime:
    """One instant as a person in the organisation reads it."""

    local: datetime  # aware, in the zone
    zone: str  # IANA name, e.g. Asia/Riyadh
    offset: str  # UTC+03:00

    @property
    def text(self) -> str:
        """`2025-01-05 09:00`."""
        return self.local.strftime(DATETIME_FORMAT)

    @property
    def label(self) -> str:
        """`2025-01-05 09:00 (UTC+03:00)`: the time with its zone, never a bare number."""
        return f"{self.text} ({self.offset})"


def to_local(value: datetime, zone: ZoneInfo | str) -> LocalTime:
    """A stored instant in the zone; a naive value is taken as UTC (that is how the database means it)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    return LocalTime(local=local, zone=zone.key, offset=offset_label(local))


def format_local(value: datetime | None, zone: ZoneInfo | str, *, empty: str = "") -> str:
    """`to_local(value, zone).label`, or `empty` for no value."""
    return to_local(value, zone).label if value is not None else empty


Kind = Literal["ok", "gap", "ambiguous"]


def classify_local(local: datetime, zone: ZoneInfo | str) -> Kind:
    """Whether a wall-clock time exists once, never (skipped by a DST jump) or twice (repeated when clocks go back)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    naive = local.replace(tzinfo=None)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return "ok"
    # The offsets differ only at a transition: a repeated time reads back as itself, a skipped one does not.
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return "ambiguous" if back == naive else "gap"


def local_to_utc(local: datetime, zone: ZoneInfo | str) -> datetime:
    """The UTC instant of a wall-clock time typed in the zone.

    A time skipped by a DST jump moves forward by the jump (00:30 on a night clocks go 00:00->01:00 is
    01:30); a repeated time means its first occurrence. An aware value is converted as it is.
    """
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    # PEP 495: fold=0 reads a skipped time with the offset before the jump, i.e. shifted forward by it,
    # and a repeated time as the earlier of the two.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def parse_local(text: str | None, zone: ZoneInfo | str) -> datetime | None:
    """A `datetime-local` form value (2025-01-05T09:00) typed in the zone, as UTC; None when empty.

    Raises ValidationError `invalid_datetime` for text that is not a date and time.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"not a date and time: {text[:40]!r}", code="invalid_datetime") from exc
    return local_to_utc(value, zone)


def format_seconds(value: datetime | None, zone: ZoneInfo | str, *, empty: str = "") -> str:
    """`2025-01-05 09:00:07 (UTC+03:00)`: the dashboard's timestamps, to the second, with their zone."""
    if value is None:
        return empty
    lt = to_local(value, zone)
    return f"{lt.local.strftime('%Y-%m-%d %H:%M:%S')} ({lt.offset})"


def zone_label(zone: ZoneInfo | str, *, now: datetime | None = None) -> str:
    """`Asia/Riyadh (UTC+03:00)`: the zone's name and its offset now, for captions and CSV headers."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return f"{zone.key} ({offset_label((now or datetime.now(UTC)).astimezone(zone))})"


def csv_stamp(value: datetime | None, zone: ZoneInfo | str) -> str:
    """`2025-01-05T09:00:07+03:00`: ISO 8601 in the zone, its offset written out, to the second."""
    if value is None:
        return ""
    return to_local(value, zone).local.replace(microsecond=0).isoformat()


def local_today(zone: ZoneInfo | str, *, now: datetime | None = None) -> date:
    """The calendar day it is now in the zone."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return (now or datetime.now(UTC)).astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo | str) -> datetime:
    """The UTC instant a local calendar day begins (a day that starts inside a DST gap begins after it)."""
    return local_to_utc(datetime.combine(day, datetime.min.time()), zone)


def day_bounds(first: date, last: date, zone: ZoneInfo | str) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in UTC: local days, as the history's date filter."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)
