"""Notification queue routes: enqueue one or up to 1,000, look one up, cancel or retry one."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request

from fleet_dashboard.accounts import localtime
from fleet_dashboard.api.auth import CancelCaller, Principal, ReadCaller, RetryCaller, ScheduleCaller
from fleet_dashboard.api.errors import ApiError
from fleet_dashboard.api.limits import limits_of
from fleet_dashboard.api.routes.messages import IdempotencyKey
from fleet_dashboard.api.schemas import (
    ERROR_RESPONSES,
    EnqueuedManyOut,
    EnqueuedOut,
    NotificationIn,
    NotificationOut,
    notification_view,
)
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.deliverability import status
from fleet_dashboard.messaging import media
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications import queue as queue_service

router = APIRouter(prefix="/api/notifications", tags=["notifications"], responses=ERROR_RESPONSES)

# One limit, the service's (services/queue.MAX_BULK): the route answers 413 before validating any item.
MAX_BULK = queue_service.MAX_BULK


def _items(principal: Principal, body: NotificationIn | list[NotificationIn],
           idempotency_key: str | None) -> list[dict]:
    items = body if isinstance(body, list) else [body]
    if not items:
        raise ApiError("the list is empty", status=422, code="validation")
    if len(items) > MAX_BULK:
        raise ApiError(f"at most {MAX_BULK} notifications per request", status=413, code="too_many",
                       limit=MAX_BULK)
    out = []
    for item in items:
        principal.check_org(item.org_id)
        if not item.template_id and not item.template_name:
            raise ApiError("template_id or template_name is required", status=422, code="template_required")
        values = item.model_dump(exclude={"org_id", "media", "type"})
        values["media"] = (item.media, item.type) if item.media is not None else None
        out.append(values)
    # The header names a single notification; in a list each item carries its own key.
    if idempotency_key and not isinstance(body, list) and not out[0]["idempotency_key"]:
        out[0]["idempotency_key"] = idempotency_key
    return out


def _waiting(session, org_id, row) -> str | None:
    """Why a guard holds this row and until when, in Arabic (None when it does not wait)."""
    if not row.wait_reason:
        return None
    return status.wait_text(row.wait_reason, row.scheduled_for, localtime.org_zone(session=session, org_id=org_id))


def _enqueued(session, org_id, row) -> EnqueuedOut:
    return EnqueuedOut(id=str(row.id), status=row.status, scheduled_for=row.scheduled_for,
                       wait_reason=row.wait_reason, wait_text=_waiting(session, org_id, row))


def _enqueue(principal: Principal, items: list[dict]) -> list[EnqueuedOut]:
    with session_scope() as session:
        rows = queue.enqueue_many(session=session, org_id=principal.org_id, items=items, actor=principal.actor)
        return [_enqueued(session, principal.org_id, row) for row, _created in rows]


@router.post("", response_model=EnqueuedOut | EnqueuedManyOut, status_code=202,
             summary="Queue a notification, or a list of up to 1,000")
async def enqueue(
    request: Request,
    principal: ScheduleCaller,
    body: Annotated[NotificationIn | list[NotificationIn], Body()],
    idempotency_key: IdempotencyKey = None,
) -> EnqueuedOut | EnqueuedManyOut:
    items = _items(principal, body, idempotency_key)
    limits_of(request).hit("enqueue", str(principal.org_id))
    for item in items:  # files checked (fetched, sized, typed) before anything is queued
        if item["media"] is not None:
            spec, kind = item["media"]
            item["media"] = await media.resolve(spec, kind)
    rows = await asyncio.to_thread(_enqueue, principal, items)
    if isinstance(body, list):
        return EnqueuedManyOut(ids=[r.id for r in rows], count=len(rows), items=rows)
    return rows[0]


def _get(org_id: uuid.UUID, notification_id: str) -> NotificationOut:
    with session_scope() as session:
        row = queue.get_for_org(session=session, org_id=org_id, notification_id=notification_id)
        return NotificationOut(notification=notification_view(row, _waiting(session, org_id, row)))


def _cancel(principal: Principal, notification_id: str) -> NotificationOut:
    with session_scope() as session:
        row = queue.cancel(session=session, org_id=principal.org_id, notification_id=notification_id,
                           actor=principal.actor)
        return NotificationOut(notification=notification_view(row, _waiting(session, principal.org_id, row)))


def _retry(principal: Principal, notification_id: str) -> NotificationOut:
    with session_scope() as session:
        row = queue.retry(session=session, org_id=principal.org_id, notification_id=notification_id,
                          actor=principal.actor)
        return NotificationOut(notification=notification_view(row, _waiting(session, principal.org_id, row)))


@router.get("/{notification_id}", response_model=NotificationOut, summary="One queued notification")
async def get_notification(notification_id: str, principal: ReadCaller) -> NotificationOut:
    return await asyncio.to_thread(_get, principal.org_id, notification_id)


@router.post("/{notification_id}/cancel", response_model=NotificationOut,
             summary="Cancel a notification that has not been sent yet")
async def cancel_notification(notification_id: str, principal: CancelCaller) -> NotificationOut:
    return await asyncio.to_thread(_cancel, principal, notification_id)


@router.post("/{notification_id}/retry", response_model=NotificationOut,
             summary="Send a failed notification again (an `unknown` one needs the retry_unknown permission)")
async def retry_notification(notification_id: str, principal: RetryCaller) -> NotificationOut:
    return await asyncio.to_thread(_retry, principal, notification_id)
