"""Phone numbers: parsed with phonenumbers and kept in E.164."""

from __future__ import annotations

import phonenumbers

from fleet_dashboard.core.errors import InvalidPhone
from fleet_dashboard.core.settings import get_settings


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form of a number, or raise InvalidPhone naming what was given."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidPhone(f"invalid phone number: {text[:32]!r}", phone=text[:32])
    try:
        parsed = phonenumbers.parse(text, region or get_settings().default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"invalid phone number: {text!r}", phone=text) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(f"invalid phone number: {text!r}", phone=text)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
