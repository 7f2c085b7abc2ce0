"""API keys, webhooks and owed webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Index,
    text,
)
from sqlmodel import Field, SQLModel

from fleet_dashboard.core.tables import created_field, json_field, timestamp_field


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
    scopes: list[str] = json_field(list)
    created_at: datetime = created_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    events: list[str] = json_field(list)
    is_active: bool = True
    created_at: datetime = created_field()


class WebhookDelivery(SQLModel, table=True):
    """One event owed to one webhook until it is delivered or given up: retries survive a restart.

    The id is the delivery id the receiver sees (payload `id`, X-Fleet-Delivery), so a resend after a
    crash is recognisable as a duplicate. Settled rows (delivered, failed) stay for the settings page's view of
    deliveries until retention purges them; `log` holds each attempt's outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # The settings page's latest deliveries of an organisation.
        Index("ix_webhook_deliveries_org_created", "org_id", "created_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhooks.id", ondelete="CASCADE", index=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    event: dict[str, Any] = json_field(dict)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = created_field()
    last_error: str | None = None
    # The receiver's last HTTP status (None: no answer), and when the delivery was settled (None: still owed).
    last_status_code: int | None = None
    settled_at: datetime | None = timestamp_field()
    log: list[dict[str, Any]] = json_field(list)
    created_at: datetime = created_field()
