"""Every table, in one module so anything can import the models without a cycle."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    text,
)
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


class SessionReason(enum.StrEnum):
    """Why a session is down, or degraded while connected (whatsapp_sessions.connection_error_code).

    strings.ERRORS says each in Arabic; the overview, webhooks and metrics use the code."""

    # Down for a while; the engine retries by itself.
    connect_failed = "connect_failed"
    connect_gave_up = "connect_gave_up"  # many failures in a row: status error, still retrying at the cap
    reconnecting = "reconnecting"  # the socket dropped; the library reconnects by itself
    temporary_ban = "temporary_ban"
    engine_stopped = "engine_stopped"
    engine_crashed = "engine_crashed"
    # Connected, but not healthy.
    keepalive_timeout = "keepalive_timeout"
    sends_failing = "sends_failing"
    # Ended: a person must act (connect again, or link again).
    logged_out_phone = "logged_out_phone"
    qr_expired = "qr_expired"
    needs_relink = "needs_relink"
    stream_replaced = "stream_replaced"
    client_outdated = "client_outdated"
    pair_code_failed = "pair_code_failed"
    unlinked_offline = "unlinked_offline"


# Reasons that leave the socket up: the status stays connected and the reason is shown beside it.
DEGRADED_REASONS = frozenset({SessionReason.keepalive_timeout, SessionReason.sends_failing})


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


# The message types that carry a file (a media row); the rest are text.
MEDIA_TYPES: tuple[str, ...] = (MessageType.image.value, MessageType.document.value)


class QueueStatus(enum.StrEnum):
    pending = "pending"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    # The worker died inside the send call: WhatsApp may have the message, so a person decides.
    unknown = "unknown"


class LinkPurpose(enum.StrEnum):
    """What a one-time link does when it is used."""

    login = "login"
    invite = "invite"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = _created()
    # IANA zone the dashboard shows its times in; None follows the DEFAULT_TIMEZONE setting.
    timezone: str | None = Field(default=None, max_length=64)
    # Set while suspended: its session stays down, its API calls get 403 and its queue holds.
    suspended_at: datetime | None = _ts()


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        _one_of("role", Role, "ck_users_role"),
        CheckConstraint("(role = 'super_admin') = (org_id IS NULL)", name="ck_users_role_org"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True})
    # None: provisioned by the fleet SaaS (signs in by a one-time link) or no password set yet.
    password_hash: str | None = None
    full_name: str = Field(default="", max_length=200)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", index=True,
                                     ondelete="CASCADE")
    role: str = Field(max_length=20)
    is_active: bool = True
    created_at: datetime = _created()
    last_login_at: datetime | None = _ts()
    # Last change of email, role, organisation or activity; older JWT claims never overwrite it.
    updated_at: datetime = _created()
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
    # The engine process that owns the socket now (whatsapp_engines.engine_id), for crash clean-up.
    engine_id: str | None = Field(default=None, max_length=128, index=True)
    # When the engine tries again by itself (backoff, or the end of a temporary ban).
    next_retry_at: datetime | None = _ts()
    # Linking by phone number: the number asked for, and the code WhatsApp gave for it.
    pair_phone: str | None = Field(default=None, max_length=32)
    pair_code: str | None = Field(default=None, max_length=16)
    pair_code_expires_at: datetime | None = _ts()
    # A device a user logged out while its socket was down: the engine still has to unlink it.
    unlink_jid: str | None = Field(default=None, max_length=128)


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


# Message statuses a message leaves on its own (in flight): never purged, whatever their age.
LIVE_MESSAGE_STATUSES = (MessageStatus.pending.value, MessageStatus.queued.value, MessageStatus.sending.value)
# Statuses that mean "went out" in volumes and failure rates.
SENT_MESSAGE_STATUSES = (MessageStatus.sent.value, MessageStatus.delivered.value, MessageStatus.read.value)
# Queue rows still owed to the worker: never purged.
LIVE_QUEUE_STATUSES = (QueueStatus.pending.value, QueueStatus.processing.value)


def _not_in(column: str, values: tuple[str, ...]) -> Any:
    return text(f"{column} NOT IN ({', '.join(repr(v) for v in values)})")


def _trigram(name: str, column: str) -> Index:
    """A pg_trgm GIN index, so ILIKE '%text%' searches are not a scan of the organisation's rows."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


class WhatsAppMessage(SQLModel, table=True):
    __tablename__ = "whatsapp_messages"
    __table_args__ = (
        # Keyset pages: every filter the history page and the API offer leads an index that ends in
        # (created_at, id), so the cursor is an index bound (services/pagination.py).
        Index("ix_whatsapp_messages_org_created", "org_id", "created_at", "id"),
        Index("ix_whatsapp_messages_org_status_created", "org_id", "status", "created_at", "id"),
        Index("ix_whatsapp_messages_org_template_created", "org_id", "template_name", "created_at", "id",
              postgresql_where=text("template_name IS NOT NULL")),
        _trigram("ix_whatsapp_messages_phone_trgm", "recipient_phone"),
        _trigram("ix_whatsapp_messages_body_trgm", "message_body"),
        _one_of("status", MessageStatus, "ck_whatsapp_messages_status"),
        _one_of("message_type", MessageType, "ck_whatsapp_messages_type"),
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
    # A document or an image: its stored file (services/media.py) and the name the recipient sees.
    media_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_media.id", ondelete="SET NULL")
    media_filename: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()


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
    created_at: datetime = _created()


class WhatsAppAuditLog(SQLModel, table=True):
    __tablename__ = "whatsapp_audit_logs"
    __table_args__ = (
        Index("ix_whatsapp_audit_logs_org_created", "org_id", "created_at", "id"),
        Index("ix_whatsapp_audit_logs_org_type_created", "org_id", "event_type", "created_at", "id"),
    )
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
        Index("ix_notification_queue_org_created", "org_id", "created_at", "id"),
        Index("ix_notification_queue_org_status_created", "org_id", "status", "created_at", "id"),
        # Retention: finished rows by the time they finished; deleting a message nulls its queue link.
        Index("ix_notification_queue_finished", text("COALESCE(completed_at, created_at)"),
              postgresql_where=_not_in("status", LIVE_QUEUE_STATUSES)),
        Index("ix_notification_queue_message", "message_id", postgresql_where=text("message_id IS NOT NULL")),
        Index("uq_notification_queue_org_idem", "org_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
        Index("ix_notification_queue_media", "media_id", postgresql_where=text("media_id IS NOT NULL")),
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
    # A file to send with the rendered template as its caption: its media row, shown name and type.
    media_id: uuid.UUID | None = Field(default=None, foreign_key="whatsapp_media.id", ondelete="SET NULL")
    media_filename: str | None = Field(default=None, max_length=255)
    media_type: str | None = Field(default=None, max_length=20)
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
    # An organisation's key has tenant scopes; a platform key (no organisation) has only "admin".
    __table_args__ = (CheckConstraint("(org_id IS NULL) = (scopes @> '[\"admin\"]'::jsonb)",
                                      name="ck_api_keys_admin_scope"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", ondelete="CASCADE",
                                     index=True)
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
    __table_args__ = (Index("ix_simulator_sent_created", "created_at"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", index=True)
    whatsapp_message_id: str = Field(max_length=128, sa_column=Column(String(128), unique=True,
                                                                        nullable=False))
    recipient_phone: str = Field(max_length=32)
    text: str
    # What kind of message the network accepted; for a file, its name and size.
    message_type: str = Field(default=MessageType.text.value, max_length=20)
    filename: str | None = Field(default=None, max_length=255)
    size: int | None = None
    created_at: datetime = _created()


class UserIdentity(SQLModel, table=True):
    """A user's account at an OIDC provider (issuer + subject), linked once and matched by it from then on.

    The e-mail is trusted only for the first link (verified by the provider); afterwards a changed or
    reused e-mail at the provider never reaches another account."""

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("issuer", "subject", name="uq_user_identities_issuer_subject"),
        UniqueConstraint("user_id", "issuer", name="uq_user_identities_user_issuer"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    email: str = Field(max_length=320)
    created_at: datetime = _created()
    last_login_at: datetime | None = _ts()


class OneTimeLink(SQLModel, table=True):
    """A single-use link (sign-in or invitation): only the token's hash is kept, so a database leak opens nothing."""

    __tablename__ = "one_time_links"
    __table_args__ = (
        _one_of("purpose", LinkPurpose, "ck_one_time_links_purpose"),
        Index("ix_one_time_links_org_purpose", "org_id", "purpose", "created_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    purpose: str = Field(max_length=20)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", ondelete="CASCADE")
    # login: whom it signs in. invite: who accepted it (set on use).
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE", index=True)
    email: str | None = Field(default=None, max_length=320)
    role: str | None = Field(default=None, max_length=20)
    next_path: str | None = Field(default=None, max_length=500)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    created_at: datetime = _created()


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


class WhatsAppEngine(SQLModel, table=True):
    """One engine process's heartbeat: the web tier reads engine health from here, never in process."""

    __tablename__ = "whatsapp_engines"
    engine_id: str = Field(primary_key=True, max_length=128)
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    backend: str = Field(default="", max_length=20)
    capacity: int = 0
    owned: int = 0
    connected: int = 0
    # Client threads the library never gave back (abandoned pairings); the process recycles past a limit.
    stuck_threads: int = 0
    started_at: datetime = _created()
    heartbeat_at: datetime = _created()
    stopped_at: datetime | None = _ts()


ALL_TABLES = [t for t in SQLModel.metadata.sorted_tables]

