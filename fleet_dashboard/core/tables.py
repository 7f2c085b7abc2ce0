"""Column helpers every table module shares, and the vocabularies' SQL literals."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field


def utcnow() -> datetime:
    """Timezone-aware now; TIMESTAMPTZ columns reject naive datetimes."""
    return datetime.now(UTC)


def timestamp_field(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def created_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()")),
    )


def one_of(column: str, enum_cls: type[enum.Enum], name: str) -> CheckConstraint:
    values = ", ".join(f"'{e.value}'" for e in enum_cls)
    return CheckConstraint(f"{column} IN ({values})", name=name)


def json_field(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSONB, nullable=False, server_default=text(
        "'[]'::jsonb" if default is list else "'{}'::jsonb")))


def sql_literal(value: str) -> str:
    """A vocabulary value as a SQL string literal (vocabularies are code, never user input)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_list(values) -> str:
    """Vocabulary values as a SQL list, `('a', 'b')`, for IN and partial-index predicates."""
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


def not_in(column: str, values: tuple[str, ...]) -> Any:
    return text(f"{column} NOT IN {sql_list(values)}")


def trigram_index(name: str, column: str) -> Index:
    """A pg_trgm GIN index, so ILIKE '%text%' searches are not a scan of the organisation's rows."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
