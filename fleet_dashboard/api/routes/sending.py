"""The sending number's guards over HTTP: the rules, the number's health, the look-up cache, resuming a pause."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path

from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.api.auth import Principal, ReadCaller, require
from fleet_dashboard.api.schemas import ERROR_RESPONSES
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.deliverability import contacts, pauses, rules, status

router = APIRouter(prefix="/api", tags=["sending"], responses=ERROR_RESPONSES)
SendingCaller = Annotated[Principal, Depends(require("sessions", Action.sending))]

RULES_EXAMPLE = {"typing": True, "quiet_hours": {"start": "22:00", "end": "08:00", "days_off": ["friday"]},
                 "daily_cap": 1000, "warmup": True}


def _in_session(work) -> Any:
    with session_scope() as session:
        return work(session)


@router.get("/settings/sending", summary="The organisation's sending rules (typing, quiet hours, daily cap, warm-up)")
async def get_sending_rules(principal: ReadCaller) -> dict[str, Any]:
    found = await asyncio.to_thread(_in_session, lambda s: rules.get_rules(session=s, org_id=principal.org_id))
    return {"success": True, **found.view()}


@router.put("/settings/sending", summary="Change the sending rules (owners and admins; audited)")
async def put_sending_rules(
    principal: SendingCaller, body: Annotated[dict[str, Any], Body(examples=[RULES_EXAMPLE])],
) -> dict[str, Any]:
    def work(session) -> rules.Rules:
        return rules.set_rules(session=session, org_id=principal.org_id, actor=principal.actor, body=body)

    return {"success": True, **(await asyncio.to_thread(_in_session, work)).view()}


@router.get("/number-health", summary="The number's risk and reasons, pause, today's allowance and quiet window")
async def number_health(principal: ReadCaller) -> dict[str, Any]:
    view = await asyncio.to_thread(_in_session, lambda s: status.number_health(session=s, org_id=principal.org_id))
    return {"success": True, **view}


@router.post("/number-health/resume", summary="Resume a paused organisation's sending (owners and admins; audited)")
async def resume_sending(principal: SendingCaller) -> dict[str, Any]:
    def work(session) -> dict[str, Any]:
        pauses.resume(session=session, org_id=principal.org_id, actor=principal.actor)
        return pauses.view(None)

    return {"success": True, **await asyncio.to_thread(_in_session, work)}


@router.get("/contacts/{phone}", summary="Whether a number is on WhatsApp, from the look-up cache (null: unknown)")
async def contact(principal: ReadCaller, phone: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    view = await asyncio.to_thread(_in_session, lambda s: contacts.view(session=s, org_id=principal.org_id,
                                                                        phone=phone))
    return {"success": True, **view}
