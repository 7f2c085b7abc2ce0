"""The opt-out list: a number that texts STOP gets no more messages until it texts START."""

from __future__ import annotations

import re
import unicodedata
import uuid

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from fleet_dashboard.models import OptOut
from fleet_dashboard.services import audit, phones
from fleet_dashboard.services.errors import InvalidPhone

STOP_WORDS = frozenset({"stop", "ايقاف", "الغاء", "unsubscribe"})
START_WORDS = frozenset({"start", "اشتراك"})
# Arabic diacritics and the tatweel stretch letters without changing the word.
_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
_ALEF = str.maketrans({"إ": "ا", "أ": "ا", "آ": "ا"})


def keyword(text: str | None) -> str:
    """The message reduced to a comparable keyword: trimmed, case-folded, hamza and marks removed."""
    word = unicodedata.normalize("NFKC", text or "").strip().strip(".!؟?،,").casefold()
    return _MARKS.sub("", word).translate(_ALEF)


def is_opted_out(*, session: Session, org_id: uuid.UUID, phone: str) -> bool:
    """Whether this organisation must not message the number."""
    query = select(OptOut.id).where(OptOut.org_id == org_id, OptOut.phone == phone)
    return session.exec(query).first() is not None


def opt_out(*, session: Session, org_id: uuid.UUID, phone: str, keyword_used: str = "") -> bool:
    """Put a number on the list; True when it was not on it already."""
    result = session.execute(
        insert(OptOut).values(id=uuid.uuid4(), org_id=org_id, phone=phone, keyword=keyword_used[:32])
        .on_conflict_do_nothing(constraint="uq_whatsapp_opt_outs_org_phone").returning(OptOut.id)
    )
    return result.first() is not None


def opt_in(*, session: Session, org_id: uuid.UUID, phone: str) -> bool:
    """Take a number off the list; True when it was on it."""
    result = session.execute(delete(OptOut).where(OptOut.org_id == org_id, OptOut.phone == phone)
                             .returning(OptOut.id))
    return result.first() is not None


def handle_inbound(*, session: Session, org_id: uuid.UUID, phone: str, text: str | None) -> str | None:
    """Act on a STOP or START keyword; returns "opted_out", "opted_in" or None for other messages."""
    word = keyword(text)
    if word not in STOP_WORDS and word not in START_WORDS:
        return None
    try:
        number = phones.normalize_phone(phone)
    except InvalidPhone:
        return None
    if word in STOP_WORDS:
        if opt_out(session=session, org_id=org_id, phone=number, keyword_used=(text or "").strip()):
            audit.record(session=session, org_id=org_id, event_type="opted_out",
                         event_data={"phone": number, "keyword": (text or "").strip()[:32]})
        return "opted_out"
    if opt_in(session=session, org_id=org_id, phone=number):
        audit.record(session=session, org_id=org_id, event_type="opted_in",
                     event_data={"phone": number, "keyword": (text or "").strip()[:32]})
    return "opted_in"


def list_for_org(*, session: Session, org_id: uuid.UUID, limit: int = 500) -> list[OptOut]:
    """The organisation's opted-out numbers, newest first."""
    query = (select(OptOut).where(OptOut.org_id == org_id)
             .order_by(OptOut.created_at.desc()).limit(min(max(limit, 1), 500)))
    return list(session.exec(query))
