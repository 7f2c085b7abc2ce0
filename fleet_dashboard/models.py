"""Every table, re-exported from its domain package: alembic loads them all from here."""

from sqlmodel import SQLModel

from fleet_dashboard.accounts.models import (  # noqa: F401
    LinkPurpose,
    OneTimeLink,
    Organization,
    Role,
    User,
    UserIdentity,
    WhatsAppAuditLog,
)
from fleet_dashboard.core.tables import (  # noqa: F401
    created_field,
    json_field,
    not_in,
    one_of,
    sql_list,
    sql_literal,
    timestamp_field,
    trigram_index,
    utcnow,
)
from fleet_dashboard.deliverability.models import (  # noqa: F401
    ContactCheck,
    IncidentKind,
    PauseReason,
    Risk,
    SendingIncident,
    SendingPause,
    SendingRules,
    SendingState,
    WaitReason,
)
from fleet_dashboard.integrations.models import ApiKey, Webhook, WebhookDelivery  # noqa: F401
from fleet_dashboard.messaging.models import (  # noqa: F401
    FAILED_MESSAGE_STATUSES,
    LIVE_MESSAGE_STATUSES,
    MEDIA_TYPES,
    MESSAGE_ORDER,
    RECEIPT_KINDS,
    SENDABLE_MESSAGE_STATUSES,
    SENT_MESSAGE_STATUSES,
    SETTLED_MESSAGE_STATUSES,
    InboundMessage,
    MessageStatus,
    MessageType,
    OptOut,
    WhatsAppMedia,
    WhatsAppMessage,
    WhatsAppTemplate,
)
from fleet_dashboard.notifications.models import LIVE_QUEUE_STATUSES, NotificationQueue, QueueStatus  # noqa: F401
from fleet_dashboard.stats.models import FLEET, STATUS_COUNT_DELTAS, CountKind, StatusCount  # noqa: F401
from fleet_dashboard.whatsapp.models import (  # noqa: F401
    DEGRADED_REASONS,
    SessionReason,
    SessionStatus,
    SimulatedKind,
    SimulatorCommand,
    SimulatorSent,
    WhatsAppEngine,
    WhatsAppSession,
)

ALL_TABLES = [t for t in SQLModel.metadata.sorted_tables]
