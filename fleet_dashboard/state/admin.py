"""The super_admin overview: every organisation's live status and numbers, and read-only drill-in."""

from __future__ import annotations

import time
from typing import Any

import reflex as rx

from fleet_dashboard import routes
from fleet_dashboard.db import session_scope
from fleet_dashboard.services import orgs, overview, permissions
from fleet_dashboard.services.errors import NotFound
from fleet_dashboard.services.permissions import Action
from fleet_dashboard.state import live
from fleet_dashboard.state.auth import AuthState, Ctx, allow, allow_signed_in
from fleet_dashboard.state.format import failure, short

# Counting messages again on every receipt would cost one aggregate per event; at most this often.
RECOUNT_SECONDS = 2.0


def org_row(o: dict[str, Any]) -> dict[str, str]:
    return {"id": str(o["org_id"]), "name": o["name"], "slug": o["slug"], "status": o["status"],
            "phone": o["phone"], "sent_today": str(o["sent_today"]), "sent_week": str(o["sent_week"]),
            "failure_rate": f"{o['failure_rate'] * 100:.0f}%", "queue_depth": str(o["queue_depth"]),
            "last_error": short(failure(o["last_error_code"], o["last_error"]), 120),
            "url": routes.admin_org_url(o["slug"])}


class AdminState(AuthState):
    """Only a super_admin gets rows; anyone else gets the 403 page and an audit row."""

    forbidden: bool = False
    org_rows: list[dict[str, str]] = []
    chart: list[dict[str, Any]] = []
    _watch_gen: int = 0
    _counted_at: float = 0.0
    _dirty: bool = False

    def _super_admin(self, action: str) -> Ctx | None:
        ctx = self._authorize(org=False)
        if not permissions.can(ctx.role, Action.overview):
            self.forbidden = True
            self.org_rows, self.chart = [], []
            self._audit_denied(ctx, action)
            return None
        self.forbidden = False
        return ctx

    def _count(self) -> None:
        actor = self._authorize(org=False).actor
        with session_scope() as session:
            self.org_rows = [org_row(o) for o in overview.org_overview(session=session, actor=actor)]
            self.chart = overview.messages_per_day(session=session, actor=actor)
        self._counted_at, self._dirty = time.monotonic(), False

    # Declared for any signed-in person so that everyone else gets the 403 page (and an audit row) from
    # _super_admin; the services behind it check the `overview` column again.
    @rx.event
    @allow_signed_in
    def load(self):
        if self._super_admin("admin_overview") is None:
            return
        self._view_org_id = ""
        self.org_label = ""
        self._count()
        return AdminState.watch

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

    @rx.event(background=True)
    @allow(Action.overview)
    async def watch(self):
        """Status changes of any organisation move its chip now; volumes are recounted every few seconds."""

        def apply(state: AdminState, batch: list[dict[str, Any]]) -> None:
            statuses = {e["org_id"]: e for e in batch if e.get("type") == "session.status"}
            if statuses:
                state.org_rows = [{**row, "status": statuses[row["id"]].get("status") or row["status"],
                                   "phone": statuses[row["id"]].get("phone_number") or row["phone"]}
                                  if row["id"] in statuses else row for row in state.org_rows]
            unknown_org = set(statuses) - {row["id"] for row in state.org_rows}
            if unknown_org or any(e.get("type") == "message.status" for e in batch):
                state._dirty = True
            if state._dirty and time.monotonic() - state._counted_at >= RECOUNT_SECONDS:
                state._count()

        await live.follow(self, gen_attr="_watch_gen", route_ids=(routes.ADMIN,), org_id=None,
                          types=("session.status", "message.status"), apply=apply,
                          tick=lambda s: 1.0 if s._dirty else 5.0, resync=lambda s: s._count())
