"""Status counters: per organisation, day and status, folded from append-only deltas."""

from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    String,
    Table,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel


class CountKind(enum.StrEnum):
    """Which table a status count describes."""

    message = "message"
    queue = "queue"


# status_counts rows with this org_id hold the fleet-wide totals (charts and metrics read a few rows).
FLEET = uuid.UUID(int=0)


class StatusCount(SQLModel, table=True):
    """Rows per organisation, UTC day of creation and current status; kept by the rollup from deltas.

    Truth = status_counts + status_count_deltas: database triggers add a delta in the same transaction
    as every insert, status change or delete (alembic 0008), so no code path can forget one."""

    __tablename__ = "status_counts"
    # Fleet-wide sums by status and day read org_id and n from the index alone.
    __table_args__ = (Index("ix_status_counts_kind_status_day", "kind", "status", "day",
                            postgresql_include=["org_id", "n"]),)
    kind: str = Field(primary_key=True, max_length=16)
    org_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(primary_key=True)
    status: str = Field(primary_key=True, max_length=20)
    n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0")))


# Append-only changes to status_counts, written by the triggers: no key, no index, so an insert never waits
# on a hot counter row and costs the sender next to nothing. The rollup deletes what it folds.
STATUS_COUNT_DELTAS = Table(
    "status_count_deltas", SQLModel.metadata,
    Column("kind", String(16), nullable=False),
    Column("org_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("n", BigInteger, nullable=False),
)
