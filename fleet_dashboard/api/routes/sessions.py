"""Session routes of the seed guide: init (waits for a QR or connected), qr, status, logout."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.api.auth import ConnectCaller, LogoutCaller, Principal, WhatsAppViewCaller
from fleet_dashboard.api.errors import ApiError, error_response
from fleet_dashboard.api.schemas import (
    ERROR_RESPONSES,
    OkOut,
    PairCodeIn,
    PairCodeOut,
    SessionInit,
    SessionInitOut,
    SessionQrOut,
    SessionStatusOut,
)
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.events import EventType, get_bus
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.integrations import qr
from fleet_dashboard.whatsapp import engines, sessions

router = APIRouter(prefix="/api/sessions", tags=["sessions"],
                   responses=ERROR_RESPONSES)

INIT_WAIT_SECONDS = 10.0
# The engine connects a pairing socket, then asks WhatsApp for the code: seconds, not minutes.
PAIR_CODE_WAIT_SECONDS = 30.0


def _path_org(principal: Principal, org_id: str) -> uuid.UUID:
    principal.check_org(org_id)
    return principal.org_id


def _connect(org_id: uuid.UUID, actor: Actor) -> tuple[str, dict[str, Any]]:
    with session_scope() as session:
        row = sessions.request_connect(session=session, org_id=org_id, actor=actor)
        return str(row.id), sessions.status_view(row)


def _status(org_id: uuid.UUID) -> dict[str, Any]:
    with session_scope() as session:
        return sessions.get_status(session=session, org_id=org_id)


def _settled(view: dict[str, Any]) -> bool:
    """Init stops waiting once there is a QR to show, the socket is up, or it failed."""
    return bool(view.get("qr_code")) or view.get("status") in ("connected", "error")


@router.post("/init", response_model=SessionInitOut, response_model_exclude_none=True,
             summary="Start pairing; waits up to 10 s for a QR code or a connected status")
async def init_session(principal: ConnectCaller,
                       body: SessionInit | None = Body(default=None)) -> SessionInitOut:
    principal.check_org(body.org_id if body else None)

    # Subscribe before asking, so an engine that answers at once cannot be missed.
    async with get_bus().subscribe(org_id=principal.org_id, types=[EventType.session_status]) as events:
        session_id, view = await asyncio.to_thread(_connect, principal.org_id, principal.actor)
        if not _settled(view):
            with contextlib.suppress(TimeoutError):
                await events.wait_for(_settled, INIT_WAIT_SECONDS,
                                      recheck=lambda: _settled(_status(principal.org_id)))
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
async def get_status(org_id: str, principal: WhatsAppViewCaller) -> SessionStatusOut:
    """The linking code, like the QR, links a phone: only a caller with the `connect` column sees it."""
    view = await asyncio.to_thread(_status, _path_org(principal, org_id))
    links_phones = permissions.can(principal.role, Action.connect)
    return SessionStatusOut(status=view["status"], phone_number=view.get("phone_number"),
                            display_name=view.get("display_name"),
                            last_connected_at=view.get("last_connected_at"),
                            connection_error=view.get("connection_error"),
                            connection_error_code=view.get("connection_error_code"),
                            next_retry_at=view.get("next_retry_at"),
                            pair_code=view.get("pair_code") if links_phones else None,
                            pair_code_expires_at=view.get("pair_code_expires_at") if links_phones else None)


def _logout(org_id: uuid.UUID, actor: Actor) -> None:
    with session_scope() as session:
        sessions.request_logout(session=session, org_id=org_id, actor=actor)


@router.post("/{org_id}/logout", response_model=OkOut, summary="Unlink the WhatsApp device")
async def logout(org_id: str, principal: LogoutCaller) -> OkOut:
    await asyncio.to_thread(_logout, _path_org(principal, org_id), principal.actor)
    return OkOut(message="Session logged out successfully")


def _pair_code(org_id: uuid.UUID, phone: str, actor: Actor) -> None:
    with session_scope() as session:
        sessions.request_pair_code(session=session, org_id=org_id, phone=phone, actor=actor)


def _pair_settled(view: dict[str, Any]) -> bool:
    """A code arrived, or asking for one failed (or the WhatsApp session went away meanwhile)."""
    return (bool(view.get("pair_code")) or view.get("connection_error_code") in PAIR_FAILURES
            or not view.get("enabled", True))


PAIR_FAILURES = ("pair_code_failed", "connect_gave_up", "temporary_ban", "client_outdated")


def _engine_alive() -> bool:
    with session_scope() as session:
        return bool(engines.alive(session=session, stale_seconds=get_settings().engine_stale_seconds))


@router.post("/{org_id}/pair-code", response_model=PairCodeOut, response_model_exclude_none=True,
             summary="Link by phone number: a code to type on the phone instead of scanning a QR",
             responses={202: {"description": "asked; the code is not there yet (see GET .../status)"},
                        502: {"description": "WhatsApp gave no code"}})
async def pair_code(org_id: str, body: PairCodeIn, principal: ConnectCaller):
    target = _path_org(principal, org_id)
    async with get_bus().subscribe(org_id=target, types=[EventType.session_status]) as events:
        await asyncio.to_thread(_pair_code, target, body.phone, principal.actor)
        engine_alive = await asyncio.to_thread(_engine_alive)
        if engine_alive:
            with contextlib.suppress(TimeoutError):
                await events.wait_for(_pair_settled, PAIR_CODE_WAIT_SECONDS,
                                      recheck=lambda: _pair_settled(_status(target)))
    view = await asyncio.to_thread(_status, target)
    if view.get("pair_code"):
        return PairCodeOut(code=view["pair_code"], expires_at=view.get("pair_code_expires_at"), status=view["status"])
    if view.get("connection_error_code") in PAIR_FAILURES:
        return error_response(502, view.get("connection_error") or "WhatsApp gave no linking code",
                              view["connection_error_code"], status=view["status"])
    message = ("Linking code requested; it shows in GET /api/sessions/{org_id}/status when WhatsApp sends it"
               if engine_alive else "Linking code requested; no WhatsApp engine is running right now, so it "
               "comes once one is back (GET /api/sessions/{org_id}/status)")
    return JSONResponse({"success": True, "status": view["status"], "message": message}, status_code=202)
