"""Downloads the dashboard streams: the history page's CSV export (routes.EXPORT_MESSAGES).

The history page's export button sends the browser here (web/state/history.py): the rows leave page by page as
the browser reads them, each made in a helper process (offload.in_process), so neither memory nor the web
process's event loop carries 50,000 rows at once.
The caller is the dashboard's signed-in person, read from the sign-in cookie (SameSite=strict, so another
site cannot start a download), with the permission matrix's `export` column, and only for their own
organisation: the organisation comes from the sign-in, never from the request. The service records the
export in the audit log before the first byte.

The route lives outside /api: it is the dashboard's, not the HTTP API's (no API key or X-Org-Id opens it); it is
in api/ because it is a FastAPI route (web/ is the Reflex layer).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from fleet_dashboard.accounts import audit, permissions, signin
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.api.errors import ApiError
from fleet_dashboard.api.limits import request_address
from fleet_dashboard.core import offload, routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.messaging import export, media, messages
from fleet_dashboard.messaging.models import MessageStatus

router = APIRouter()


class DashboardCaller:
    """A dependency: the signed-in dashboard person behind the sign-in cookie, holding one matrix column."""

    scope = "dashboard"

    def __init__(self, action: Action):
        self.action = action

    def __call__(self, request: Request) -> Actor:
        token = request.cookies.get(signin.SIGNIN_COOKIE)
        user, _verdict = signin.signin_user(token)
        if user is None:
            raise ApiError("sign in to the dashboard first", status=401, code="unauthorized")
        if not permissions.can(user.role, self.action) or user.org_id is None:
            with session_scope() as session:  # a refused download is worth a row, as a refused dashboard event is
                audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="access_denied",
                             event_data={"action": self.action.value, "role": user.role, "page": request.url.path},
                             ip_address=request_address(request))
            raise ApiError(f"{user.role} may not {self.action.value}", status=403, code="forbidden")
        claims = signin.read_token(token)
        if claims is not None and claims.break_glass_by is not None:  # a super_admin acting as this user: named
            return Actor(role=user.role, org_id=user.org_id, user_id=user.id, ip_address=request_address(request),
                         via="break_glass", credential=f"super_admin:{claims.break_glass_by}")
        return Actor(role=user.role, org_id=user.org_id, user_id=user.id, ip_address=request_address(request))


ExportCaller = Annotated[Actor, Depends(DashboardCaller(Action.export))]
ViewCaller = Annotated[Actor, Depends(DashboardCaller(Action.view))]


def _when(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ApiError("since/until need a time zone offset", status=422, code="invalid")
    return value


@router.get(routes.EXPORT_MESSAGES, include_in_schema=False)
def export_messages(
    caller: ExportCaller,
    status: Annotated[str | None, Query(max_length=20)] = None,
    template: Annotated[str | None, Query(max_length=200)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """The caller's organisation's messages matching the history page's filters, as a CSV download."""
    if status is not None and status not in {s.value for s in MessageStatus}:
        raise ApiError(f"unknown status {status!r}", status=422, code="invalid")
    filters: dict[str, Any] = {"status": status or None, "template_name": template or None,
                               "search": (search or "").strip() or None, "since": _when(since),
                               "until": _when(until)}
    org_id: uuid.UUID = caller.org_id
    with session_scope() as session:
        zone = export.start_download(session=session, org_id=org_id, actor=caller, filters=filters)
    # A sync iterator: Starlette pulls each chunk in a worker thread, never on the event loop, and that thread
    # only waits while a helper process reads and formats the page; this process relays the text.
    chunks = export.stream_messages_csv(org_id=org_id, actor=caller, zone=zone, filters=filters,
                                        run=offload.in_process)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="messages.csv"',
                                      "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.get(routes.MESSAGE_FILE, include_in_schema=False)
def message_file(message_id: uuid.UUID, caller: ViewCaller) -> Response:
    """The document or image a message of the caller's organisation carried, shown inline on its page.

    Images were checked to be JPEG, PNG or WebP and PDFs to be PDFs when they were stored (messaging/media.py);
    the response still forbids sniffing and scripts, so a file cannot act as a page of the dashboard."""
    with session_scope() as session:
        try:
            message = messages.get_for_org(session=session, org_id=caller.org_id, message_id=message_id)
            found = media.load(session=session, org_id=caller.org_id, media_id=message.media_id) \
                if message.media_id else None
        except DomainError as exc:  # another organisation's message, or its file was purged
            raise ApiError(str(exc), status=404, code=exc.code) from exc
        filename = message.media_filename or "file"
    if found is None:
        raise ApiError("this message carries no file", status=404, code="not_found")
    data, mime_type = found
    return Response(data, media_type=mime_type, headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename, safe='')}",
        "Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; object-src 'self'; sandbox"})
