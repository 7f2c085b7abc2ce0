"""Every place a message status, message type, receipt kind, queue status or event type must be handled, as one
check each.

Each check returns None when the place handles every member of its vocabulary, or says what is missing.
tests/messaging/test_vocabulary.py runs them on the real vocabularies and on one with a hypothetical new
message status, to measure what adding one costs."""

from __future__ import annotations

import typing
from collections.abc import Callable


def _statuses() -> set[str]:
    from fleet_dashboard.messaging.models import MessageStatus

    return {s.value for s in MessageStatus}


def arabic_name() -> str | None:
    """Every message status has its Arabic name (history filter, chips, message page)."""
    from fleet_dashboard import strings

    missing = _statuses() - set(strings.MESSAGE_STATUS)
    extra = set(strings.MESSAGE_STATUS) - _statuses()
    return f"no Arabic name for {sorted(missing)}, names for unknown {sorted(extra)}" if missing or extra else None


def status_chip() -> str | None:
    """Every message status has a chip colour."""
    from fleet_dashboard.web.components.status import MESSAGE_COLORS

    missing = _statuses() - set(MESSAGE_COLORS)
    return f"no chip colour for {sorted(missing)}" if missing else None


def receipt_order() -> str | None:
    """Receipts move every status forward by rank, in Python and in the receipt SQL."""
    from fleet_dashboard.messaging import messages

    missing = _statuses() - set(messages.ORDER)
    sql = str(messages._RECEIPT_SQL)
    missing |= {s for s in _statuses() if f"'{s}'" not in sql}
    return f"receipts cannot rank {sorted(missing)}" if missing else None


def receipt_columns() -> str | None:
    """Each receipt kind stamps its own `<kind>_at` column."""
    from fleet_dashboard.messaging.models import RECEIPT_KINDS, WhatsAppMessage

    columns = set(WhatsAppMessage.__table__.columns.keys())
    missing = [k for k in RECEIPT_KINDS if f"{k}_at" not in columns]
    return f"no timestamp column for receipt kinds {missing}" if missing else None


def receipt_kinds_on_the_wire() -> str | None:
    """The gateway and the simulator accept exactly the receipt kinds of the vocabulary."""
    from fleet_dashboard.api.routes.simulator import ReceiptIn
    from fleet_dashboard.messaging.models import RECEIPT_KINDS
    from fleet_dashboard.whatsapp.gateway import ReceiptKind

    gateway = set(typing.get_args(ReceiptKind))
    simulator = set(ReceiptIn.model_json_schema()["properties"]["type"]["enum"])
    ok = gateway == simulator == set(RECEIPT_KINDS)
    return None if ok else f"gateway {sorted(gateway)}, simulator {sorted(simulator)}, vocabulary {RECEIPT_KINDS}"


def webhooks() -> str | None:
    """Webhooks report every settled status and no in-flight one."""
    from fleet_dashboard.integrations import webhooks as hooks
    from fleet_dashboard.messaging.models import MessageStatus

    wanted = {s.value for s in MessageStatus if s.settled}
    return None if set(hooks.MESSAGE_STATUSES) == wanted else f"webhooks report {sorted(hooks.MESSAGE_STATUSES)}"


def send_verdicts() -> str | None:
    """A sender waiting on any status gets a verdict: queued while in flight, sent/failed/unknown after."""
    from fleet_dashboard.messaging.models import MessageStatus
    from fleet_dashboard.notifications import sending

    def expected(s: MessageStatus) -> str:
        if not s.settled:
            return sending.QUEUED
        if s.withdrawn:
            return s.value  # called off before any attempt: the sender is told so, not "failed"
        if s.ambiguous:
            return sending.UNKNOWN  # WhatsApp may have it: never "failed", or a person sends it again
        return MessageStatus.sent.value if s.went_out else MessageStatus.failed.value

    wrong = [s.value for s in MessageStatus if sending.send_verdict(s.value) != expected(s)]
    return f"senders misread {wrong}" if wrong else None


def metrics() -> str | None:
    """/api/metrics exports every message and queue status, 0 when absent."""
    from fleet_dashboard.notifications.models import QueueStatus
    from fleet_dashboard.stats.metrics import FleetCollector

    families = {m.name: {s.labels.get("status") for s in m.samples} for m in FleetCollector(lambda: []).collect()}
    missing = (_statuses() - families["fleet_whatsapp_messages"]) | \
        ({q.value for q in QueueStatus} - families["fleet_notification_queue_rows"])
    return f"metrics miss {sorted(missing)}" if missing else None


def overview() -> str | None:
    """The overview counts every tried settled status as sent or failed; nothing in flight, nothing withdrawn."""
    from fleet_dashboard.messaging.models import MessageStatus
    from fleet_dashboard.stats import overview as ov

    params = ov._params(None)
    counted = set(params["sent"]) | set(params["failed"])
    wanted = {s.value for s in MessageStatus if s.settled and not s.withdrawn}
    return None if counted == wanted else f"the overview counts {sorted(counted)}, tried and settled: {sorted(wanted)}"


def home_failures() -> str | None:
    """The home page's failure card and chart count exactly the failure-like statuses (a cancelled one is none)."""
    from fleet_dashboard.messaging.models import MessageStatus
    from fleet_dashboard.stats import home

    period = home.Period(first=None, last=None, since=None, until=None,
                         by_status={s.value: 1 for s in MessageStatus})
    wanted = sum(1 for s in MessageStatus if s.settled and not s.went_out and not s.withdrawn)
    in_flight = sum(1 for s in MessageStatus if not s.settled)
    if period.failed != wanted or period.in_progress != in_flight:
        return f"the home counts {period.failed} failed and {period.in_progress} in progress of one each"
    return None


def retention() -> str | None:
    """The purge never deletes a message in flight, whatever its status."""
    from fleet_dashboard.messaging.models import MessageStatus
    from fleet_dashboard.stats import retention as purge

    where = purge.KINDS["messages"].where
    missing = [s.value for s in MessageStatus if not s.settled and f"'{s.value}'" not in where]
    return f"the purge would delete in-flight {missing}" if missing else None


def worker_sql() -> str | None:
    """The worker's statements name statuses and types only through the vocabulary."""
    import re

    from fleet_dashboard.messaging.models import MessageStatus, MessageType
    from fleet_dashboard.notifications import claims
    from fleet_dashboard.notifications.models import QueueStatus

    known = {s.value for s in MessageStatus} | {s.value for s in QueueStatus} | {t.value for t in MessageType}
    outcome_kinds = {"sent", "retry", "release", "failed", "unknown", "message", "queue"}
    stray = set()
    for name in ("_CLAIM_SQL", "_CLAIM_PER_ORG_SQL", "_MARK_SQL", "_COMPLETE_SQL", "_RELEASE_SQL", "_RECLAIM_SQL"):
        sql = str(getattr(claims, name))
        stray |= {lit for lit in re.findall(r"'([a-z_]+)'", sql) if lit not in known | outcome_kinds}
    return f"the worker's SQL names unknown values {sorted(stray)}" if stray else None


def queue_statuses() -> str | None:
    """Every queue status has an Arabic name and a chip colour."""
    from fleet_dashboard import strings
    from fleet_dashboard.notifications.models import QueueStatus
    from fleet_dashboard.web.components.status import QUEUE_COLORS

    values = {q.value for q in QueueStatus}
    missing = (values - set(strings.QUEUE_STATUS)) | (values - set(QUEUE_COLORS))
    return f"queue statuses without a name or colour: {sorted(missing)}" if missing else None


def event_types() -> str | None:
    """Webhooks offer every public event type, each with its Arabic name on the settings page."""
    from fleet_dashboard import strings
    from fleet_dashboard.core.events import EventType
    from fleet_dashboard.integrations import webhooks as hooks

    public = {t.value for t in EventType if t.public}
    if set(hooks.EVENTS) != public:
        return f"webhooks offer {hooks.EVENTS}, public events are {sorted(public)}"
    missing = public - set(strings.WEBHOOK_EVENT_NAMES)
    return f"no Arabic name for events {sorted(missing)}" if missing else None


def event_types_named_once() -> str | None:
    """No module but core/events.py spells an event type as a string: every emit, subscribe and lookup names the
    EventType member, so a renamed or new type cannot be missed by a grep."""
    import ast
    from pathlib import Path

    from fleet_dashboard.core.events import EventType

    root = Path(__file__).resolve().parents[2] / "fleet_dashboard"
    values = {t.value for t in EventType}
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == root / "core" / "events.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and node.value in values:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.value!r}")
    return f"event types spelled as strings: {found}" if found else None


def _message_types() -> set[str]:
    from fleet_dashboard.messaging.models import MessageType

    return {t.value for t in MessageType}


def message_type_arabic_name() -> str | None:
    """Every message type has its Arabic name (the message page, the conversation)."""
    from fleet_dashboard import strings

    missing = _message_types() - set(strings.MESSAGE_TYPE)
    extra = set(strings.MESSAGE_TYPE) - _message_types()
    return f"no Arabic name for types {sorted(missing)}, names for unknown {sorted(extra)}" if missing or extra \
        else None


def message_type_api() -> str | None:
    """The API's `type` enums are the types a caller may name, and the file kinds among them."""
    from fleet_dashboard.api.schemas import NotificationIn, SendTemplate, SendText
    from fleet_dashboard.messaging.models import MessageType

    def enum(model) -> set[str]:
        prop = model.model_json_schema()["properties"]["type"]
        return {v for option in prop.get("anyOf", [prop]) for v in option.get("enum", [])}

    named = {t.value for t in MessageType if t.api}
    files = {t.value for t in MessageType if t.api and t.file}
    wrong = {m.__name__: sorted(enum(m)) for m, want in ((SendText, named), (SendTemplate, files),
                                                         (NotificationIn, files)) if enum(m) != want}
    return f"the API's type enums {wrong}, the vocabulary {sorted(named)} (files {sorted(files)})" if wrong else None


def message_type_column() -> str | None:
    """The messages table's CHECK constraint allows every type (a migration changes it: alembic check)."""
    from fleet_dashboard.messaging.models import WhatsAppMessage

    [check] = [c for c in WhatsAppMessage.__table__.constraints if c.name == "ck_whatsapp_messages_type"]
    missing = [t for t in sorted(_message_types()) if f"'{t}'" not in str(check.sqltext)]
    return f"the CHECK constraint refuses types {missing}" if missing else None


def message_type_file_rules() -> str | None:
    """Every type that carries a file has its size limit (a setting) and accepted MIME types (media.FILE_RULES)."""
    from fleet_dashboard.core.settings import Settings
    from fleet_dashboard.messaging import media
    from fleet_dashboard.messaging.models import MEDIA_TYPES

    missing = [k for k in MEDIA_TYPES if k not in media.FILE_RULES]
    unknown = [k for k, rule in media.FILE_RULES.items() if rule.limit_setting not in Settings.model_fields]
    if missing or unknown:
        return f"file kinds without a rule {missing}, rules naming no setting {unknown}"
    return None


def message_type_gateway() -> str | None:
    """The real gateway builds a message for every type that carries a file (neonize_gateway.FILE_MESSAGES)."""
    from fleet_dashboard.messaging.models import MEDIA_TYPES
    from fleet_dashboard.whatsapp.engine import neonize_gateway

    missing = [k for k in MEDIA_TYPES if k not in neonize_gateway.FILE_MESSAGES]
    return f"the neonize gateway cannot send file kinds {missing}" if missing else None


CHECKS: dict[str, Callable[[], str | None]] = {
    f.__name__: f for f in (arabic_name, status_chip, receipt_order, receipt_columns, receipt_kinds_on_the_wire,
                            webhooks, send_verdicts, metrics, overview, home_failures, retention, worker_sql,
                            queue_statuses, event_types, event_types_named_once, message_type_arabic_name,
                            message_type_api, message_type_column, message_type_file_rules, message_type_gateway)
}


def run() -> dict[str, str]:
    """Every failing check and what it found."""
    out = {}
    for name, check in CHECKS.items():
        problem = check()
        if problem:
            out[name] = problem
    return out
