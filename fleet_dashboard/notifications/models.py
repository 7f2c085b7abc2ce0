"""The durable notification queue and its status vocabulary."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Index,
    text,
)
from sqlmodel import Field, SQLModel

from fleet_dashboard.core.tables import created_field, json_field, not_in, one_of, timestamp_field


class QueueStatus(enum.StrEnum):
    """A queue row's status; `live` rows are still owed to the worker (never purged, counted as depth)."""

    live: bool

    def __new__(cls, value: str, live: bool = False):
        member = str.__new__(cls, value)
        member._value_ = value
        member.live = live
        return member

    pending = "pending", True
    processing = "processing", True
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    # The worker died inside the send call: WhatsApp may have the message, so a person decides.
    unknown = "unknown"


# Queue rows still owed to the worker: never purged.
LIVE_QUEUE_STATUSES = tuple(s.value for s in QueueStatus if s.live)


class NotificationQueue(SQLModel, table=True):
    __tablename__ = "notification_queue"
    __table_args__ = (
        Index("ix_notification_queue_due", "status", "scheduled_for", "priority"),
        Index("ix_notification_queue_claim", "priority", "scheduled_for", "created_at",
              postgresql_where=text("status = 'pending'")),
        one_of("status", QueueStatus, "ck_notification_queue_status"),
        Index("ix_notification_queue_org_created", "org_id", "created_at", "id"),
        Index("ix_notification_queue_org_status_created", "org_id", "status", "created_at", "id"),
        # Retention: finished rows by the time they finished; deleting a message nulls its queue link.
        Index("ix_notification_queue_finished", text("COALESCE(completed_at, created_at)"),
              postgresql_where=not_in("status", LIVE_QUEUE_STATUSES)),
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
    message_data: dict[str, Any] = json_field(dict)
    priority: int = 5
    status: str = Field(default=QueueStatus.pending.value, max_length=20)
    scheduled_for: datetime = created_field()
    attempts: int = 0
    max_attempts: int = 3
    last_attempt_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()
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
    lease_expires_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()
    # An OTP or a failed payment: ignores quiet hours and may use the daily cap's reserve, never the pacing.
    urgent: bool = False
    # Why a pending row waits past its time (deliverability.models.WaitReason); scheduled_for says until when.
    wait_reason: str | None = Field(default=None, max_length=32)
