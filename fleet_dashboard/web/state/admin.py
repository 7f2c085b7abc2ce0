"""The super_admin overview: every organisation's live status and numbers, and read-only drill-in."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import orgs, permissions
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import NotFound
from fleet_dashboard.core.events import EventType
from fleet_dashboard.stats import overview
from fleet_dashboard.web.format import failure, short, stamp
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.auth import AuthState, Ctx, allow, allow_signed_in

# Live numbers for the rows on screen are re-read at most this often (a bounded read of counters).
RECOUNT_SECONDS = 2.0


def org_row(o: dict[str, Any]) -> dict[str, str]:
    return {"id": str(o["org_id"]), "name": o["name"], "slug": o["slug"], "status": o["status"],
            "phone": o["phone"], "risk": o.get("risk") or "green", **_numbers(o),
            "last_error": short(failure(o["last_error_code"], o["last_error"]), 120),
            "url": routes.admin_org_url(o["slug"])}


def _numbers(o: dict[str, Any]) -> dict[str, str]:
    return {"sent_today": str(o["sent_today"]), "sent_week": str(o["sent_week"]),
            # No send and no failure this week: "—", not a 0% that reads as a clean record.
            "failure_rate": f"{o['failure_rate'] * 100:.0f}%" if o["failure_rate"] or o["sent_week"] else strings.NONE,
            "queue_depth": str(o["queue_depth"])}


def _reason(event: dict[str, Any]) -> dict[str, str]:
    """A WhatsApp session's new reason (down, or degraded while connected) replaces the row's last error at once."""
    code = event.get("connection_error_code")
    return {"last_error": short(failure(code, event.get("connection_error")), 120)} if code else {}


class AdminState(LiveState, AuthState):
    """Only a super_admin gets rows; anyone else gets the 403 page and an audit row."""

    forbidden: bool = False
    org_rows: list[dict[str, str]] = []
    chart: list[dict[str, Any]] = []
    search: str = ""
    sort_key: str = "name"
    sort_desc: bool = False
    page_no: int = 1
    page_count: int = 1
    org_total: int = 0
    # Engine processes with a recent heartbeat (the web tier never hosts one).
    engines: list[dict[str, str]] = []
    # Open alerts across the fleet (a WhatsApp session down too long, a red number, a pause), newest first.
    incidents: list[dict[str, str]] = []
    _live_routes: ClassVar = (routes.ADMIN,)
    _live_events: ClassVar = (EventType.session_status, EventType.message_status, EventType.session_alert)
    _counted_at: float = 0.0
    _dirty_rows: bool = False
    _dirty_chart: bool = False

    def _super_admin(self, action: str) -> Ctx | None:
        ctx = self._authorize(org=False)
        if not permissions.can(ctx.role, Action.overview):
            self.forbidden = True
            self.org_rows, self.chart = [], []
            self._audit_denied(ctx, action)
            return None
        self.forbidden = False
        return ctx

    @rx.var
    def has_next(self) -> bool:
        return self.page_no < self.page_count

    @rx.var
    def empty_text(self) -> str:
        return strings.ADMIN_NO_MATCH if self.search else strings.ADMIN_EMPTY

    @rx.var
    def summary(self) -> str:
        return strings.ADMIN_SUMMARY.format(total=self.org_total, page=self.page_no, pages=self.page_count)

    def _count(self, chart: bool = True) -> None:
        """The page of organisations the search, sort and page number ask for, and the chart."""
        actor = self._authorize(org=False).actor
        with session_scope() as session:
            found = overview.org_page(session=session, search=self.search, sort=self.sort_key,
                                      descending=self.sort_desc, page=self.page_no, actor=actor)
            if chart:
                self.chart = overview.messages_per_day(session=session, actor=actor)
            self.engines = overview.engine_rows(session=session, actor=actor)
            self._read_incidents(session, actor)
        self.org_rows = [org_row(o) for o in found.rows]
        self.page_no, self.page_count, self.org_total = found.page, found.pages, found.total
        self._counted_at, self._dirty_rows, self._dirty_chart = time.monotonic(), False, False

    def _read_incidents(self, session, actor) -> None:
        zone = self._zone_cached()
        self.incidents = [{"id": i["id"], "org": i["org_name"], "kind": i["kind"], "text": i["text"],
                           "since": stamp(i["opened_at"], zone), "url": routes.admin_org_url(i["org_slug"])}
                          for i in overview.open_incidents(session=session, actor=actor)]

    def _refresh(self) -> None:
        """Fresh numbers for the rows on screen and the chart; order and page stay as the user left them."""
        actor = self._authorize(org=False).actor
        with session_scope() as session:
            if self._dirty_rows:
                fresh = overview.org_numbers(session=session, org_ids=[uuid.UUID(r["id"]) for r in self.org_rows],
                                             actor=actor)
                self.org_rows = [{**row, **_numbers(fresh[uuid.UUID(row["id"])])}
                                 if uuid.UUID(row["id"]) in fresh else row for row in self.org_rows]
            if self._dirty_chart:
                self.chart = overview.messages_per_day(session=session, actor=actor)
        self._counted_at, self._dirty_rows, self._dirty_chart = time.monotonic(), False, False

    # Declared for any signed-in person so that everyone else gets the 403 page (and an audit row) from
    # _super_admin; the services behind it check the `overview` column again.
    @rx.event
    @allow_signed_in
    def load(self):
        if self._super_admin("admin_overview") is None:
            return
        self._view_org_id = ""
        self.org_label = ""
        # The list first; the chart comes with the watcher's first read, so the rows paint sooner.
        self._count(chart=False)
        return AdminState.watch

    @rx.event
    @allow(Action.overview)
    def apply_search(self, form_data: dict):
        if self._super_admin("admin_overview") is None:
            return
        self.search = str(form_data.get("search", "")).strip()[:200]
        self.page_no = 1
        self._count(chart=False)

    @rx.event
    @allow(Action.overview)
    def set_sort(self, key: str):
        if self._super_admin("admin_overview") is None:
            return
        self.sort_key = key if key in overview.SORTS else "name"
        # Numbers read best largest first; names and statuses from A.
        self.sort_desc = self.sort_key not in ("name", "status")
        self.page_no = 1
        self._count(chart=False)

    @rx.event
    @allow(Action.overview)
    def toggle_sort_direction(self):
        if self._super_admin("admin_overview") is None:
            return
        self.sort_desc = not self.sort_desc
        self.page_no = 1
        self._count(chart=False)

    @rx.event
    @allow(Action.overview)
    def next_page(self):
        if self._super_admin("admin_overview") is None or self.page_no >= self.page_count:
            return
        self.page_no += 1
        self._count(chart=False)

    @rx.event
    @allow(Action.overview)
    def prev_page(self):
        if self._super_admin("admin_overview") is None or self.page_no <= 1:
            return
        self.page_no -= 1
        self._count(chart=False)

    @rx.event
    @allow(Action.overview)
    def first_page(self):
        if self._super_admin("admin_overview") is None:
            return
        self.page_no = 1
        self._count(chart=False)

    @rx.event
    @allow_signed_in
    def enter_org(self):
        """`/admin/org/<slug>`: look at one organisation's pages, read-only."""
        if self._super_admin("admin_enter_org") is None:
            return
        slug = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            with session_scope() as session:
                org = orgs.get_org_by_slug(session=session, slug=slug)
        except NotFound:
            return rx.redirect(routes.ADMIN)
        self._view_org_id = str(org.id)
        self.org_label = org.name
        return rx.redirect(routes.CONNECT)

    # The whole fleet, for the `overview` column: the mixin's watch follows one organisation for `view`.
    @rx.event(background=True)
    @allow(Action.overview)
    async def watch(self):
        """Status chips of the rows on screen move now; their numbers and the chart at most every 2 s."""
        await self._follow(None)

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        shown = {row["id"] for row in self.org_rows}
        statuses = {e["org_id"]: e for e in batch
                    if e.get("type") == EventType.session_status and e["org_id"] in shown}
        if statuses:
            self.org_rows = [{**row, "status": statuses[row["id"]].get("status") or row["status"],
                              "phone": statuses[row["id"]].get("phone_number") or row["phone"],
                              **_reason(statuses[row["id"]])}
                             if row["id"] in statuses else row for row in self.org_rows]
        if any(e.get("type") == EventType.session_alert for e in batch):
            actor = self._authorize(org=False).actor
            with session_scope() as session:
                self._read_incidents(session, actor)
        messages = [e for e in batch if e.get("type") == EventType.message_status]
        if messages:
            self._dirty_chart = True
            self._dirty_rows = self._dirty_rows or any(e.get("org_id") in shown for e in messages)
        if (self._dirty_rows or self._dirty_chart) and time.monotonic() - self._counted_at >= RECOUNT_SECONDS:
            self._refresh()

    def _live_resync(self, org_id: str | None) -> None:
        self._count()

    def _live_tick(self) -> float:
        return 1.0 if self._dirty_rows or self._dirty_chart else 5.0
