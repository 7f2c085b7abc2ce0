"""Phone numbers: parsed with phonenumbers and kept in E.164."""

from __future__ import annotations

import re

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


# What normalize_phone returns: a plus, a country code that does not start with 0, at most 15 digits.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def stored_phone(raw: str) -> str:
    """A number read back from our own rows, for sending: every writer stored it through normalize_phone, so one
    already in E.164 is taken as is (the parser costs ~0.1 ms, a sixth of a queued send's CPU); any other form is
    parsed again, and refused with InvalidPhone if it is not a number."""
    text = raw or ""
    return text if _E164.fullmatch(text) else normalize_phone(text)


def spaced(e164: str) -> str:
    """`+201001234567` -> `+20 100 123 4567`: the country code, then the number in groups read from its end (the
    last four digits, threes before them), the way a person checks a number before sending to it."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    national = phonenumbers.national_significant_number(parsed)
    groups = [national[-4:]]
    rest = national[:-4]
    while rest:
        groups.insert(0, rest[-3:])
        rest = rest[:-3]
    return f"+{parsed.country_code} " + " ".join(groups)


# A WhatsApp user known only by its LID (`<digits>@lid`): no phone number yet; kept as such until whatsmeow's store
# maps it to one (see whatsapp/engine/store.map_lids).
LID_SUFFIX = "@lid"


def is_lid(address: str | None) -> bool:
    """Whether an address is a bare LID (`<digits>@lid`), not a phone number."""
    user, _, server = (address or "").partition("@")
    return server == LID_SUFFIX[1:] and user.isdigit() and 0 < len(user) <= 24
