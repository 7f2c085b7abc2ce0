"""CSV export of an organisation's messages, written page by page so a caller can stream it as it goes.

Cells come from API callers (template variables, bodies, errors), and a spreadsheet runs a cell that
starts with = + - @ (or a tab or carriage return) as a formula: such cells get a leading apostrophe,
OWASP's advice, unless they are plain numbers such as an E.164 phone number.

Times are written in the organisation's zone (services/localtime.py) as ISO 8601 with the offset spelled
out (`2025-01-05T09:00:07+03:00`), so a person reads local time and a program still gets the exact instant;
the last column names the zone. The API's own JSON stays UTC.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from fleet_dashboard.models import WhatsAppMessage
from fleet_dashboard.services import audit, localtime, messaging, permissions
from fleet_dashboard.services.permissions import Action, Actor

MAX_ROWS = 50_000
PAGE_ROWS = 500
HEADER = ["id", "created_at", "recipient_phone", "status", "template_name", "message_body", "error",
          "sent_at", "delivered_at", "read_at", "failed_at", "timezone"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def safe_cell(value: Any) -> str:
    """The cell's text, neutralised when a spreadsheet would read it as a formula."""
    text = "" if value is None else (value.isoformat() if isinstance(value, datetime) else str(value))
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def message_cells(m: WhatsAppMessage, zone: ZoneInfo | str = "UTC") -> list[str]:
    """One message as a CSV row, in HEADER's order, its times in `zone` with their offset."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone

    def at(value: datetime | None) -> str:
        return localtime.csv_stamp(value, zone)

    return [safe_cell(v) for v in (m.id, at(m.created_at), m.recipient_phone, m.status, m.template_name,
                                   m.message_body, m.error, at(m.sent_at), at(m.delivered_at), at(m.read_at),
                                   at(m.failed_at), zone.key)]


class MessagesCsv:
    """Iterate for CSV text chunks (the header, then one chunk per page); `rows` counts what was written."""

    def __init__(self, *, session: Session, org_id: uuid.UUID, actor: Actor, filters: dict[str, Any] | None = None,
                 max_rows: int = MAX_ROWS, page_rows: int = PAGE_ROWS, zone: ZoneInfo | str | None = None):
        permissions.require(actor, Action.export, org_id)
        self.session, self.org_id, self.filters = session, org_id, dict(filters or {})
        # The organisation's own zone unless the caller names one.
        self.zone = (ZoneInfo(zone) if isinstance(zone, str) else zone) if zone is not None else \
            localtime.org_zone(session=session, org_id=org_id)
        self.max_rows, self.page_rows = max_rows, page_rows
        self.rows = 0

    @staticmethod
    def _text(rows: list[list[str]]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue()

    def __iter__(self) -> Iterator[str]:
        yield self._text([HEADER])
        cursor = None
        while self.rows < self.max_rows:
            limit = min(self.page_rows, self.max_rows - self.rows)
            page, cursor = messaging.list_for_org(session=self.session, org_id=self.org_id, cursor=cursor,
                                                  limit=limit, **self.filters)
            self.rows += len(page)
            if page:
                yield self._text([message_cells(m, self.zone) for m in page])
            if not cursor:
                break


def messages_csv(*, session: Session, org_id: uuid.UUID, actor: Actor, filters: dict[str, Any] | None = None,
                 max_rows: int = MAX_ROWS, zone: ZoneInfo | str | None = None) -> tuple[str, int]:
    """The whole export as one string, and how many messages it holds (times in the org's zone by default)."""
    export = MessagesCsv(session=session, org_id=org_id, actor=actor, filters=filters, max_rows=max_rows, zone=zone)
    return "".join(export), export.rows


def start_download(*, session: Session, org_id: uuid.UUID, actor: Actor, filters: dict[str, Any] | None = None,
                   ip_address: str | None = None, max_rows: int = MAX_ROWS) -> None:
    """Check that `actor` may export the organisation's messages and record that they did, before the first byte."""
    permissions.require(actor, Action.export, org_id)
    audit.record(session=session, org_id=org_id, actor_id=actor.user_id, event_type="messages_exported",
                 event_data={"via": "download", "max_rows": max_rows,
                             "filters": {k: str(v) for k, v in (filters or {}).items() if v is not None}},
                 ip_address=ip_address)


def stream_messages_csv(*, sessions: Callable[[], AbstractContextManager[Session]], org_id: uuid.UUID,
                        actor: Actor, filters: dict[str, Any] | None = None, max_rows: int = MAX_ROWS,
                        page_rows: int = PAGE_ROWS) -> Iterator[str]:
    """The export as CSV chunks for a streamed download, page by page (`sessions` opens a database session).

    Between pages the transaction ends and its connection goes back to the pool: a slow download holds
    neither a connection nor a snapshot while the browser reads. Memory stays one page, whatever the size."""
    with sessions() as session:
        for chunk in MessagesCsv(session=session, org_id=org_id, actor=actor, filters=filters, max_rows=max_rows,
                                 page_rows=page_rows):
            session.rollback()  # read-only: ends the transaction, hands the connection back
            yield chunk
