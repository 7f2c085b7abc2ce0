"""The opt-out list page: search the numbers that asked to stop, add one by hand, take one off, export."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError, PermissionDenied
from fleet_dashboard.messaging import optouts
from fleet_dashboard.messaging.models import OptOut
from fleet_dashboard.web.format import stamp
from fleet_dashboard.web.paging import Paged
from fleet_dashboard.web.state.auth import AuthState, allow

PAGE_SIZE = 25


def opt_out_row(row: OptOut, zone: ZoneInfo) -> dict[str, str]:
    """An opted-out number as a table row of plain strings."""
    return {"phone": row.phone, "reason": row.reason or "", "keyword": row.keyword or "",
            "created_at": stamp(row.created_at, zone), "conversation_url": routes.conversation_url(row.phone)}


class OptOutsState(Paged, AuthState):
    """One page of the list, the search that chose it, and the add form."""

    search: str = ""
    phone: str = ""
    reason: str = ""
    phone_error: str = ""
    reason_error: str = ""

    def _page(self, org_id: uuid.UUID, cursor: str | None) -> tuple[list[dict[str, str]], str | None]:
        ctx = self._authorize()
        with session_scope() as session:
            rows, next_cursor = optouts.list_for_org(session=session, org_id=org_id, actor=ctx.actor,
                                                     search=self.search.strip() or None, cursor=cursor,
                                                     limit=PAGE_SIZE)
        return [opt_out_row(r, self._zone()) for r in rows], next_cursor

    @rx.event
    @allow(Action.view)
    def load(self):
        """Show the newest numbers first."""
        ctx = self._authorize()
        self.phone_error = self.reason_error = ""
        self._cursors = [""]
        self._fetch(ctx.org_id)

    @rx.event
    @allow(Action.view)
    def apply_search(self, form_data: dict):
        self.search = str(form_data.get("search", ""))[:200]
        self._first_page()

    @rx.event
    @allow(Action.view)
    def reset_search(self):
        self.search = ""
        self._first_page()

    @rx.event
    @allow(Action.opt_outs)
    def add(self, form_data: dict):
        """Put a number on the list with its reason (the service checks, audits and refuses a duplicate)."""
        ctx = self._authorize()
        self.phone = str(form_data.get("phone", ""))[:64]
        self.reason = str(form_data.get("reason", ""))[:optouts.MAX_REASON + 1]
        self.phone_error = self.reason_error = ""
        try:
            with session_scope() as session:
                optouts.add(session=session, org_id=ctx.org_id, phone=self.phone, reason=self.reason,
                            actor=ctx.actor)
        except PermissionDenied:
            raise
        except DomainError as exc:
            text = strings.error_text(exc.code, **exc.params)
            if exc.code == "opt_out_reason_long":
                self.reason_error = text
            else:
                self.phone_error = text
            return
        self.phone = self.reason = ""
        self._first_page()
        return rx.toast.success(strings.OPT_OUT_ADDED)

    @rx.event
    @allow(Action.opt_outs)
    def remove(self, phone: str):
        """Take a number off the list, so the organisation may message it again (audited by the service)."""
        ctx = self._authorize()
        try:
            with session_scope() as session:
                optouts.remove(session=session, org_id=ctx.org_id, phone=str(phone)[:64], actor=ctx.actor)
        except PermissionDenied:
            raise
        except DomainError as exc:
            self._fetch(ctx.org_id)
            return rx.toast.error(strings.error_text(exc.code, **exc.params))
        self._fetch(ctx.org_id)
        return rx.toast.success(strings.OPT_OUT_REMOVED)

    @rx.event
    @allow(Action.export)
    def export_csv(self):
        """The list (or what the search matches) as a CSV download, UTC times; audited."""
        ctx = self._authorize()
        search = self.search.strip() or None
        with session_scope() as session:
            data, _written = optouts.export_csv(session=session, org_id=ctx.org_id, actor=ctx.actor, search=search)
        return rx.download(data=data, filename="opt-outs.csv", mime_type="text/csv")
