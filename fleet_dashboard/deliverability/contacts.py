"""The look-up cache: WhatsApp's answer to "is this number on WhatsApp?", per organisation, for a while.

A yes is kept LOOKUP_YES_DAYS (30), a no LOOKUP_NO_DAYS (7): people join WhatsApp, and a number changes hands.
A look-up that failed is not an answer and is never stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.core import phones
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability.models import ContactCheck


@dataclass(frozen=True, slots=True)
class Answer:
    """One number's answer: on WhatsApp or not, and where WhatsApp said to send (None: to the number)."""

    phone: str
    on_whatsapp: bool
    jid: str | None = None
    checked_at: datetime | None = None


def fresh(on_whatsapp: bool | None, checked_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a cached answer may still be used: a yes for LOOKUP_YES_DAYS, a no for LOOKUP_NO_DAYS."""
    if on_whatsapp is None or checked_at is None:
        return False
    settings = get_settings()
    days = settings.lookup_yes_days if on_whatsapp else settings.lookup_no_days
    return (now or utcnow()) - checked_at < timedelta(days=days)


def cached(*, session: Session, org_id: uuid.UUID, phone: str) -> Answer | None:
    """The organisation's fresh answer for this number, or None (never asked, or too old)."""
    row = session.get(ContactCheck, (org_id, phone))
    if row is None or not fresh(row.on_whatsapp, row.checked_at):
        return None
    return Answer(row.phone, row.on_whatsapp, row.jid, row.checked_at)


_UPSERT = text("""
INSERT INTO contact_checks (org_id, phone, on_whatsapp, jid, checked_at)
SELECT * FROM unnest(CAST(:orgs AS uuid[]), CAST(:phones AS text[]), CAST(:ons AS boolean[]),
                     CAST(:jids AS text[]), CAST(:ats AS timestamptz[]))
ON CONFLICT (org_id, phone) DO UPDATE SET on_whatsapp = EXCLUDED.on_whatsapp, jid = EXCLUDED.jid,
    checked_at = EXCLUDED.checked_at
""")


def record(*, session: Session, answers: list[tuple[uuid.UUID, Answer]]) -> None:
    """Keep many organisations' answers in one statement (the worker's look-ups)."""
    if not answers:
        return
    now = utcnow()
    session.execute(_UPSERT, {"orgs": [o for o, _ in answers], "phones": [a.phone for _, a in answers],
                              "ons": [a.on_whatsapp for _, a in answers], "jids": [a.jid for _, a in answers],
                              "ats": [a.checked_at or now for _, a in answers]})


def view(*, session: Session, org_id: uuid.UUID, phone: str) -> dict[str, Any]:
    """`GET /api/contacts/{phone}`: the cached answer (`on_whatsapp` null when unknown or too old)."""
    number = phones.normalize_phone(phone)
    answer = cached(session=session, org_id=org_id, phone=number)
    return {"phone": number, "on_whatsapp": answer.on_whatsapp if answer else None,
            "checked_at": answer.checked_at.isoformat() if answer and answer.checked_at else None}
