"""Tables of people and tenants: organisations, users, identities, one-time links, the audit log."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from fleet_dashboard.core.tables import created_field, json_field, one_of, timestamp_field


class Role(enum.StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"
    super_admin = "super_admin"


class LinkPurpose(enum.StrEnum):
    """What a one-time link does when it is used."""

    login = "login"
    invite = "invite"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = created_field()
    # IANA zone the dashboard shows its times in; None follows the DEFAULT_TIMEZONE setting.
    timezone: str | None = Field(default=None, max_length=64)
    # Set while suspended: its WhatsApp session stays down, its API calls get 403 and its queue holds.
    suspended_at: datetime | None = timestamp_field()


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        one_of("role", Role, "ck_users_role"),
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
    created_at: datetime = created_field()
    last_login_at: datetime | None = timestamp_field()
    # Last change of email, role, organisation or activity; older JWT claims never overwrite it.
    updated_at: datetime = created_field()
    # Every sign-in token names the version it was issued under; bumping it ends them all at once.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    # What the fleet SaaS last said this person is (bridge PUT or JWT claims): claims that still say the same do
    # not undo a change made since on the dashboard (a demotion on /people, say).
    saas_org_id: uuid.UUID | None = Field(default=None)
    saas_role: str | None = Field(default=None, max_length=20)


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
    event_data: dict[str, Any] = json_field(dict)
    ip_address: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_field()


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
    created_at: datetime = created_field()
    last_login_at: datetime | None = timestamp_field()


class OneTimeLink(SQLModel, table=True):
    """A single-use link (sign-in or invitation): only the token's hash is kept, so a database leak opens nothing."""

    __tablename__ = "one_time_links"
    __table_args__ = (
        one_of("purpose", LinkPurpose, "ck_one_time_links_purpose"),
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
    # A break-glass link (a super_admin acting as this user): how long its sign-in lasts, in seconds.
    session_seconds: int | None = Field(default=None)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()
