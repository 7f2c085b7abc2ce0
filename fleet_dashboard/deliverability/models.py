"""Tables and vocabularies of the guards that protect an organisation's sending number."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from fleet_dashboard.core.tables import created_field, json_field, one_of, timestamp_field


class WaitReason(enum.StrEnum):
    """Why a queued notification waits (notification_queue.wait_reason); strings.ERRORS says each in Arabic."""

    quiet_hours = "quiet_hours"
    daily_cap = "daily_cap"
    paused = "paused"
    lookup_failed = "lookup_failed"


class PauseReason(enum.StrEnum):
    """What paused an organisation's sending; strings.ERRORS says each in Arabic."""

    temporary_ban = "temporary_ban"
    sends_failing = "sends_failing"
    restricted = "restricted"
    logged_out_phone = "logged_out_phone"
    needs_relink = "needs_relink"


class Risk(enum.StrEnum):
    """A number's risk level, worst last."""

    green = "green"
    amber = "amber"
    red = "red"


class IncidentKind(enum.StrEnum):
    """What an alert is about: one open incident per kind and organisation, then one all-clear."""

    disconnected = "disconnected"
    risk = "risk"
    paused = "paused"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SendingRules(SQLModel, table=True):
    """An organisation's own sending rules; no row means the defaults of core/settings.py."""

    __tablename__ = "sending_rules"
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", primary_key=True)
    typing: bool = True
    # "HH:MM" in the organisation's zone; both None = no quiet hours.
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    days_off: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(10)), nullable=False,
                                                                       server_default=text("'{}'")))
    daily_cap: int = 1000
    warmup: bool = True
    updated_at: datetime = created_field()


class SendingState(SQLModel, table=True):
    """What the guards learned about an organisation's number: when it was linked, its pace and its risk."""

    __tablename__ = "sending_state"
    __table_args__ = (one_of("risk", Risk, "ck_sending_state_risk"),)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", primary_key=True)
    # The number whose link we saw, and when: its warm-up counts days from here.
    linked_phone: str | None = Field(default=None, max_length=32)
    linked_at: datetime | None = timestamp_field()
    # Half pace until then (after a temporary ban, or while the risk is red).
    slow_until: datetime | None = timestamp_field()
    risk: str = Field(default=Risk.green.value, max_length=10)
    risk_reasons: list[Any] = json_field(list)
    risk_checked_at: datetime | None = timestamp_field()
    # Since when the WhatsApp session is out of `connected` (the alert sweeper's first sight; each retry moves
    # whatsapp_sessions.last_disconnected_at, so that column cannot say how long the outage is).
    down_since: datetime | None = timestamp_field()


class ContactCheck(SQLModel, table=True):
    """WhatsApp's answer to "is this number on WhatsApp?", per organisation, kept for LOOKUP_*_DAYS."""

    __tablename__ = "contact_checks"
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", primary_key=True)
    phone: str = Field(max_length=32, primary_key=True)
    on_whatsapp: bool
    # Where WhatsApp said to send (its own JID for the number, a LID when the library maps one).
    jid: str | None = Field(default=None, max_length=128)
    checked_at: datetime = created_field()


class SendingPause(SQLModel, table=True):
    """One pause of an organisation's sending: open until resumed (by a person, or at `until`)."""

    __tablename__ = "sending_pauses"
    __table_args__ = (
        one_of("reason", PauseReason, "ck_sending_pauses_reason"),
        Index("uq_sending_pauses_open", "org_id", unique=True, postgresql_where=text("resumed_at IS NULL")),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", index=True)
    reason: str = Field(max_length=32)
    detail: str = Field(default="", max_length=500)
    paused_at: datetime = created_field()
    # A temporary ban's end: sending resumes by itself then (at half pace for a day). None: a person resumes.
    until: datetime | None = timestamp_field()
    resumed_at: datetime | None = timestamp_field()
    resumed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class SendingIncident(SQLModel, table=True):
    """One alert-worthy incident: opened once, closed once, each told by e-mail, webhook and banner."""

    __tablename__ = "sending_incidents"
    __table_args__ = (
        one_of("kind", IncidentKind, "ck_sending_incidents_kind"),
        Index("uq_sending_incidents_open", "org_id", "kind", unique=True, postgresql_where=text("closed_at IS NULL")),
        Index("ix_sending_incidents_open", "opened_at", postgresql_where=text("closed_at IS NULL")),
        # E-mails still owed (opening or all-clear), for the sweeper.
        Index("ix_sending_incidents_unmailed", "opened_at",
              postgresql_where=text("opened_mailed_at IS NULL OR "
                                    "(closed_at IS NOT NULL AND closed_mailed_at IS NULL)")),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)
    # A strings.ERRORS code saying why (a SessionReason, a PauseReason, or "risk_red").
    reason: str = Field(max_length=64)
    detail: str = Field(default="", max_length=500)
    opened_at: datetime = created_field()
    closed_at: datetime | None = timestamp_field()
    opened_mailed_at: datetime | None = timestamp_field()
    closed_mailed_at: datetime | None = timestamp_field()
