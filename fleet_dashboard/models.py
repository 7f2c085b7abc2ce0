"""Every table, in one module so anything can import the models without a cycle."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, DateTime, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware now; TIMESTAMPTZ columns reject naive datetimes."""
    return datetime.now(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def _created() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()")),
    )


def _one_of(column: str, enum_cls: type[enum.Enum], name: str) -> CheckConstraint:
    values = ", ".join(f"'{e.value}'" for e in enum_cls)
    return CheckConstraint(f"{column} IN ({values})", name=name)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSONB, nullable=False, server_default=text(
        "'[]'::jsonb" if default is list else "'{}'::jsonb")))


class Role(enum.StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"
    super_admin = "super_admin"


class SessionStatus(enum.StrEnum):
    disconnected = "disconnected"
    connecting = "connecting"
    qr_pending = "qr_pending"
    connected = "connected"
    error = "error"


class MessageStatus(enum.StrEnum):
    pending = "pending"
    queued = "queued"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class MessageType(enum.StrEnum):
    text = "text"
    image = "image"
    document = "document"
    template = "template"


class QueueStatus(enum.StrEnum):
    pending = "pending"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    # The worker died inside the send call: WhatsApp may have the message, so a person decides.
    unknown = "unknown"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = _created()


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        _one_of("role", Role, "ck_users_role"),
        CheckConstraint("(role = 'super_admin') = (org_id IS NULL)", name="ck_users_role_org"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True})
    password_hash: str
    full_name: str = Field(default="", max_length=200)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", index=True,
                                     ondelete="CASCADE")
    role: str = Field(max_length=20)
    is_active: bool = True
    created_at: datetime = _created()
    last_login_at: datetime | None = _ts()
    # Every session token names the version it was issued under; bumping it ends them all at once.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})


class WhatsAppSession(SQLModel, table=True):
    __tablename__ = "whatsapp_sessions"
    __table_args__ = (_one_of("status", SessionStatus, "ck_whatsapp_sessions_status"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE",
                              sa_column_kwargs={"unique": True})
    status: str = Field(default=SessionStatus.disconnected.value, max_length=20)
    phone_number: str | None = Field(default=None, max_length=32)
    whatsapp_id: str | None = Field(default=None, max_length=128)
    display_name: str | None = Field(default=None, max_length=200)
    qr_code: str | None = None
    qr_expires_at: datetime | None = _ts()
    last_connected_at: datetime | None = _ts()
    last_disconnected_at: datetime | None = _ts()
    connection_error: str | None = None
    # The reason as a code (strings.ERRORS), so the Connect page says it in Arabic.
    connection_error_code: str | None = Field(default=None, max_length=64)
    retry_count: int = 0
    enabled: bool = False
    created_at: datetime = _created()
    updated_at: datetime = _created()


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
    description: str = Field(default="", max_length=500)
    category: str = Field(default="general", max_length=50)
    language: str = Field(default="ar", max_length=10)
    message_template: str
    variables: list[str] = _json(list)
    is_active: bool = True
    is_system: bool = False
    usage_count: int = 0
    last_used_at: datetime | None = _ts()
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = _created()
    updated_at: datetime = _created()


class WhatsAppMessage(SQLModel, table=True):
    __tablename__ = "whatsapp_messages"
    __table_args__ = (
        Index("ix_whatsapp_messages_org_created", "org_id", "created_at", "id"),
        _one_of("status", MessageStatus, "ck_whatsapp_messages_status"),
        _one_of("message_type", MessageType, "ck_whatsapp_messages_type"),
        Index("uq_whatsapp_messages_org_idem", "org_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
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
    template_params: dict[str, Any] = _json(dict)
    status: str = Field(default=MessageStatus.pending.value, max_length=20)
    whatsapp_message_id: str | None = Field(default=None, max_length=128, index=True)
    error: str | None = None
    # Why it failed, as a code (strings.ERRORS) the dashboard shows in Arabic; `error` keeps the detail.
    error_code: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts()
    read_at: datetime | None = _ts()
    failed_at: datetime | None = _ts()
    sent_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    idempotency_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created()


class WhatsAppAuditLog(SQLModel, table=True):
    __tablename__ = "whatsapp_audit_logs"
    __table_args__ = (Index("ix_whatsapp_audit_logs_org_created", "org_id", "created_at", "id"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", ondelete="CASCADE")
    session_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_sessions.id",
                                         ondelete="SET NULL")
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    event_type: str = Field(max_length=64, index=True)
    event_data: dict[str, Any] = _json(dict)
    ip_address: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


class NotificationQueue(SQLModel, table=True):
    __tablename__ = "notification_queue"
    __table_args__ = (
        Index("ix_notification_queue_due", "status", "scheduled_for", "priority"),
        Index("ix_notification_queue_claim", "priority", "scheduled_for", "created_at",
              postgresql_where=text("status = 'pending'")),
        _one_of("status", QueueStatus, "ck_notification_queue_status"),
        Index("ix_notification_queue_org_created", "org_id", "created_at"),
        Index("uq_notification_queue_org_idem", "org_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    notification_type: str = Field(default="whatsapp", max_length=20)
    recipient_phone: str = Field(max_length=32)
    template_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_templates.id",
                                          ondelete="SET NULL")
    message_data: dict[str, Any] = _json(dict)
    priority: int = 5
    status: str = Field(default=QueueStatus.pending.value, max_length=20)
    scheduled_for: datetime = _created()
    attempts: int = 0
    max_attempts: int = 3
    last_attempt_at: datetime | None = _ts()
    completed_at: datetime | None = _ts()
    error_message: str | None = None
    error_code: str | None = Field(default=None, max_length=64)
    message_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_messages.id",
                                         ondelete="SET NULL")
    whatsapp_message_id: str | None = Field(default=None, max_length=128)
    idempotency_key: str | None = Field(default=None, max_length=200)
    # Set when claimed; a row still processing past it belongs to a dead worker.
    lease_expires_at: datetime | None = _ts()
    created_at: datetime = _created()


class OptOut(SQLModel, table=True):
    __tablename__ = "whatsapp_opt_outs"
    __table_args__ = (UniqueConstraint("org_id", "phone", name="uq_whatsapp_opt_outs_org_phone"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    phone: str = Field(max_length=32)
    keyword: str = Field(default="", max_length=32)
    created_at: datetime = _created()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", index=True)
    name: str = Field(default="default", max_length=100)
    prefix: str = Field(max_length=16, index=True)
    key_hash: str = Field(max_length=128, sa_column_kwargs={"unique": True})
    scopes: list[str] = _json(list)
    created_at: datetime = _created()
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    events: list[str] = _json(list)
    is_active: bool = True
    created_at: datetime = _created()


class WebhookDelivery(SQLModel, table=True):
    """One event owed to one webhook until it is delivered or given up: retries survive a restart.

    The id is the delivery id the receiver sees (payload `id`, X-Fleet-Delivery), so a resend after a
    crash is recognisable as a duplicate. Delivered rows are deleted; failed ones stay for a look."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhooks.id", ondelete="CASCADE", index=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    event: dict[str, Any] = _json(dict)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = _created()
    last_error: str | None = None
    created_at: datetime = _created()


class SimulatorSent(SQLModel, table=True):
    """What the simulated WhatsApp network accepted, kept so duplicates show across restarts."""

    __tablename__ = "simulator_sent"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", index=True)
    whatsapp_message_id: str = Field(max_length=128, sa_column=Column(String(128), unique=True,
                                                                        nullable=False))
    recipient_phone: str = Field(max_length=32)
    text: str
    created_at: datetime = _created()


ALL_TABLES = [t for t in SQLModel.metadata.sorted_tables]
