"""The audit log page: who did what and when in this organisation, filtered by event and date."""

from __future__ import annotations

import uuid

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import audit, localtime
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.messaging import templates
from fleet_dashboard.web import audit_text
from fleet_dashboard.web.format import day_range
from fleet_dashboard.web.paging import Paged
from fleet_dashboard.web.state.auth import AuthState, allow

PAGE_SIZE = 30
ALL = "all"


def local_time(value, zone) -> str:
    """`2026-12-07 19:50` in the organisation's zone: the page's caption names the zone once."""
    return localtime.to_local(value, zone).text if value is not None else ""


class AuditState(Paged, AuthState):
    """One page of audit rows: when (local), what (its Arabic name), who (by name), and the sentence."""

    type_filter: str = ALL
    date_from: str = ""
    date_to: str = ""
    event_types: list[dict[str, str]] = []

    def _page(self, org_id: uuid.UUID, cursor: str | None) -> tuple[list[dict[str, str]], str | None]:
        zone = self._zone()
        since, until = day_range(self.date_from, self.date_to, zone)
        with session_scope() as session:
            rows, next_cursor = audit.list_for_org(
                session=session, org_id=org_id, cursor=cursor, limit=PAGE_SIZE, since=since, until=until,
                event_type=None if self.type_filter == ALL else self.type_filter, actor=self._authorize().actor)
            names = audit_text.Names.load(session, org_id, rows,
                                          templates=templates.display_names(session=session, org_id=org_id))
        return [{"id": str(r.id), "created_at": local_time(r.created_at, zone), "type": r.event_type,
                 "event": strings.AUDIT_EVENTS.get(r.event_type, strings.AUDIT_UNKNOWN_EVENT),
                 "actor": audit_text.actor_name(r, names), "ip": r.ip_address or "",
                 **audit_text.as_fields(audit_text.sentence(r.event_type, r.event_data, names))}
                for r in rows], next_cursor

    @rx.event
    @allow(Action.audit)
    def load(self):
        ctx = self._authorize()
        with session_scope() as session:
            types = audit.event_types_for_org(session=session, org_id=ctx.org_id, actor=ctx.actor)
        self.event_types = [{"value": t, "label": strings.AUDIT_EVENTS.get(t, strings.AUDIT_UNKNOWN_EVENT)}
                            for t in types]
        self._first_page()

    @rx.event
    @allow(Action.audit)
    def set_type_filter(self, value: str):
        self.type_filter = value if value in {t["value"] for t in self.event_types} else ALL
        self._first_page()

    @rx.event
    @allow(Action.audit)
    def apply_dates(self, form_data: dict):
        self.date_from = str(form_data.get("date_from", ""))[:10]
        self.date_to = str(form_data.get("date_to", ""))[:10]
        self._first_page()

    # The list's paging, under this page's column rather than the mixin's `view`.
    @rx.event
    @allow(Action.audit)
    def next_page(self):
        self._next_page()

    @rx.event
    @allow(Action.audit)
    def prev_page(self):
        self._prev_page()

    @rx.event
    @allow(Action.audit)
    def first_page(self):
        self._first_page()
