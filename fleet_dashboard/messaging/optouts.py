"""The opt-out list: a number that texts STOP gets no more messages until it texts START."""

from __future__ import annotations

import re
import unicodedata
import uuid

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, localtime, orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import phones
from fleet_dashboard.core.csvcells import csv_text, safe_row
from fleet_dashboard.core.errors import Conflict, InvalidPhone, NotFound, ValidationError
from fleet_dashboard.core.pagination import clamp_limit, keyset_page, matching
from fleet_dashboard.messaging.models import OptOut

MAX_REASON = 500
EXPORT_MAX_ROWS = 50_000
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


def opt_out(*, session: Session, org_id: uuid.UUID, phone: str, keyword_used: str = "", reason: str = "",
            added_by: uuid.UUID | None = None) -> bool:
    """Put a number on the list; True when it was not on it already."""
    result = session.execute(
        insert(OptOut).values(id=uuid.uuid4(), org_id=org_id, phone=phone, keyword=keyword_used[:32],
                              reason=reason[:MAX_REASON], added_by=added_by)
        .on_conflict_do_nothing(constraint="uq_whatsapp_opt_outs_org_phone").returning(OptOut.id)
    )
    return result.first() is not None


def opt_in(*, session: Session, org_id: uuid.UUID, phone: str) -> bool:
    """Take a number off the list; True when it was on it."""
    result = session.execute(delete(OptOut).where(OptOut.org_id == org_id, OptOut.phone == phone)
                             .returning(OptOut.id))
    return result.first() is not None


def map_lid(*, session: Session, org_id: uuid.UUID, lid: str, phone: str) -> bool:
    """A LID whose number is now known: its opt-out (a STOP it sent) moves to the number, so it is never lost.
    True when there was one."""
    moved = session.execute(delete(OptOut).where(OptOut.org_id == org_id, OptOut.phone == lid)
                            .returning(OptOut.keyword, OptOut.created_at)).first()
    if moved is None:
        return False
    session.execute(insert(OptOut).values(id=uuid.uuid4(), org_id=org_id, phone=phone, keyword=moved.keyword,
                                          reason="", created_at=moved.created_at)
                    .on_conflict_do_nothing(constraint="uq_whatsapp_opt_outs_org_phone"))
    audit.record(session=session, org_id=org_id, event_type="opted_out",
                 event_data={"phone": phone, "keyword": moved.keyword, "lid": lid})
    return True


def handle_inbound(*, session: Session, org_id: uuid.UUID, phone: str, text: str | None) -> str | None:
    """Act on a STOP or START keyword; returns "opted_out", "opted_in" or None for other messages."""
    word = keyword(text)
    if word not in STOP_WORDS and word not in START_WORDS:
        return None
    if phones.is_lid(phone):
        number = phone  # a sender known only by its LID: kept under it until its number is known (map_lid)
    else:
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


def list_for_org(*, session: Session, org_id: uuid.UUID, actor: Actor, search: str | None = None,
                 cursor: str | None = None, limit: int | None = None) -> tuple[list[OptOut], str | None]:
    """One page of the organisation's opted-out numbers, newest first; `search` matches number or reason."""
    permissions.require(actor, Action.view, org_id)
    limit = clamp_limit(limit)
    query = select(OptOut).where(OptOut.org_id == org_id)
    query = matching(session, query, (OptOut.phone, OptOut.reason, OptOut.keyword), search)
    return keyset_page(session, query, OptOut, cursor=cursor, limit=limit)


def get_for_org(*, session: Session, org_id: uuid.UUID, phone: str, actor: Actor) -> OptOut:
    """The list's entry for one number; NotFound when the number is not on it."""
    permissions.require(actor, Action.view, org_id)
    number = phones.normalize_phone(phone)
    row = session.exec(select(OptOut).where(OptOut.org_id == org_id, OptOut.phone == number)).first()
    if row is None:
        raise NotFound(f"{number} is not on the opt-out list", code="opt_out_unknown", phone=number)
    return row


def add(*, session: Session, org_id: uuid.UUID, phone: str, reason: str | None = None, actor: Actor) -> OptOut:
    """A person puts a number on the list (a customer asked by phone); audited. Conflict if it is on it."""
    permissions.require(actor, Action.opt_outs, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    number = phones.normalize_phone(phone)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationError(f"the reason is longer than {MAX_REASON} characters", code="opt_out_reason_long",
                              limit=MAX_REASON)
    if not opt_out(session=session, org_id=org_id, phone=number, reason=reason, added_by=actor.user_id):
        raise Conflict(f"{number} is already on the opt-out list", code="opt_out_exists", phone=number)
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="opt_out_added", phone=number,
                        reason=reason)
    return session.exec(select(OptOut).where(OptOut.org_id == org_id, OptOut.phone == number)).one()


def remove(*, session: Session, org_id: uuid.UUID, phone: str, actor: Actor) -> str:
    """A person takes a number off the list, so it may be messaged again; audited. NotFound if it is not on it."""
    permissions.require(actor, Action.opt_outs, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    row = get_for_org(session=session, org_id=org_id, phone=phone, actor=actor)
    number = row.phone
    opt_in(session=session, org_id=org_id, phone=number)
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="opt_out_removed", phone=number,
                        reason=row.reason, keyword=row.keyword)
    return number


EXPORT_HEADER = ["phone", "added_at", "reason", "keyword", "timezone"]


def export_csv(*, session: Session, org_id: uuid.UUID, actor: Actor, search: str | None = None,
               max_rows: int = EXPORT_MAX_ROWS) -> tuple[str, int]:
    """The list (or what `search` matches) as CSV text, its times in the organisation's zone with their offset,
    and how many numbers it holds; audited."""
    permissions.require(actor, Action.export, org_id)
    zone = localtime.org_zone(session=session, org_id=org_id)
    parts = [csv_text([EXPORT_HEADER])]
    cursor, written = None, 0
    while written < max_rows:
        rows, cursor = list_for_org(session=session, org_id=org_id, actor=actor, search=search, cursor=cursor,
                                    limit=min(200, max_rows - written))
        parts.append(csv_text(safe_row((r.phone, localtime.csv_stamp(r.created_at, zone), r.reason, r.keyword,
                                        zone.key)) for r in rows))
        written += len(rows)
        if not cursor:
            break
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="opt_outs_exported", rows=written,
                        search=search or "")
    return "".join(parts), written

