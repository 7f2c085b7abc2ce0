"""CSV export of an organisation's messages, written page by page so a caller can stream it as it goes.

Cells come from API callers (template variables, bodies, errors), and a spreadsheet runs a cell that
starts with = + - @ (or a tab or carriage return) as a formula: such cells get a leading apostrophe,
OWASP's advice, unless they are plain numbers such as an E.164 phone number.

Times are written in the organisation's zone (accounts/localtime.py) as ISO 8601 with the offset spelled
out (`2025-01-05T09:00:07+03:00`), so a person reads local time and a program still gets the exact instant;
the last column names the zone. The API's own JSON stays UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from fleet_dashboard.accounts import audit, localtime, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.csvcells import csv_text, safe_row
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.messaging import messages
from fleet_dashboard.messaging.models import WhatsAppMessage

MAX_ROWS = 50_000
PAGE_ROWS = 500
HEADER = ["id", "created_at", "recipient_phone", "status", "template_name", "message_body", "error",
          "sent_at", "delivered_at", "read_at", "failed_at", "timezone"]
def message_cells(m: WhatsAppMessage, zone: ZoneInfo | str = "UTC") -> list[str]:
    """One message as a CSV row, in HEADER's order, its times in `zone` with their offset."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone

    def at(value: datetime | None) -> str:
        return localtime.csv_stamp(value, zone)

    return safe_row((m.id, at(m.created_at), m.recipient_phone, m.status, m.template_name, m.message_body, m.error,
                     at(m.sent_at), at(m.delivered_at), at(m.read_at), at(m.failed_at), zone.key))


# One page of an export: its CSV text, the next page's cursor (None at the end), how many messages it holds.
Page = tuple[str, str | None, int]


def _page(*, session: Session, org_id: uuid.UUID, filters: dict[str, Any], cursor: str | None, limit: int,
          zone: ZoneInfo) -> Page:
    """One page of messages as CSV text, the next page's cursor, and how many messages the text holds."""
    page, cursor = messages.list_for_org(session=session, org_id=org_id, cursor=cursor, limit=limit, **filters)
    return (csv_text([message_cells(m, zone) for m in page]) if page else ""), cursor, len(page)


def _chunks(next_page: Callable[[str | None, int], Page], *, max_rows: int,
            page_rows: int) -> Iterator[tuple[str, int]]:
    """The header, then each page `next_page(cursor, limit)` makes, up to max_rows: (CSV text, messages in it)."""
    yield csv_text([HEADER]), 0
    cursor, rows = None, 0
    while rows < max_rows:
        text, cursor, count = next_page(cursor, min(page_rows, max_rows - rows))
        rows += count
        if count:
            yield text, count
        if not cursor:
            break


class MessagesCsv:
    """Iterate for CSV text chunks (the header, then one chunk per page); `rows` counts what was written."""

    def __init__(self, *, session: Session, org_id: uuid.UUID, actor: Actor, filters: dict[str, Any] | None = None,
                 max_rows: int = MAX_ROWS, page_rows: int | None = None, zone: ZoneInfo | str | None = None):
        permissions.require(actor, Action.export, org_id)
        self.session, self.org_id, self.filters = session, org_id, dict(filters or {})
        # The organisation's own zone unless the caller names one.
        self.zone = (ZoneInfo(zone) if isinstance(zone, str) else zone) if zone is not None else \
            localtime.org_zone(session=session, org_id=org_id)
        self.max_rows, self.page_rows = max_rows, page_rows or PAGE_ROWS
        self.rows = 0

    def __iter__(self) -> Iterator[str]:
        def next_page(cursor: str | None, limit: int) -> Page:
            return _page(session=self.session, org_id=self.org_id, filters=self.filters, cursor=cursor,
                         limit=limit, zone=self.zone)

        for text, count in _chunks(next_page, max_rows=self.max_rows, page_rows=self.page_rows):
            self.rows += count
            yield text


def messages_csv(*, session: Session, org_id: uuid.UUID, actor: Actor, filters: dict[str, Any] | None = None,
                 max_rows: int = MAX_ROWS, zone: ZoneInfo | str | None = None) -> tuple[str, int]:
    """The whole export as one string, and how many messages it holds (times in the org's zone by default)."""
    export = MessagesCsv(session=session, org_id=org_id, actor=actor, filters=filters, max_rows=max_rows, zone=zone)
    return "".join(export), export.rows


def start_download(*, session: Session, org_id: uuid.UUID, actor: Actor, filters: dict[str, Any] | None = None,
                   max_rows: int = MAX_ROWS) -> str:
    """Check that `actor` may export the organisation's messages and record that they did, before the first byte.

    Returns the name of the zone the download writes its times in (the organisation's)."""
    permissions.require(actor, Action.export, org_id)
    # The caller's own `via` (dashboard, or break_glass with the super_admin named) says who took the file.
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="messages_exported", download=True,
                        max_rows=max_rows, filters={k: str(v) for k, v in (filters or {}).items() if v is not None})
    return localtime.org_zone(session=session, org_id=org_id).key


def download_page(*, org_id: uuid.UUID, actor: Actor, filters: dict[str, Any], cursor: str | None, limit: int,
                  zone: str) -> Page:
    """One page of a streamed download, in its own short transaction: CSV text, next cursor, message count.

    Self-contained (plain arguments, its own database session), so the caller may run it in another
    process: the web tier does (offload.in_process), and its event loop then only relays the text."""
    permissions.require(actor, Action.export, org_id)
    with session_scope() as session:
        return _page(session=session, org_id=org_id, filters=filters, cursor=cursor, limit=limit,
                     zone=ZoneInfo(zone))


def _here(fn: Callable[..., Page], /, **kwargs: Any) -> Page:
    return fn(**kwargs)


def stream_messages_csv(*, org_id: uuid.UUID, actor: Actor, zone: str, filters: dict[str, Any] | None = None,
                        max_rows: int = MAX_ROWS, page_rows: int | None = None,
                        run: Callable[..., Page] = _here) -> Iterator[str]:
    """The export as CSV chunks for a streamed download, page by page; `run(download_page, **kwargs)` makes each.

    Every page is its own transaction: a slow download holds neither a connection nor a snapshot while the
    browser reads, and memory stays one page whatever the size."""
    permissions.require(actor, Action.export, org_id)
    filters = dict(filters or {})

    def next_page(cursor: str | None, limit: int) -> Page:
        return run(download_page, org_id=org_id, actor=actor, filters=filters, cursor=cursor, limit=limit,
                   zone=zone)

    for text, _count in _chunks(next_page, max_rows=max_rows, page_rows=page_rows or PAGE_ROWS):
        yield text
