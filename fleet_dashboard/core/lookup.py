"""Rows by id within an organisation: a malformed id and another organisation's id both read as not found."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, select

from fleet_dashboard.core.errors import NotFound

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
