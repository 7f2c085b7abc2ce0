"""Messages, their status and type vocabularies, templates, media, replies and the opt-out list."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from fleet_dashboard.core.tables import created_field, json_field, one_of, timestamp_field, trigram_index


class MessageStatus(enum.StrEnum):
    """A message's status: the one definition every other place derives from (SQL included).

    Each member carries `rank` (a receipt moves a message only to a higher rank, never back), `settled`
    (the send has an outcome; otherwise it is in flight and never purged), `went_out` (counts as sent in
    volumes and failure rates), `receipt` (WhatsApp reports it in a receipt; the message keeps the
    time in its `<status>_at` column), `withdrawn` (a person called it off before it was tried: settled,
    yet neither sent nor failed, so no failure count or rate includes it) and `ambiguous` (the library may have
    handed it to WhatsApp: never resent by itself, senders are told "unknown", a receipt settles it; it counts
    with the failures until then). Adding one: a member here, its
    Arabic name in strings.MESSAGE_STATUS, and a migration for the CHECK constraint;
    tests/messaging/test_vocabulary.py fails on anything missed.
    """

    rank: int
    settled: bool
    went_out: bool
    receipt: bool
    withdrawn: bool
    ambiguous: bool

    def __new__(cls, value: str, rank: int, settled: bool, went_out: bool = False, receipt: bool = False,
                withdrawn: bool = False, ambiguous: bool = False):
        member = str.__new__(cls, value)
        member._value_ = value
        member.rank, member.settled, member.went_out, member.receipt = rank, settled, went_out, receipt
        member.withdrawn, member.ambiguous = withdrawn, ambiguous
        return member

    #          value        rank settled went_out receipt withdrawn ambiguous
    pending = "pending", 0, False
    queued = "queued", 0, False
    sending = "sending", 1, False
    sent = "sent", 2, True, True
    delivered = "delivered", 3, True, True, True
    read = "read", 4, True, True, True
    failed = "failed", 1, True
    cancelled = "cancelled", 1, True, False, False, True
    unknown = "unknown", 1, True, False, False, False, True


class MessageType(enum.StrEnum):
    """What a message carries. `file`: a file (a media row; messaging/media.FILE_RULES caps it and the gateway's
    FILE_MESSAGES sends it); `api`: a caller names it in the API's `type` (api/schemas derives its enums).

    A new member: docs/ARCHITECTURE.md, "A new message type"; tests/messaging/vocabulary_checks.py names every
    place that must handle it."""

    file: bool
    api: bool

    def __new__(cls, value: str, file: bool = False, api: bool = False):
        member = str.__new__(cls, value)
        member._value_ = value
        member.file = file
        member.api = api
        return member

    text = "text", False, True
    image = "image", True, True
    document = "document", True, True
    # A template's text: a caller names the template (template_id or template_name), not a type.
    template = "template"


# The message types that carry a file (a media row); the rest are text.
MEDIA_TYPES: tuple[str, ...] = tuple(t.value for t in MessageType if t.file)
# What the API's `type` accepts: every type a caller may name, and those of them that carry a file.
API_TYPES: tuple[str, ...] = tuple(t.value for t in MessageType if t.api)
API_FILE_TYPES: tuple[str, ...] = tuple(t.value for t in MessageType if t.api and t.file)


class WhatsAppTemplate(SQLModel, table=True):
    __tablename__ = "whatsapp_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "name", name="uq_whatsapp_templates_org_name"),
        # NULL org_ids never collide in a plain unique constraint, so system names need their own rule.
        Index("uq_whatsapp_templates_system_name", "name", unique=True,
              postgresql_where=text("org_id IS NULL")),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", ondelete="CASCADE",
                                     index=True)
    name: str = Field(max_length=64)
    # What people read ("تذكير بالدفع"); `name` is the API's (payment_reminder). Empty: the description, else name.
    display_name: str = Field(default="", max_length=120, sa_column_kwargs={"server_default": ""})
    description: str = Field(default="", max_length=500)
    category: str = Field(default="general", max_length=50)
    language: str = Field(default="ar", max_length=10)
    message_template: str
    variables: list[str] = json_field(list)
    is_active: bool = True
    is_system: bool = False
    # Its notifications are urgent (an OTP, a failed payment): they ignore quiet hours, never the pacing.
    urgent: bool = False
    usage_count: int = 0
    last_used_at: datetime | None = timestamp_field()
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


# Everything below is derived from the enums above; nothing else lists their members.
# A receipt moves a message forward by rank only.
MESSAGE_ORDER: dict[str, int] = {s.value: s.rank for s in MessageStatus}


# Message statuses a message leaves on its own (in flight): never purged, whatever their age.
LIVE_MESSAGE_STATUSES = tuple(s.value for s in MessageStatus if not s.settled)


# The send has an outcome: what a sender waits for, what webhooks report.
SETTLED_MESSAGE_STATUSES = tuple(s.value for s in MessageStatus if s.settled)


# Statuses that mean "went out" in volumes and failure rates.
SENT_MESSAGE_STATUSES = tuple(s.value for s in MessageStatus if s.went_out)


# Settled without going out, though it was tried: failures in the home's and the overview's rates and charts.
FAILED_MESSAGE_STATUSES = tuple(s.value for s in MessageStatus if s.settled and not s.went_out and not s.withdrawn)


# Called off by a person before any attempt: neither sent nor failed.
WITHDRAWN_MESSAGE_STATUSES = tuple(s.value for s in MessageStatus if s.withdrawn)


# WhatsApp may have it (library_errors.Verdict.MAYBE_SENT): a sender is told "unknown"; a receipt settles it.
AMBIGUOUS_MESSAGE_STATUSES = tuple(s.value for s in MessageStatus if s.ambiguous)


# Receipt kinds WhatsApp reports, lowest first: each is the status it moves a message to.
RECEIPT_KINDS = tuple(sorted((s.value for s in MessageStatus if s.receipt), key=MESSAGE_ORDER.__getitem__))


# A message the worker may (re)send: not sent yet, or failed before WhatsApp had it.
SENDABLE_MESSAGE_STATUSES = (MessageStatus.pending.value, MessageStatus.queued.value, MessageStatus.failed.value)


class WhatsAppMessage(SQLModel, table=True):
    __tablename__ = "whatsapp_messages"
    __table_args__ = (
        # Keyset pages: every filter the history page and the API offer leads an index that ends in
        # (created_at, id), so the cursor is an index bound (core/pagination.py).
        Index("ix_whatsapp_messages_org_created", "org_id", "created_at", "id"),
        Index("ix_whatsapp_messages_org_status_created", "org_id", "status", "created_at", "id"),
        Index("ix_whatsapp_messages_org_template_created", "org_id", "template_name", "created_at", "id",
              postgresql_where=text("template_name IS NOT NULL")),
        # The conversation with one number (services/inbound.conversation).
        Index("ix_whatsapp_messages_org_phone_created", "org_id", "recipient_phone", "created_at", "id"),
        trigram_index("ix_whatsapp_messages_phone_trgm", "recipient_phone"),
        trigram_index("ix_whatsapp_messages_body_trgm", "message_body"),
        one_of("status", MessageStatus, "ck_whatsapp_messages_status"),
        one_of("message_type", MessageType, "ck_whatsapp_messages_type"),
        Index("uq_whatsapp_messages_org_idem", "org_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
        Index("ix_whatsapp_messages_media", "media_id", postgresql_where=text("media_id IS NOT NULL")),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    session_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_sessions.id",
                                         ondelete="SET NULL")
    recipient_phone: str = Field(max_length=32)
    recipient_name: str | None = Field(default=None, max_length=200)
    message_type: str = Field(default=MessageType.text.value, max_length=20)
    message_body: str
    template_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_templates.id",
                                          ondelete="SET NULL")
    template_name: str | None = Field(default=None, max_length=64)
    template_params: dict[str, Any] = json_field(dict)
    status: str = Field(default=MessageStatus.pending.value, max_length=20)
    whatsapp_message_id: str | None = Field(default=None, max_length=128, index=True)
    error: str | None = None
    # Why it failed, as a code (strings.ERRORS) the dashboard shows in Arabic; `error` keeps the detail.
    error_code: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = timestamp_field()
    delivered_at: datetime | None = timestamp_field()
    read_at: datetime | None = timestamp_field()
    failed_at: datetime | None = timestamp_field()
    sent_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    idempotency_key: str | None = Field(default=None, max_length=200)
    # A document or an image: its stored file (messaging/media.py) and the name the recipient sees.
    media_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_media.id", ondelete="SET NULL")
    media_filename: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_field()


class WhatsAppMedia(SQLModel, table=True):
    """One file an organisation sends (an invoice PDF, a photo), stored once per content (sha256)."""

    __tablename__ = "whatsapp_media"
    __table_args__ = (
        Index("uq_whatsapp_media_org_sha", "org_id", "sha256", unique=True),
        Index("ix_whatsapp_media_created", "created_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    sha256: str = Field(max_length=64)
    mime_type: str = Field(max_length=127)
    size: int
    # Where the bytes live: "postgres" keeps them in `data`; another store keeps a key in `storage_key`.
    storage: str = Field(default="postgres", max_length=16)
    storage_key: str | None = Field(default=None, max_length=500)
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = created_field()


class InboundMessage(SQLModel, table=True):
    """A customer's message to the organisation's number, kept so the owner sees replies beside what was sent.

    The conversation with a number is its outbound rows (recipient_phone) and these (phone), by time."""

    __tablename__ = "whatsapp_inbound_messages"
    __table_args__ = (
        Index("ix_whatsapp_inbound_org_created", "org_id", "created_at", "id"),
        Index("ix_whatsapp_inbound_org_phone_created", "org_id", "phone", "created_at", "id"),
        trigram_index("ix_whatsapp_inbound_body_trgm", "message_body"),
        # WhatsApp may deliver one message twice (after a reconnect): the second is the same row.
        UniqueConstraint("org_id", "whatsapp_message_id", name="uq_whatsapp_inbound_org_wid"),
        # Replies of senders known only by a LID, until the engine maps them to a number (store.map_lids).
        Index("ix_whatsapp_inbound_lid", "org_id", "phone", postgresql_where=text("phone LIKE '%@lid'")),
        # The navigation's unread count, and marking one conversation read.
        Index("ix_whatsapp_inbound_unread", "org_id", "phone", postgresql_where=text("read_at IS NULL")),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    phone: str = Field(max_length=32)
    message_body: str
    whatsapp_message_id: str = Field(max_length=128)
    # What a STOP or START keyword did to the opt-out list ("opted_out", "opted_in"), else None.
    opt_out: str | None = Field(default=None, max_length=16)
    # When someone of the organisation first opened the conversation after it came; None: unread.
    read_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()


class OptOut(SQLModel, table=True):
    __tablename__ = "whatsapp_opt_outs"
    __table_args__ = (UniqueConstraint("org_id", "phone", name="uq_whatsapp_opt_outs_org_phone"),
                      Index("ix_whatsapp_opt_outs_org_created", "org_id", "created_at", "id"),
                      Index("ix_whatsapp_opt_outs_lid", "org_id", "phone", postgresql_where=text("phone LIKE '%@lid'")))
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    phone: str = Field(max_length=32)
    # The STOP word the customer sent; empty when a person added the number.
    keyword: str = Field(default="", max_length=32)
    # Why a person added it ("asked by phone"); empty for a STOP keyword.
    reason: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})
    added_by: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, ForeignKey("users.id", name="fk_whatsapp_opt_outs_added_by", ondelete="SET NULL"), nullable=True))
    created_at: datetime = created_field()
