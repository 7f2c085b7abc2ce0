"""History: the organisation's messages by keyset pages, filtered, exported, with live status chips."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.pagination import encode_cursor
from fleet_dashboard.messaging import inbound, messages, templates
from fleet_dashboard.messaging.models import InboundMessage, WhatsAppMessage
from fleet_dashboard.web.format import day_range, failure, short, stamp
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.paging import Paged
from fleet_dashboard.web.state.auth import AuthState, allow

PAGE_SIZE = 25
ALL = "all"


# The direction tabs: everything (what was sent and what came back, by time), what was sent, or the replies.
BOTH = "all"
DIRECTIONS = (BOTH, "outbound", "inbound")


def message_row(m: WhatsAppMessage, zone: ZoneInfo, labels: dict[str, str] | None = None) -> dict[str, str]:
    """A message as a table row of plain strings; its template by the name people read (`labels`)."""
    template = m.template_name or ""
    return {"id": str(m.id), "direction": "outbound", "recipient": m.recipient_phone, "body": short(m.message_body),
            "status": m.status, "template": (labels or {}).get(template, template),
            "created_at": stamp(m.created_at, zone),
            "file": m.media_filename or "", "kind": m.message_type,
            "error": short(failure(m.error_code, m.error), 60),
            "url": routes.message_url(str(m.id)), "conversation_url": routes.conversation_url(m.recipient_phone)}


def reply_row(r: InboundMessage, zone: ZoneInfo) -> dict[str, str]:
    """A customer's reply as a history row: its page is the conversation with the number."""
    url = routes.conversation_url(r.phone)
    return {"id": str(r.id), "direction": "inbound", "recipient": r.phone, "body": short(r.message_body),
            "status": "", "template": "", "created_at": stamp(r.created_at, zone), "error": "", "url": url, "file": "",
            "kind": "",
            "conversation_url": url}


class HistoryState(Paged, LiveState, AuthState):
    """One page of rows, the filters that chose them, and the cursors to walk pages."""

    direction: str = BOTH
    status_filter: str = ALL
    template_filter: str = ALL
    date_from: str = ""
    date_to: str = ""
    search: str = ""
    template_names: list[str] = []
    # The template filter's choices: {"value": API name, "label": the name people read}.
    template_options: list[dict[str, str]] = []
    _template_labels: dict[str, str] = {}
    _live_routes: ClassVar = (routes.HISTORY,)
    _live_events: ClassVar = (EventType.message_status, EventType.message_inbound)

    def _filters(self) -> dict[str, Any]:
        since, until = day_range(self.date_from, self.date_to, self._zone())
        return {"status": None if self.status_filter == ALL else self.status_filter,
                "template_name": None if self.template_filter == ALL else self.template_filter,
                "search": self.search.strip() or None, "since": since, "until": until}

    def _with_replies(self) -> bool:
        """Replies have no status or template: a status or template filter shows sent messages only."""
        return self.direction == "inbound" or (self.direction == BOTH and self.status_filter == ALL
                                               and self.template_filter == ALL)

    def _page(self, org_id: uuid.UUID, cursor: str | None) -> tuple[list[dict[str, str]], str | None]:
        ctx = self._authorize()
        filters, zone = self._filters(), self._zone()
        sent, replies, sent_next, replies_next = [], [], None, None
        with session_scope() as session:
            if self.direction != "inbound":
                sent, sent_next = messages.list_for_org(session=session, org_id=org_id, limit=PAGE_SIZE,
                                                         cursor=cursor, **filters)
            if self._with_replies():
                replies, replies_next = inbound.list_for_org(
                    session=session, org_id=org_id, actor=ctx.actor, search=filters["search"],
                    since=filters["since"], until=filters["until"], cursor=cursor, limit=PAGE_SIZE)
        if self.direction == "inbound":
            return [reply_row(r, zone) for r in replies], replies_next
        if self.direction == "outbound" or not self._with_replies():
            return [message_row(m, zone, self._template_labels) for m in sent], sent_next
        # Both: one cursor bounds both tables ((created_at, id) of the last row shown), newest first.
        merged = sorted([*sent, *replies], key=lambda r: (r.created_at, r.id), reverse=True)
        page, more = merged[:PAGE_SIZE], len(merged) > PAGE_SIZE or bool(sent_next or replies_next)
        last = page[-1] if page else None
        next_cursor = encode_cursor(last.created_at, last.id) if more and last is not None else None
        return [message_row(r, zone, self._template_labels) if isinstance(r, WhatsAppMessage) else reply_row(r, zone)
                for r in page], next_cursor

    @rx.event
    @allow(Action.view)
    def load(self):
        """Fill the template filter, show the newest page, and follow status changes live."""
        ctx = self._authorize()
        with session_scope() as session:
            rows = templates.list_for_org(session=session, org_id=ctx.org_id)
        self.template_names = [t.name for t in rows]
        self._template_labels = {t.name: templates.display_name(t) for t in rows}
        self.template_options = [{"value": t.name, "label": self._template_labels[t.name]} for t in rows]
        self._filters_from_query()
        self._cursors = [""]
        self._fetch(ctx.org_id)
        return HistoryState.watch

    def _filters_from_query(self) -> None:
        """`?status=failed&from=2025-01-01&to=2025-01-07`: the home's numbers open the messages they count (sent
        ones); `?direction=inbound`: the navigation's unread badge opens the replies."""
        query = self.router.url.query_parameters
        if str(query.get("direction", "")) in DIRECTIONS:
            self.direction = str(query["direction"])
        if not any(k in query for k in ("status", "from", "to")):
            return
        self.direction = "outbound"
        status = str(query.get("status", ""))
        self.status_filter = status if status in strings.MESSAGE_STATUS else ALL
        self.template_filter, self.search = ALL, ""
        self.date_from, self.date_to = str(query.get("from", ""))[:10], str(query.get("to", ""))[:10]

    @rx.event
    @allow(Action.view)
    def set_direction(self, value: str | list[str]):
        """Everything, what was sent, or what customers replied."""
        self.direction = value if value in DIRECTIONS else BOTH
        self._first_page()

    @rx.event
    @allow(Action.view)
    def set_status_filter(self, value: str):
        self.status_filter = value if value in strings.MESSAGE_STATUS else ALL
        self._first_page()

    @rx.event
    @allow(Action.view)
    def set_template_filter(self, value: str):
        self.template_filter = value if value in self.template_names else ALL
        self._first_page()

    @rx.event
    @allow(Action.view)
    def apply_filters(self, form_data: dict):
        """Search text and date range come together from the filter form."""
        self.search = str(form_data.get("search", ""))[:200]
        self.date_from = str(form_data.get("date_from", ""))[:10]
        self.date_to = str(form_data.get("date_to", ""))[:10]
        self._first_page()

    @rx.event
    @allow(Action.view)
    def reset_filters(self):
        self.direction = BOTH
        self.status_filter = self.template_filter = ALL
        self.search = self.date_from = self.date_to = ""
        self._first_page()

    @rx.event
    @allow(Action.export)
    def export_csv(self):
        """Every message matching the current filters as a CSV download, streamed by the backend
        (api/routes/downloads.py): the browser fetches it under its sign-in cookie, so no row passes through this
        handler or the event loop."""
        self._authorize()
        since, until = day_range(self.date_from, self.date_to, self._zone())
        params = {"status": None if self.status_filter == ALL else self.status_filter,
                  "template": None if self.template_filter == ALL else self.template_filter,
                  "search": self.search.strip() or None,
                  "since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
        params = {key: value for key, value in params.items() if value}
        url = routes.EXPORT_MESSAGES + ("?" + urlencode(params) if params else "")
        return rx.download(url=url, filename="messages.csv")

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        """Turn status chips as receipts arrive; on the first page, show new messages and replies as they come."""
        if any(e.get("type") == EventType.message_inbound for e in batch):
            self._refresh_unread(self._authorize(), now=True)
            if self.page_no == 1 and self._with_replies():
                self._fetch(org_id)  # a reply arrived: the newest page shows it
                return
        if self.direction == "inbound":
            return
        by_id = {e.get("message_id"): e for e in batch if e.get("type") == EventType.message_status}
        known = {row["id"] for row in self.rows}
        if self.page_no == 1 and set(by_id) - known:
            self._fetch(org_id)  # one indexed query for the newest page
            return
        if by_id.keys() & known:
            self.rows = [{**row, "status": by_id[row["id"]].get("status") or row["status"],
                          "error": short(failure(by_id[row["id"]].get("error_code"),
                                                 by_id[row["id"]].get("error")), 60) or row["error"]}
                         if row["id"] in by_id else row for row in self.rows]

    def _live_resync(self, org_id: str | None) -> None:
        self._fetch(org_id)

