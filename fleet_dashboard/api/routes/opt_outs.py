"""The opt-out list: numbers the organisation must not message. Read it, add one by hand, take one off."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from fleet_dashboard.api.auth import OptOutsCaller, Principal, ReadCaller
from fleet_dashboard.api.schemas import (
    ERROR_RESPONSES,
    OptOutIn,
    OptOutListOut,
    OptOutOut,
    OptOutRemovedOut,
    opt_out_view,
)
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.messaging import optouts

router = APIRouter(prefix="/api/opt-outs", tags=["opt-outs"], responses=ERROR_RESPONSES)


def _list(principal: Principal, search: str | None, limit: int, cursor: str | None) -> OptOutListOut:
    with session_scope() as session:
        rows, next_cursor = optouts.list_for_org(session=session, org_id=principal.org_id, actor=principal.actor,
                                                 search=search, limit=limit, cursor=cursor)
        return OptOutListOut(opt_outs=[opt_out_view(r) for r in rows], next_cursor=next_cursor)


def _add(principal: Principal, body: OptOutIn) -> OptOutOut:
    with session_scope() as session:
        row = optouts.add(session=session, org_id=principal.org_id, phone=body.phone, reason=body.reason,
                          actor=principal.actor)
        return OptOutOut(opt_out=opt_out_view(row))


def _remove(principal: Principal, phone: str) -> OptOutRemovedOut:
    with session_scope() as session:
        number = optouts.remove(session=session, org_id=principal.org_id, phone=phone, actor=principal.actor)
        return OptOutRemovedOut(phone=number)


@router.get("", response_model=OptOutListOut, summary="Opted-out numbers, newest first, by keyset pages")
async def list_opt_outs(
    principal: ReadCaller,
    search: Annotated[str | None, Query(max_length=200, description="part of a number or a reason")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OptOutListOut:
    return await asyncio.to_thread(_list, principal, search, limit, cursor)


@router.post("", response_model=OptOutOut, status_code=201,
             responses={409: {"description": "the number is already on the list"}},
             summary="Put a number on the opt-out list (a customer asked by phone); audited")
async def add_opt_out(body: OptOutIn, principal: OptOutsCaller) -> OptOutOut:
    return await asyncio.to_thread(_add, principal, body)


@router.delete("/{phone}", response_model=OptOutRemovedOut,
               responses={404: {"description": "the number is not on the list"}},
               summary="Take a number off the opt-out list, so it may be messaged again; audited")
async def remove_opt_out(phone: str, principal: OptOutsCaller) -> OptOutRemovedOut:
    return await asyncio.to_thread(_remove, principal, phone)
