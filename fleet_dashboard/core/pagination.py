"""Reading an organisation's rows: one by id (`get_owned`: a malformed id and another organisation's id both read
as not found), and keyset pages over (created_at, id), newest first, so deep pages cost no OFFSET scan.

The cursor is a row-value comparison, `(created_at, id) < (t, i)`, which PostgreSQL turns into a bound
on any index ending in (created_at, id) after the equality filters; the OR form it replaces was applied
as a filter, so page k re-read pages 1..k.

The lists' text search lives here too: one LIKE pattern, its wildcards taken literally."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import or_, text, tuple_
from sqlmodel import Session, SQLModel, select

from fleet_dashboard.core.errors import NotFound, ValidationError

M = TypeVar("M", bound=SQLModel)


def parse_id(value: Any, *, code: str, noun: str) -> uuid.UUID:
    """An id as a UUID; anything else is NotFound, never a 500."""
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"no {noun} with id {value!r}", code=code) from exc


def get_owned(session: Session, model: type[M], *, org_id: uuid.UUID | None, row_id: Any, code: str,
              noun: str) -> M:
    """The row with this id, if it belongs to `org_id` (any organisation's when None: operator tools)."""
    row_id = parse_id(row_id, code=code, noun=noun)
    query = select(model).where(model.id == row_id)
    if org_id is not None:
        query = query.where(model.org_id == org_id)
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"no {noun} with id {row_id}", code=code)
    return row

MAX_LIMIT = 200
SEARCH_CHARS = 200


def contains_pattern(search: str | None) -> str | None:
    """An ILIKE pattern matching `search` (trimmed, its first SEARCH_CHARS) anywhere; None when it is blank.

    `%`, `_` and `\\` in the text match themselves, not anything."""
    term = (search or "").strip()[:SEARCH_CHARS]
    if not term:
        return None
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def matching(session, query, columns, search: str | None):
    """`query` narrowed to rows where one of `columns` contains `search`, case-insensitive; unchanged when blank.

    A pattern's selectivity decides the plan (trigram bitmap for a rare text, newest-first scan for a
    common one); a cached generic plan cannot see it, so each search is planned afresh."""
    pattern = contains_pattern(search)
    if pattern is None:
        return query
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    return query.where(or_(*(column.ilike(pattern) for column in columns)))


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    """An opaque cursor pointing just past this row."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a cursor points past; ValidationError when it was tampered with."""
    try:
        ts, rid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(ts), uuid.UUID(rid)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("invalid cursor", code="invalid_cursor") from exc


def clamp_limit(limit: int | None, default: int = 50) -> int:
    """A page size between 1 and MAX_LIMIT."""
    return max(1, min(int(limit or default), MAX_LIMIT))


def before_cursor(model, cursor: str | None):
    """The WHERE clause for rows after the cursor in newest-first order, or True."""
    if not cursor:
        return True
    ts, rid = decode_cursor(cursor)
    return tuple_(model.created_at, model.id) < tuple_(ts, rid)


def page(rows: list, limit: int) -> tuple[list, str | None]:
    """Split a limit+1 fetch into the page and the cursor for the next one."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, None


def created_within(query, model, since: datetime | None, until: datetime | None):
    """`query` narrowed to rows created in [since, until); a missing end leaves that side open."""
    if since:
        query = query.where(model.created_at >= since)
    if until:
        query = query.where(model.created_at < until)
    return query


def keyset_page(session, query, model, *, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """One page of `query` after `cursor` in newest-first order, and the next page's cursor.

    `limit` is already clamped; the ORDER BY is the one the cursor's row comparison assumes."""
    query = query.where(before_cursor(model, cursor))
    query = query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    return page(list(session.exec(query)), limit)
