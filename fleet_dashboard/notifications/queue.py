"""The durable notification queue: enqueue (one or up to 1,000), look up, cancel and retry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, func, text, update
from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import events, phones
from fleet_dashboard.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.pagination import clamp_limit, get_owned, keyset_page
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import status
from fleet_dashboard.messaging import media, messages, templates
from fleet_dashboard.messaging.models import (
    AMBIGUOUS_MESSAGE_STATUSES,
    MessageStatus,
    WhatsAppMessage,
    WhatsAppTemplate,
)
from fleet_dashboard.notifications.models import NotificationQueue, QueueStatus

MAX_BULK = 1000
TOP_PRIORITY = 0
DEFAULT_PRIORITY = 5
PRIORITY_RANGE = range(0, 11)
ATTEMPTS_RANGE = range(1, 21)
IDEMPOTENCY_KEY_MAX = 200


def wake_event(org_id: uuid.UUID) -> dict[str, Any]:
    """The `queue.wake` bus event: new due work for this organisation."""
    return {"type": EventType.queue_wake, "org_id": str(org_id)}


def changed_event(org_id: uuid.UUID) -> dict[str, Any]:
    """The `queue.changed` bus event: the worker moved some of this organisation's rows."""
    return {"type": EventType.queue_changed, "org_id": str(org_id)}


def _wake(session: Session, org_id: uuid.UUID) -> None:
    events.emit(session, wake_event(org_id))


def _prepare(session: Session, org_id: uuid.UUID, item: Mapping[str, Any],
             cache: dict[Any, Any]) -> dict[str, Any]:
    """Validate one item the way the worker will send it, so bad input is refused now, not later."""
    phone = phones.normalize_phone(str(item.get("recipient") or ""))
    tid, tname = item.get("template_id"), item.get("template_name")
    key = ("id", str(tid)) if tid else ("name", tname)
    if key not in cache:
        cache[key] = templates.get_for_org(session=session, org_id=org_id, template_id=tid, name=tname)
    template = cache[key]
    variables = item.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise ValidationError("variables must be an object", code="validation")
    templates.render_for_send(template.name, template.message_template, template.is_active, variables)
    priority = item.get("priority")
    priority = DEFAULT_PRIORITY if priority is None else priority
    if not isinstance(priority, int) or priority not in PRIORITY_RANGE:
        raise ValidationError("priority must be a whole number from 0 to 10", code="invalid_priority")
    attempts = item.get("max_attempts")
    attempts = 3 if attempts is None else attempts
    if not isinstance(attempts, int) or attempts not in ATTEMPTS_RANGE:
        raise ValidationError("max_attempts must be from 1 to 20", code="invalid_max_attempts")
    when = item.get("scheduled_for")
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError as exc:
            raise ValidationError("scheduled_for must be an ISO 8601 time", code="validation") from exc
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    idem = (item.get("idempotency_key") or "").strip() or None
    if idem is not None and len(idem) > IDEMPOTENCY_KEY_MAX:
        raise ValidationError("idempotency key is too long", code="idempotency_key_long",
                              limit=IDEMPOTENCY_KEY_MAX)
    attachment = item.get("attachment")
    if attachment is not None:  # named by a caller: re-read from this organisation's store, checked again
        attachment = media.attachment(session=session, org_id=org_id, media_id=attachment.media_id,
                                      filename=attachment.filename, kind=attachment.kind)
    if item.get("media") is not None:  # a checked file (services/media.resolve): its rendered template is the caption
        attachment = media.store(session=session, org_id=org_id, file=item["media"])
    return {
        "urgent": bool(item.get("urgent")) or bool(getattr(template, "urgent", False)), "wait_reason": None,
        "media_id": attachment.media_id if attachment else None,
        "media_filename": attachment.filename if attachment else None,
        "media_type": attachment.kind if attachment else None,
        "id": uuid.uuid4(), "org_id": org_id, "recipient_phone": phone, "template_id": template.id,
        "message_data": {str(k): v if isinstance(v, str | int | float | bool) else str(v)
                         for k, v in variables.items()},
        "priority": priority, "max_attempts": attempts, "scheduled_for": when or utcnow(),
        "idempotency_key": idem, "status": QueueStatus.pending.value, "created_at": utcnow(),
    }


# One statement with a constant text whatever the batch size: arrays, not 1,000 VALUES tuples to parse.
_INSERT_SQL = text("""
INSERT INTO notification_queue (id, org_id, notification_type, recipient_phone, template_id, message_data,
                                priority, status, scheduled_for, attempts, max_attempts, idempotency_key,
                                created_at, media_id, media_filename, media_type, urgent, wait_reason)
SELECT id, :org_id, 'whatsapp', phone, tid, data, prio, 'pending', sched, 0, maxa, idem, created, mid, mname, mtype,
       urgent, wait
FROM unnest(CAST(:ids AS uuid[]), CAST(:phones AS text[]), CAST(:tids AS uuid[]), CAST(:datas AS jsonb[]),
            CAST(:prios AS int[]), CAST(:scheds AS timestamptz[]), CAST(:maxas AS int[]),
            CAST(:idems AS text[]), CAST(:createds AS timestamptz[]), CAST(:mids AS uuid[]),
            CAST(:mnames AS text[]), CAST(:mtypes AS text[]), CAST(:urgents AS boolean[]), CAST(:waits AS text[]))
    AS t(id, phone, tid, data, prio, sched, maxa, idem, created, mid, mname, mtype, urgent, wait)
ON CONFLICT (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id
""")


def _columns(org_id: uuid.UUID, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "org_id": org_id, "ids": [r["id"] for r in rows], "phones": [r["recipient_phone"] for r in rows],
        "tids": [r["template_id"] for r in rows],
        "datas": [json.dumps(r["message_data"], ensure_ascii=False) for r in rows],
        "prios": [r["priority"] for r in rows], "scheds": [r["scheduled_for"] for r in rows],
        "maxas": [r["max_attempts"] for r in rows], "idems": [r["idempotency_key"] for r in rows],
        "createds": [r["created_at"] for r in rows], "mids": [r["media_id"] for r in rows],
        "mnames": [r["media_filename"] for r in rows], "mtypes": [r["media_type"] for r in rows],
        "urgents": [r["urgent"] for r in rows], "waits": [r["wait_reason"] for r in rows],
    }



def picked_time(when: datetime | None) -> datetime | None:
    """A time a person picked for a send: None (as soon as the worker can) or a time still ahead. One already past
    is refused: sending it at once is not what was asked for (the API keeps taking a past time as "now")."""
    if when is not None and when <= utcnow():
        raise ValidationError("the scheduled time has passed", code="schedule_in_past")
    return when


def enqueue_many(
    *, session: Session, org_id: uuid.UUID, items: Sequence[Mapping[str, Any]], actor: Actor,
) -> list[tuple[NotificationQueue, bool]]:
    """Validate all items, then insert them in one statement; a repeated idempotency key returns the first.

    All or nothing: an invalid item raises its error (with `item`, its index) and nothing is queued."""
    permissions.require(actor, Action.schedule, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    if len(items) > MAX_BULK:
        raise ValidationError(f"at most {MAX_BULK} notifications per request", code="bulk_too_large",
                              limit=MAX_BULK)
    cache: dict[Any, Any] = {}
    rows: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            rows.append(_prepare(session, org_id, item, cache))
        except DomainError as exc:
            prefix = f"item {index}: " if len(items) > 1 else ""
            raise type(exc)(prefix + exc.message, code=exc.code, item=index, **exc.params) from exc
    if not rows:
        return []
    status.time_rows(session=session, org_id=org_id, rows=rows)
    first_by_key: dict[str, uuid.UUID] = {}
    unique = []
    for row in rows:
        key = row["idempotency_key"]
        if key is None or key not in first_by_key:
            unique.append(row)
            if key is not None:
                first_by_key[key] = row["id"]
    inserted = set(session.execute(_INSERT_SQL, _columns(org_id, unique)).scalars())
    keys_lost = [r["idempotency_key"] for r in unique if r["id"] not in inserted]
    existing = {}
    if keys_lost:
        query = select(NotificationQueue).where(NotificationQueue.org_id == org_id,
                                                NotificationQueue.idempotency_key.in_(keys_lost))
        existing = {r.idempotency_key: r for r in session.exec(query)}
    # An array parameter: an IN list of 1,000 placeholders costs more to build than the query itself.
    ids = bindparam("ids", value=list(inserted), type_=ARRAY(Uuid()))
    fresh = {r.id: r for r in session.exec(select(NotificationQueue).where(
        NotificationQueue.id == any_(ids)))} if inserted else {}
    if inserted:
        _wake(session, org_id)
        _audit_scheduled(session, org_id, actor, [fresh[i] for i in fresh])
    out = []
    for row in rows:
        key = row["idempotency_key"]
        if row["id"] in fresh:
            out.append((fresh[row["id"]], True))
        elif key in existing:
            out.append((existing[key], False))
        else:  # a repeat of a key earlier in this same request
            out.append((fresh.get(first_by_key[key]) or existing[key], False))
    return out


def enqueue(
    *,
    session: Session,
    org_id: uuid.UUID,
    recipient: str,
    template_id: uuid.UUID | str | None = None,
    template_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    scheduled_for: datetime | str | None = None,
    priority: int | None = None,
    max_attempts: int | None = None,
    idempotency_key: str | None = None,
    actor: Actor,
    attachment: media.Attachment | None = None,
    urgent: bool = False,
) -> tuple[NotificationQueue, bool]:
    """Queue one template notification (a stored file too, the template as caption); returns the row and
    whether it is new."""
    item = {"recipient": recipient, "template_id": template_id, "template_name": template_name,
            "variables": variables, "scheduled_for": scheduled_for, "priority": priority,
            "max_attempts": max_attempts, "idempotency_key": idempotency_key, "attachment": attachment,
            "urgent": urgent}
    return enqueue_many(session=session, org_id=org_id, items=[item], actor=actor)[0]


def schedule_text(*, session: Session, org_id: uuid.UUID, recipient: str, text_body: str,
                  scheduled_for: datetime | None = None, actor: Actor, attachment: media.Attachment | None = None,
                  urgent: bool = False) -> NotificationQueue:
    """Queue free text (a file too, the text as caption) for later: it has no template to render then, so its
    message row is written now."""
    message, _ = messages.create_message(session=session, org_id=org_id, recipient=recipient, text=text_body,
                                          sent_by=actor.user_id, status=MessageStatus.queued.value, actor=actor,
                                          action=Action.schedule, attachment=attachment)
    row = enqueue_message(session=session, org_id=org_id, message=message, priority=DEFAULT_PRIORITY,
                          max_attempts=3, urgent=urgent, scheduled_for=scheduled_for)
    _audit_scheduled(session, org_id, actor, [row])
    return row


def _audit_scheduled(session: Session, org_id: uuid.UUID, actor: Actor, rows: list[NotificationQueue]) -> None:
    """One audit row per request that queued something (a bulk of 1,000 is one row, with its count)."""
    first = rows[0]
    data: dict[str, Any] = {"notification_id": str(first.id), "recipient": first.recipient_phone,
                            "scheduled_for": first.scheduled_for.isoformat() if first.scheduled_for else None}
    if len(rows) > 1:
        data = {"count": len(rows)}
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="message_scheduled", **data)


def enqueue_message(
    *, session: Session, org_id: uuid.UUID, message: WhatsAppMessage, priority: int = TOP_PRIORITY,
    max_attempts: int = 1, urgent: bool = False, scheduled_for: datetime | None = None,
) -> NotificationQueue:
    """Queue a message row already written by messaging.create_message (the API's send routes).

    One attempt by default, so the caller's wait ends in sent or failed; an unconnected organisation
    keeps it pending (attempts are not spent) until it connects. Repeats return the existing row. A guard
    may hold it (quiet hours, the cap, a pause): its `scheduled_for` and `wait_reason` then say until when and why."""
    if message.org_id != org_id:
        raise NotFound(f"message {message.id} not found", code="unknown_message")
    found = session.exec(select(NotificationQueue).where(NotificationQueue.org_id == org_id,
                                                         NotificationQueue.message_id == message.id)).first()
    if found is not None:
        return found
    template = session.get(WhatsAppTemplate, message.template_id) if message.template_id else None
    timing = {"scheduled_for": scheduled_for or utcnow(), "wait_reason": None,
              "urgent": urgent or bool(template is not None and template.urgent)}
    status.time_rows(session=session, org_id=org_id, rows=[timing])
    row = NotificationQueue(
        org_id=org_id, recipient_phone=message.recipient_phone, template_id=message.template_id,
        message_data=dict(message.template_params or {}), priority=priority, max_attempts=max_attempts,
        message_id=message.id, idempotency_key=f"message:{message.id}", **timing,
    )
    session.add(row)
    session.flush()
    _wake(session, org_id)
    return row


def get_for_org(*, session: Session, org_id: uuid.UUID, notification_id: uuid.UUID | str) -> NotificationQueue:
    """One notification of this organisation; another organisation's id is NotFound."""
    return get_owned(session, NotificationQueue, org_id=org_id, row_id=notification_id,
                     code="unknown_notification", noun="notification")


def _transition(session: Session, org_id: uuid.UUID, notification_id: uuid.UUID | str,
                from_statuses: tuple[str, ...], values: dict[str, Any], refusal: DomainError
                ) -> NotificationQueue:
    row = get_for_org(session=session, org_id=org_id, notification_id=notification_id)
    result = session.execute(
        update(NotificationQueue)
        .where(NotificationQueue.id == row.id, NotificationQueue.org_id == org_id,
               NotificationQueue.status.in_(from_statuses))
        .values(**values)
    )
    if not result.rowcount:
        raise refusal
    session.refresh(row)
    return row


def _audit(session: Session, org_id: uuid.UUID, actor: Actor, event_type: str, row: NotificationQueue) -> None:
    """One audit row per person's queue action, written here so the dashboard and the API record the same."""
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type=event_type,
                        notification_id=str(row.id), recipient=row.recipient_phone)


def cancel(*, session: Session, org_id: uuid.UUID, notification_id: uuid.UUID | str,
           actor: Actor) -> NotificationQueue:
    """Cancel a notification that is still waiting; one being sent or done cannot be cancelled. Audited."""
    permissions.require(actor, Action.cancel, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    row = _transition(
        session, org_id, notification_id, (QueueStatus.pending.value,),
        {"status": QueueStatus.cancelled.value, "completed_at": func.now(), "lease_expires_at": None},
        Conflict("only a pending notification can be cancelled", code="not_cancellable"),
    )
    if row.message_id is not None:  # a queued send: its message will never go, and it did not fail either
        moved = session.execute(update(WhatsAppMessage).where(
            WhatsAppMessage.id == row.message_id, WhatsAppMessage.org_id == org_id,
            WhatsAppMessage.status.in_((MessageStatus.pending.value, MessageStatus.queued.value)),
        ).values(status=MessageStatus.cancelled.value, error=None, error_code=None))
        if moved.rowcount:
            messages.emit_status(session, org_id=org_id, message_id=row.message_id, whatsapp_message_id=None,
                                 status=MessageStatus.cancelled.value)

    events.emit(session, changed_event(org_id))  # the home, queue and history pages recount
    _audit(session, org_id, actor, "queue_cancelled", row)
    return row


def retry(*, session: Session, org_id: uuid.UUID, notification_id: uuid.UUID | str,
          actor: Actor) -> NotificationQueue:
    """A person's decision to send a failed or unknown notification again, from a fresh attempt count.

    An `unknown` one may already be on the recipient's phone, so it needs the `retry_unknown` column."""
    permissions.require(actor, Action.retry, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    statuses: tuple[str, ...] = (QueueStatus.failed.value,)
    if actor.is_system or permissions.can(actor.role, Action.retry_unknown):
        statuses = (QueueStatus.failed.value, QueueStatus.unknown.value)
    elif get_for_org(session=session, org_id=org_id, notification_id=notification_id).status == \
            QueueStatus.unknown.value:
        raise PermissionDenied(f"{actor.role} may not retry an unknown notification",
                               action=Action.retry_unknown.value, role=actor.role)
    row = _transition(
        session, org_id, notification_id, statuses,
        {"status": QueueStatus.pending.value, "attempts": 0, "scheduled_for": func.now(),
         "completed_at": None, "error_message": None, "lease_expires_at": None},
        Conflict("only a failed or unknown notification can be retried", code="not_retryable"),
    )
    if row.message_id is not None:
        # A person decided to send it again: its message may be sent once more (the worker refuses otherwise).
        session.execute(update(WhatsAppMessage).where(
            WhatsAppMessage.id == row.message_id, WhatsAppMessage.org_id == org_id,
            WhatsAppMessage.status.in_(AMBIGUOUS_MESSAGE_STATUSES)).values(status=MessageStatus.queued.value))
    _wake(session, org_id)
    _audit(session, org_id, actor, "queue_retried", row)
    return row


def list_for_org(
    *, session: Session, org_id: uuid.UUID, status: str | None = None, cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[NotificationQueue], str | None]:
    """One page of the organisation's notifications, newest first, and the next page's cursor."""
    limit = clamp_limit(limit)
    query = select(NotificationQueue).where(NotificationQueue.org_id == org_id)
    if status:
        if status not in QueueStatus.__members__:
            raise ValidationError(f"unknown notification status {status!r}", code="invalid_status")
        query = query.where(NotificationQueue.status == status)
    return keyset_page(session, query, NotificationQueue, cursor=cursor, limit=limit)

