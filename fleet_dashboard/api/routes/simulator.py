"""Simulator control routes (simulator mode only): commands go over the bus to the owning engine."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.api.auth import simulator_caller
from fleet_dashboard.api.errors import ApiError
from fleet_dashboard.core import phones
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import InvalidPhone
from fleet_dashboard.core.events import EventType, get_bus
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.whatsapp import simulator_commands
from fleet_dashboard.whatsapp.gateway import ReceiptKind
from fleet_dashboard.whatsapp.models import SimulatedKind

ACK_SECONDS = 5.0
ROW_POLL_SECONDS = 0.5
router = APIRouter(prefix="/api/simulator", tags=["simulator"], dependencies=[Depends(simulator_caller)])


def _e164(value: str) -> str:
    try:
        return phones.normalize_phone(value)
    except InvalidPhone as exc:
        raise ValueError(exc.message) from exc


# A phone number in a control body, normalised to E.164.
Phone = Annotated[str, Field(min_length=3, max_length=32), AfterValidator(_e164)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScanIn(_Body):
    phone: Phone
    name: str = Field(default="", max_length=200)
    # The phone accepts, but the link never completes (WhatsApp asked the phone for a passkey nobody gave).
    passkey: bool = False


class ConfirmCodeIn(_Body):
    code: str = Field(min_length=8, max_length=16)
    name: str = Field(default="", max_length=200)


class ReceiptIn(_Body):
    whatsapp_message_id: str = Field(min_length=1, max_length=128)
    type: ReceiptKind


class InboundIn(_Body):
    from_: Phone = Field(alias="from")
    text: str = Field(min_length=1, max_length=4096)


class CountIn(_Body):
    count: int = Field(ge=0, le=100_000)


class FailSendsIn(_Body):
    count: int = Field(default=1, ge=0, le=100_000)
    # The error code of WhatsApp's answer, e.g. 463 (a restricted number); none: a plain failure.
    code: int | None = Field(default=None, ge=100, le=999)


class UnregisteredIn(_Body):
    phones: list[Phone] = Field(max_length=10_000)


class BanIn(_Body):
    seconds: float = Field(gt=0, le=30 * 86400)


def _org_exists(org_id: uuid.UUID) -> bool:
    with session_scope() as session:
        return session.get(Organization, org_id) is not None


async def _known_org(org_id: uuid.UUID) -> None:
    if not await asyncio.to_thread(_org_exists, org_id):
        raise ApiError("organisation not found", status=404)


async def command(org_id: uuid.UUID, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send a command to whichever engine owns the organisation and wait for its answer.

    The command is a row (whatsapp/simulator_commands.py): the event wakes the owner, the row is what it acts on,
    so a lost event costs a second, not the command. One nobody took in time is closed, never done later."""
    await _known_org(org_id)
    async with get_bus().subscribe(org_id=org_id, types={EventType.simulator_ack.value}) as acks:
        request_id = await asyncio.to_thread(simulator_commands.submit, org_id, action, body or {})

        async def answer_within(seconds: float) -> tuple[bool, str | None]:
            # The ack event ends the wait at once; the row is read every half second in case it was lost.
            deadline = time.monotonic() + seconds
            while True:
                with contextlib.suppress(TimeoutError):
                    await acks.wait_for(lambda e: e.get("request_id") == request_id,
                                        max(0.0, min(ROW_POLL_SECONDS, deadline - time.monotonic())))
                answered, error = await asyncio.to_thread(simulator_commands.answer_of, request_id)
                if answered or time.monotonic() >= deadline:
                    return answered, error

        answered, error = await answer_within(ACK_SECONDS)
        if not answered:
            answered, error = await asyncio.to_thread(simulator_commands.expire, request_id)
        if not answered:  # an engine took it just now: let it finish
            answered, error = await answer_within(ACK_SECONDS)
    if not answered or error == simulator_commands.EXPIRED:
        raise ApiError("no engine owns this organisation's simulated session", status=409, code="not_running")
    if error:
        raise ApiError(error, status=409, code="simulator_refused")
    return {"success": True, "action": action}


@router.post("/{org_id}/scan")
async def scan(org_id: uuid.UUID, body: ScanIn) -> dict[str, Any]:
    """Scan the current QR code with a phone: the WhatsApp session pairs and connects."""
    return await command(org_id, "scan", {"phone": body.phone, "name": body.name, "passkey": body.passkey})


@router.post("/{org_id}/confirm-code")
async def confirm_code(org_id: uuid.UUID, body: ConfirmCodeIn) -> dict[str, Any]:
    """Type the linking code on the phone whose number was given: the WhatsApp session pairs and connects."""
    return await command(org_id, "confirm-code", {"code": body.code, "name": body.name})


@router.post("/{org_id}/receipt")
async def receipt(org_id: uuid.UUID, body: ReceiptIn) -> dict[str, Any]:
    """Report a sent message delivered or read."""
    await _known_org(org_id)
    recipient = await asyncio.to_thread(simulator_commands.sent_to, org_id, body.whatsapp_message_id)
    if recipient is None:
        raise ApiError("the simulated network never accepted this message id", status=404)
    return await command(org_id, "receipt", {**body.model_dump(), "from": recipient})


@router.post("/{org_id}/drop")
async def drop(org_id: uuid.UUID) -> dict[str, Any]:
    """Drop the connection; the engine reconnects by itself."""
    return await command(org_id, "drop")


@router.post("/{org_id}/logout")
async def logout(org_id: uuid.UUID) -> dict[str, Any]:
    """Log the device out from the phone; a new scan is needed."""
    return await command(org_id, "logout")


@router.post("/{org_id}/inbound")
async def inbound(org_id: uuid.UUID, body: InboundIn) -> dict[str, Any]:
    """Deliver a message from a phone to this organisation's number."""
    return await command(org_id, "inbound", {"from": body.from_, "text": body.text})


@router.post("/{org_id}/fail-sends")
async def fail_sends(org_id: uuid.UUID, body: FailSendsIn) -> dict[str, Any]:
    """Make the next N sends fail; with a code (e.g. 463), WhatsApp's answer carries it."""
    return await command(org_id, "fail-sends", {"count": body.count, "code": body.code})


@router.post("/{org_id}/unregistered")
async def unregistered(org_id: uuid.UUID, body: UnregisteredIn) -> dict[str, Any]:
    """These numbers are not on WhatsApp (look-ups answer no); the list replaces the previous one."""
    return await command(org_id, "unregistered", {"phones": body.phones})


@router.post("/{org_id}/ban")
async def ban(org_id: uuid.UUID, body: BanIn) -> dict[str, Any]:
    """WhatsApp bans the number for N seconds: the socket closes, sending pauses until the ban ends."""
    return await command(org_id, "ban", {"seconds": body.seconds})


@router.post("/{org_id}/unknown-sends")
async def unknown_sends(org_id: uuid.UUID, body: CountIn) -> dict[str, Any]:
    """The network takes the next N sends but their answer is lost (the sender learns "unknown"); receipts come."""
    return await command(org_id, "unknown-sends", {"count": body.count})


@router.post("/{org_id}/fail-connects")
async def fail_connects(org_id: uuid.UUID, body: CountIn) -> dict[str, Any]:
    """Make the next N connection attempts fail (backoff demos)."""
    return await command(org_id, "fail-connects", {"count": body.count})


@router.get("/{org_id}/sent")
async def sent(org_id: uuid.UUID, limit: int = Query(default=10000, ge=1, le=100_000),
               kind: SimulatedKind | None = None) -> dict[str, Any]:
    """What the simulated network saw for this organisation, oldest first: messages, and beside them the
    presence updates (`kind` presence, text composing|paused) and look-ups (`kind` lookup, text the answer)."""
    await _known_org(org_id)
    rows = await asyncio.to_thread(simulator_commands.sent, org_id, limit, kind.value if kind else None)
    return {"success": True, "count": len(rows), "messages": rows}


def include_simulator_routes(app: FastAPI) -> bool:
    """Add the control routes only in simulator mode; in neonize mode they do not exist (404)."""
    if get_settings().whatsapp_backend != "simulator":
        return False
    app.include_router(router)
    return True
