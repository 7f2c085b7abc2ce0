"""Tables and vocabularies of WhatsApp sessions and the engine processes that hold them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from fleet_dashboard.core.tables import created_field, one_of, timestamp_field
from fleet_dashboard.messaging.models import MessageType


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
    # The phone accepted the link and the device is registering (shown so it never looks like a hang) ...
    pairing_completing = "pairing_completing"
    # ... the library said WhatsApp asks the phone to confirm with a passkey ...
    passkey_requested = "passkey_requested"
    # ... or it never completed (e.g. WhatsApp asked the phone for a passkey): a person must link again.
    pairing_incomplete = "pairing_incomplete"
    # Engine processes died twice in a row while this session's start was inside the library: parked until a
    # person retries, so one poison organisation cannot take down engine after engine.
    engine_crash_loop = "engine_crash_loop"


# Reasons that leave the socket up: the status stays connected and the reason is shown beside it.
DEGRADED_REASONS = frozenset({SessionReason.keepalive_timeout, SessionReason.sends_failing})


class WhatsAppSession(SQLModel, table=True):
    __tablename__ = "whatsapp_sessions"
    __table_args__ = (one_of("status", SessionStatus, "ck_whatsapp_sessions_status"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE",
                              sa_column_kwargs={"unique": True})
    status: str = Field(default=SessionStatus.disconnected.value, max_length=20)
    phone_number: str | None = Field(default=None, max_length=32)
    whatsapp_id: str | None = Field(default=None, max_length=128)
    display_name: str | None = Field(default=None, max_length=200)
    qr_code: str | None = None
    qr_expires_at: datetime | None = timestamp_field()
    last_connected_at: datetime | None = timestamp_field()
    last_disconnected_at: datetime | None = timestamp_field()
    connection_error: str | None = None
    # The reason as a code (strings.ERRORS), so the Connect page says it in Arabic.
    connection_error_code: str | None = Field(default=None, max_length=64)
    retry_count: int = 0
    enabled: bool = False
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
    # The engine process that owns the socket now (whatsapp_engines.engine_id), for crash clean-up.
    engine_id: str | None = Field(default=None, max_length=128, index=True)
    # When the engine tries again by itself (backoff, or the end of a temporary ban).
    next_retry_at: datetime | None = timestamp_field()
    # Linking by phone number: the number asked for, and the code WhatsApp gave for it.
    pair_phone: str | None = Field(default=None, max_length=32)
    pair_code: str | None = Field(default=None, max_length=16)
    pair_code_expires_at: datetime | None = timestamp_field()
    # A device a user logged out while its socket was down: the engine still has to unlink it.
    unlink_jid: str | None = Field(default=None, max_length=128)
    # The last request a person made (sessions.COMMAND_ACTIONS) and how many there were: the owning engine acts on
    # a number it has not seen yet, so a request whose `session.command` event was lost still happens.
    command: str | None = Field(default=None, max_length=16)
    command_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    # Grows by one each time an engine takes the organisation over (with its advisory lock): every write an
    # engine makes about the session names the generation it took, so a stale engine's writes change nothing.
    lease_generation: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    # Engine processes that died while this session's start was inside the library, in a row (quarantine at 2).
    start_crashes: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class SimulatedKind(enum.StrEnum):
    """What the simulated network logged for an organisation."""

    message = "message"
    presence = "presence"
    lookup = "lookup"


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
    created_at: datetime = created_field()
    # What the network saw: a message, a presence update (text: composing|paused) or a look-up (text: the answer).
    kind: str = Field(default=SimulatedKind.message.value, max_length=16)


class SimulatorCommand(SQLModel, table=True):
    """A control command for a simulated phone, kept until the owning engine answers it (the bus only wakes it)."""

    __tablename__ = "simulator_commands"
    __table_args__ = (Index("ix_simulator_commands_open", "created_at", postgresql_where="answered_at IS NULL"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    action: str = Field(max_length=32)
    body: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    created_at: datetime = created_field()
    # Taken by the owning engine (it applies it once), then answered: error None = done.
    taken_at: datetime | None = timestamp_field()
    answered_at: datetime | None = timestamp_field()
    error: str | None = None


class SimulatorSocket(SQLModel, table=True):
    """The simulated server's one socket per device: the last client that connected with a device owns it, and the
    one before is told StreamReplaced (whenever its engine next looks, even after being frozen)."""

    __tablename__ = "simulator_sockets"
    # `<org id>/<device jid>`: a simulated device belongs to one organisation's link.
    device: str = Field(primary_key=True, max_length=200)
    socket_id: str = Field(max_length=64)
    engine_id: str | None = Field(default=None, max_length=128)
    connected_at: datetime = created_field()


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
    started_at: datetime = created_field()
    heartbeat_at: datetime = created_field()
    stopped_at: datetime | None = timestamp_field()
