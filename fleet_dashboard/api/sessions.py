"""Session routes of the seed guide: init (waits for a QR or connected), qr, status, logout."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from fleet_dashboard.api.auth import ConnectCaller, LogoutCaller, Principal, SessionsCaller
from fleet_dashboard.api.errors import ApiError
from fleet_dashboard.api.limits import limit_sessions
from fleet_dashboard.api.schemas import (
    ERROR_RESPONSES,
    OkOut,
    SessionInit,
    SessionInitOut,
    SessionQrOut,
    SessionStatusOut,
)
from fleet_dashboard.services import qr, sessions
from fleet_dashboard.services.permissions import Actor

router = APIRouter(prefix="/api/sessions", tags=["sessions"], dependencies=[Depends(limit_sessions)],
                   responses=ERROR_RESPONSES)

INIT_WAIT_SECONDS = 10.0


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _path_org(principal: Principal, org_id: str) -> uuid.UUID:
    principal.check_org(org_id)
    return principal.org_id


def _connect(org_id: uuid.UUID, actor: Actor, ip: str | None) -> tuple[str, dict[str, Any]]:
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        row = sessions.request_connect(session=session, org_id=org_id, actor=actor, ip_address=ip)
        return str(row.id), sessions.status_view(row)


def _status(org_id: uuid.UUID) -> dict[str, Any]:
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        return sessions.get_status(session=session, org_id=org_id)


def _settled(view: dict[str, Any]) -> bool:
    """Init stops waiting once there is a QR to show, the socket is up, or it failed."""
    return bool(view.get("qr_code")) or view.get("status") in ("connected", "error")


@router.post("/init", response_model=SessionInitOut, response_model_exclude_none=True,
             summary="Start pairing; waits up to 10 s for a QR code or a connected status")
async def init_session(request: Request, principal: ConnectCaller,
                       body: SessionInit | None = Body(default=None)) -> SessionInitOut:
    principal.check_org(body.org_id if body else None)
    from fleet_dashboard.events import get_bus

    # Subscribe before asking, so an engine that answers at once cannot be missed.
    async with get_bus().subscribe(org_id=principal.org_id, types=["session.status"]) as events:
        session_id, view = await asyncio.to_thread(_connect, principal.org_id, principal.actor,
                                                   _client_ip(request))
        if not _settled(view):
            with contextlib.suppress(TimeoutError):
                await events.wait_for(_settled, INIT_WAIT_SECONDS)
            # The row is the truth; the event only said when to look.
            view = await asyncio.to_thread(_status, principal.org_id)
    if not _settled(view):
        return SessionInitOut(session_id=session_id, status=view["status"],
                              message="Session initializing, check status endpoint")
    return SessionInitOut(session_id=session_id, status=view["status"], qr_code=view.get("qr_code"),
                          qr_expires_at=view.get("qr_expires_at"),
                          connection_error=view.get("connection_error"),
                          connection_error_code=view.get("connection_error_code"))


@router.get("/{org_id}/qr", response_model=SessionQrOut, summary="The current pairing QR code")
async def get_qr(org_id: str, principal: ConnectCaller) -> SessionQrOut:
    """The QR links a phone as the organisation's WhatsApp, so it needs the `connect` column, not only `view`."""
    view = await asyncio.to_thread(_status, _path_org(principal, org_id))
    if not view.get("qr_code"):
        raise ApiError("QR code not found or session already connected", status=404, code="no_qr")
    svg = await asyncio.to_thread(qr.qr_svg, view["qr_code"])
    return SessionQrOut(qr_code=view["qr_code"], expires_at=view.get("qr_expires_at"), status=view["status"],
                        qr_svg=svg)


@router.get("/{org_id}/status", response_model=SessionStatusOut, summary="The WhatsApp session status")
async def get_status(org_id: str, principal: SessionsCaller) -> SessionStatusOut:
    view = await asyncio.to_thread(_status, _path_org(principal, org_id))
    return SessionStatusOut(status=view["status"], phone_number=view.get("phone_number"),
                            display_name=view.get("display_name"),
                            last_connected_at=view.get("last_connected_at"),
                            connection_error=view.get("connection_error"),
                            connection_error_code=view.get("connection_error_code"))


def _logout(org_id: uuid.UUID, actor: Actor, ip: str | None) -> None:
    from fleet_dashboard.db import session_scope

    with session_scope() as session:
        sessions.request_logout(session=session, org_id=org_id, actor=actor, ip_address=ip)


@router.post("/{org_id}/logout", response_model=OkOut, summary="Unlink the WhatsApp device")
async def logout(org_id: str, request: Request, principal: LogoutCaller) -> OkOut:
    await asyncio.to_thread(_logout, _path_org(principal, org_id), principal.actor, _client_ip(request))
    return OkOut(message="Session logged out successfully")
