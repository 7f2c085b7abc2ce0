"""One wave of sends: check what was claimed, mark it sending, send, and decide every row's outcome."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from fleet_dashboard.core import phones
from fleet_dashboard.core.backoff import RetryPolicy
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError, NotConnected, OutcomeUnknown
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability.models import PauseReason, WaitReason
from fleet_dashboard.messaging import media, templates
from fleet_dashboard.messaging.models import SENDABLE_MESSAGE_STATUSES, MessageType
from fleet_dashboard.notifications.claims import Claimed, Outcome
from fleet_dashboard.whatsapp.gateway import OutgoingFile, SendRefused

log = logging.getLogger(__name__)
TIMEOUT_REASON = ("the send timed out: WhatsApp may have the message, so it is not resent "
                  "automatically; retry it only after checking")
TIMEOUT_CODE = "send_timeout"
SEND_FAILED_CODE = "send_failed"
# The library answered, but too late or after the socket fell: WhatsApp may have the message.
UNKNOWN_SEND_CODE = "send_outcome_unknown"


# Between attempts of one notification (each row has its own max_attempts).
QUEUE_RETRY = RetryPolicy(base_seconds=30.0, max_seconds=3600.0)


def prepare(row: Claimed) -> Outcome | None:
    """Fill in the body to send; a permanent error (no retry can fix it) returns a failed outcome."""
    def failed(reason: str, code: str) -> Outcome:
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="failed", error=reason, code=code)

    if row.opted_out:
        return failed(f"{row.message_phone or row.recipient_phone} has opted out of messages", "opted_out")
    try:
        if row.message_id is not None and row.message_body is not None:
            if row.message_status not in SENDABLE_MESSAGE_STATUSES:
                return failed(f"the message is already {row.message_status}; not sending it again",
                              "already_handled")
            row.body, row.recipient_phone = row.message_body, row.message_phone or row.recipient_phone
        else:
            row.body = templates.render_for_send(row.template_name, row.template_body, row.template_active,
                                                 row.variables)
        row.recipient_phone = phones.stored_phone(row.recipient_phone)
    except DomainError as exc:
        return failed(exc.message, exc.code)
    return None


async def send_all(
    *,
    engine,
    rows: list[Claimed],
    policy: RetryPolicy,
    timeout: float,
    stopping: Callable[[], bool],
) -> list[Outcome]:
    """Send rows marked sending, all at once: the engine's throttle paces each organisation, in call order.

    Once WhatsApp answers one send with a restriction, that organisation's sends still in line are not tried:
    they wait in the pause with the rest of its queue."""
    restricted: set[uuid.UUID] = set()
    # The files first: a send takes its turn in the engine when called, so calls in row order keep a
    # recipient's messages in order (a text must not overtake the file queued before it while that loads).
    files = await asyncio.gather(*(_file_of(row) for row in rows))
    return list(await asyncio.gather(*(_send_one(engine, row, file, policy, timeout, stopping, restricted)
                                       for row, file in zip(rows, files, strict=True))))


async def _file_of(row: Claimed) -> OutgoingFile | DomainError | None:
    if row.media_id is None:
        return None
    try:
        return await asyncio.to_thread(_load_file, row)
    except DomainError as exc:  # the file is gone (retention): no retry can bring it back
        return exc


async def _send_one(engine, row: Claimed, file: OutgoingFile | DomainError | None, policy: RetryPolicy,
                    timeout: float, stopping: Callable[[], bool], restricted: set[uuid.UUID]) -> Outcome:
    if stopping():
        return _release(row)
    if isinstance(file, DomainError):
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="failed", error=file.message,
                       code=file.code)
    if file is not None:
        send = engine.send_file(row.org_id, row.recipient_phone, file, restricted=restricted, **_how(row))
    else:
        send = engine.send_text(row.org_id, row.recipient_phone, row.body, restricted=restricted, **_how(row))
    try:
        wid = await asyncio.wait_for(send, timeout)
    except NotConnected:
        # Nothing left the process: hand it back, at no attempt's cost.
        return _release(row)
    except TimeoutError:
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="unknown", error=TIMEOUT_REASON,
                       code=TIMEOUT_CODE)
    except OutcomeUnknown as exc:
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="unknown",
                       code=getattr(exc, "code", UNKNOWN_SEND_CODE),
                       error=f"{exc}: not resent automatically; retry it only after checking")
    except SendRefused as exc:
        if exc.pause:  # WhatsApp restricts the number itself: the organisation pauses, the row waits (not failed)
            return Outcome(queue_id=row.id, message_id=row.message_id, kind="release", wait=WaitReason.paused.value,
                           error=f"WhatsApp restricts this number: {exc}", code=exc.code,
                           danger=PauseReason.restricted.value, org_id=row.org_id)
        # WhatsApp answered no: the same answer would come again
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="failed", code=exc.code,
                       error=f"WhatsApp refused the message: {exc}")
    except Exception as exc:  # any other failure is this attempt's failure
        return _failure(row, str(exc) or type(exc).__name__, policy)
    return Outcome(queue_id=row.id, message_id=row.message_id, kind="sent", whatsapp_message_id=str(wid))


def _how(row: Claimed) -> dict:
    """The guards' part of a send: the address a look-up gave, and "typing..." first (only when set)."""
    how: dict = {}
    if row.send_to:
        how["to"] = row.send_to
    if row.typing:
        how["typing"] = True
    return how


def _load_file(row: Claimed) -> OutgoingFile:
    with session_scope() as session:
        data, mime_type = media.load(session=session, org_id=row.org_id, media_id=row.media_id)
    return OutgoingFile(kind=row.media_type or MessageType.document.value, data=data,
                        filename=row.media_filename or "file", mime_type=mime_type, caption=row.body)


def _release(row: Claimed) -> Outcome:
    return Outcome(queue_id=row.id, message_id=row.message_id, kind="release")


def _failure(row: Claimed, error: str, policy: RetryPolicy) -> Outcome:
    done = row.attempts + 1
    if done >= row.max_attempts:
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="failed",
                       error=f"{error} (attempt {done} of {row.max_attempts})", code=SEND_FAILED_CODE)
    return Outcome(queue_id=row.id, message_id=row.message_id, kind="retry",
                   error=f"{error} (attempt {done} of {row.max_attempts}; retrying)", code=SEND_FAILED_CODE,
                   retry_at=utcnow() + timedelta(seconds=policy.delay(done)))
