"""Message routes of the seed guide (send, send-template) plus status look-ups."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from fleet_dashboard.api.auth import Principal, ReadCaller, SendCaller
from fleet_dashboard.api.errors import error_response
from fleet_dashboard.api.limits import limits_of
from fleet_dashboard.api.schemas import (
    ERROR_RESPONSES,
    HeldOut,
    MessageListOut,
    MessageOut,
    SendOut,
    SendTemplate,
    SendText,
    inbound_view,
    message_view,
)
from fleet_dashboard.core import phones
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import NotFound
from fleet_dashboard.messaging import inbound, media
from fleet_dashboard.messaging import messages as messaging
from fleet_dashboard.messaging.models import MessageStatus
from fleet_dashboard.notifications.sending import QUEUED, SendRequest, send_and_wait, waiting

router = APIRouter(prefix="/api/messages", tags=["messages"], responses=ERROR_RESPONSES)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="a repeat returns the first result, sends nothing")]
SEND_RESPONSES = {202: {"description": "Accepted and held by a guard (quiet hours, the daily cap, a pause): "
                               "`status` queued, `scheduled_for` says when it goes and `wait_reason` why. Or "
                               "(`success: false`, `status: unknown`) WhatsApp did not confirm in time: the "
                               "message may have been delivered; it is not resent, check GET /api/messages/{id}"},
                  502: {"description": "WhatsApp refused or failed the send"}}


async def _send(req: SendRequest):
    message, status = await send_and_wait(req)
    if status == QUEUED and (held := await asyncio.to_thread(waiting, req.org_id, message.id)) is not None:
        # A guard holds it (quiet hours, the daily cap, a pause): accepted, not refused, and it says when it goes.
        body = HeldOut(message_id=str(message.id), status=status, scheduled_for=held.scheduled_for,
                       wait_reason=held.reason, wait_text=held.text)
        return JSONResponse(status_code=202, content=body.model_dump(mode="json"))
    if status == "unknown":
        return error_response(202, message.error or "WhatsApp did not confirm the message; it may have been delivered",
                              message.error_code or "send_outcome_unknown", message_id=str(message.id),
                              whatsapp_message_id=None, status="unknown")
    if status == MessageStatus.failed.value:
        return error_response(502, message.error or "sending failed", "send_failed",
                              message_id=str(message.id), whatsapp_message_id=None, status="failed")
    return SendOut(message_id=str(message.id), whatsapp_message_id=message.whatsapp_message_id,
                   status=status)


@router.post("/send", response_model=SendOut, responses=SEND_RESPONSES, summary="Send a text, a document or an image")
async def send(body: SendText, request: Request, principal: SendCaller,
               idempotency_key: IdempotencyKey = None) -> SendOut | JSONResponse:
    principal.check_org(body.org_id)
    kind = media.request_kind(body.type, body.media)
    # Counted before the file is fetched or decoded: an over-limit request costs no work.
    limits_of(request).hit("send", str(principal.org_id))
    file = await media.resolve(body.media, kind) if body.media is not None else None
    return await _send(SendRequest(
        org_id=principal.org_id, recipient=body.recipient, text=body.message, sent_by=principal.user_id,
        idempotency_key=idempotency_key, actor=principal.actor, media=file,
        urgent=body.urgent))


@router.post("/send-template", response_model=SendOut, responses=SEND_RESPONSES,
             summary="Send a template message (system templates are usable by every organisation)")
async def send_template(body: SendTemplate, request: Request, principal: SendCaller,
                        idempotency_key: IdempotencyKey = None) -> SendOut | JSONResponse:
    principal.check_org(body.org_id)
    if not body.template_id and not body.template_name:
        return error_response(422, "template_id or template_name is required", "template_required")
    limits_of(request).hit("send", str(principal.org_id))
    file = await media.resolve(body.media, body.type) if body.media is not None else None
    return await _send(SendRequest(
        org_id=principal.org_id, recipient=body.recipient, template_id=body.template_id,
        template_name=body.template_name, variables=body.variables, sent_by=principal.user_id,
        idempotency_key=idempotency_key, actor=principal.actor, media=file,
        urgent=body.urgent))


def _get(principal: Principal, message_id: str) -> MessageOut:
    with session_scope() as session:
        try:
            row = messaging.get_for_org(session=session, org_id=principal.org_id, message_id=message_id)
        except NotFound:  # a customer's reply has an id of the same shape
            reply = inbound.get_for_org(session=session, org_id=principal.org_id, inbound_id=message_id,
                                        actor=principal.actor)
            return MessageOut(message=inbound_view(reply))
        return MessageOut(message=message_view(row, media.describe(session=session, media_id=row.media_id,
                                                                   filename=row.media_filename)))


def _list(principal: Principal, direction: str, status: str | None, since: datetime | None, search: str | None,
          phone: str | None, limit: int, cursor: str | None) -> MessageListOut:
    with session_scope() as session:
        if direction == "inbound":
            number = phones.normalize_phone(phone) if phone else None
            replies, next_cursor = inbound.list_for_org(session=session, org_id=principal.org_id,
                                                        actor=principal.actor, phone=number, search=search,
                                                        since=since, limit=limit, cursor=cursor)
            return MessageListOut(messages=[inbound_view(r) for r in replies], next_cursor=next_cursor)
        rows, next_cursor = messaging.list_for_org(session=session, org_id=principal.org_id, status=status,
                                                   since=since, search=search,
                                                   phone=phones.normalize_phone(phone) if phone else None,
                                                   limit=limit, cursor=cursor)
        files = media.describe_many(session=session, rows=rows)
        return MessageListOut(messages=[message_view(r, files.get(r.id)) for r in rows], next_cursor=next_cursor)


@router.get("/{message_id}", response_model=MessageOut,
            summary="One message and its delivery status (or one customer reply, `direction: inbound`)")
async def get_message(message_id: str, principal: ReadCaller) -> MessageOut:
    return await asyncio.to_thread(_get, principal, message_id)


@router.get("", response_model=MessageListOut, summary="Messages, newest first, by keyset pages")
async def list_messages(
    principal: ReadCaller,
    direction: Annotated[Literal["outbound", "inbound"], Query(
        description="outbound: what the organisation sent (default); inbound: customers' replies")] = "outbound",
    status: Annotated[str | None, Query(max_length=20, description="outbound only")] = None,
    since: datetime | None = None,
    search: Annotated[str | None, Query(max_length=200, description="text or number contained")] = None,
    phone: Annotated[str | None, Query(max_length=64, description="only messages to or from this number")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MessageListOut:
    return await asyncio.to_thread(_list, principal, direction, status, since, search, phone, limit, cursor)
