"""The org home (`/`): the connection, today's and the week's numbers, a 14-day chart and the latest failures, live."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urlencode

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.events import EventType
from fleet_dashboard.stats import home
from fleet_dashboard.web.format import failure, short, stamp
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.auth import AuthState, allow, current_caller
from fleet_dashboard.web.state.number import NumberView

# Numbers are recounted at most this often while messages move (status chips of the session move at once).
RECOUNT_SECONDS = 1.0


def percent(value: float, *, of: int = 1) -> str:
    """0.934 -> `93%` (digits read left to right inside Arabic text); "—" when the rate is of nothing (`of` 0),
    since 0% would say every message failed to arrive."""
    return f"{round(value * 100)}%" if of else strings.NONE


def history_url(first: date, last: date, status: str = "") -> str:
    """The history page filtered to the same local days (and status), so every number can be checked."""
    query = {"from": first.isoformat(), "to": last.isoformat()}
    if status:
        query["status"] = status
    return f"{routes.HISTORY}?{urlencode(query)}"


def reason_text(code: str | None, detail: str | None) -> str:
    return failure(code, detail) or strings.HOME_UNKNOWN_REASON


class HomeState(NumberView, LiveState, AuthState):
    """What the home shows, as plain strings and lists (and the number's health, NumberView)."""

    whatsapp_status: str = "disconnected"
    whatsapp_reason: str = ""
    whatsapp_phone: str = ""
    sent_today: int = 0
    sent_week: int = 0
    failed_today: int = 0
    failed_week: int = 0
    in_progress_week: int = 0
    total_week: int = 0
    delivery_rate: str = strings.NONE
    read_rate: str = strings.NONE
    queue_depth: int = 0
    chart: list[dict[str, Any]] = []
    reasons: list[dict[str, str]] = []
    failures: list[dict[str, str]] = []
    today_url: str = ""
    week_url: str = ""
    failed_today_url: str = ""
    failed_week_url: str = ""
    loaded: bool = False
    _live_routes: ClassVar = (routes.HOME,)
    _live_events: ClassVar = (EventType.session_status, EventType.message_status, EventType.queue_changed,
                              EventType.queue_wake, EventType.sending_changed, EventType.session_alert)
    _counted_at: float = 0.0
    _dirty: bool = False
    # A rule, a pause or an alert changed: the number's card is read again at the next recount.
    _number_changed: bool = False
    # The local day the figures were counted for: a watcher recounts when midnight passes in the org's zone.
    _day: str = ""

    def _show_whatsapp(self, view: dict[str, Any]) -> None:
        self.whatsapp_status = view.get("status") or "disconnected"
        self.whatsapp_phone = view.get("phone_number") or ""
        code, detail = view.get("connection_error_code"), view.get("connection_error")
        self.whatsapp_reason = strings.error_text(code) if code else (detail or "")

    def _count(self, org_id: uuid.UUID | str) -> None:
        org_id = uuid.UUID(str(org_id))
        zone = self._zone()
        actor = (current_caller() or self._signed_in_ctx()).actor
        with session_scope() as session:
            h = home.org_home(session=session, org_id=org_id, actor=actor)
        self._show_whatsapp(h.whatsapp)
        self.sent_today, self.sent_week = h.today.sent, h.week.sent
        self.failed_today, self.failed_week = h.today.failed, h.week.failed
        self.in_progress_week, self.total_week = h.week.in_progress, h.week.total
        self.delivery_rate = percent(h.delivery_rate, of=h.week.sent)
        self.read_rate = percent(h.read_rate, of=h.week.sent)
        self.queue_depth = h.queue_depth
        self.chart = h.chart
        failed = "failed"
        self.today_url = history_url(h.today.first, h.today.last)
        self.week_url = history_url(h.week.first, h.week.last)
        self.failed_today_url = history_url(h.today.first, h.today.last, failed)
        self.failed_week_url = history_url(h.week.first, h.week.last, failed)
        self.reasons = [{"reason": reason_text(r["code"], r["error"]), "count": str(r["count"]),
                         "code": r["code"] or ""} for r in h.reasons]
        self.failures = [{"id": str(m.id), "recipient": m.recipient_phone,
                          "reason": short(reason_text(m.error_code, m.error), 80),
                          "when": stamp(m.failed_at or m.created_at, zone), "url": routes.message_url(str(m.id))}
                         for m in h.latest_failures]
        self._refresh_number(org_id, force=self._number_changed)
        self._number_changed = False
        self.loaded = True
        self._day = h.today.first.isoformat()
        self._counted_at, self._dirty = time.monotonic(), False

    @rx.event
    @allow(Action.view)
    def load(self):
        """Read every figure, then follow the organisation's events."""
        ctx = self._authorize()
        self._number_changed = True  # a fresh page reads the number's card afresh too
        self._count(ctx.org_id)
        return HomeState.watch

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        """The connection changes at once; the numbers are recounted at most every RECOUNT_SECONDS."""
        for event in batch:
            if event.get("type") == EventType.session_status:
                self._show_whatsapp(event)
            else:
                self._dirty = True
                if event.get("type") in (EventType.sending_changed, EventType.session_alert):
                    self._number_changed = True
        if not batch and localtime.local_today(self._zone_cached()).isoformat() != self._day:
            self._dirty = True  # a new day in the organisation's zone: "today" starts again from zero
        if self._dirty and time.monotonic() - self._counted_at >= RECOUNT_SECONDS:
            self._count(org_id)

    def _live_resync(self, org_id: str | None) -> None:
        self._count(org_id)

    def _live_tick(self) -> float:
        return 0.5 if self._dirty else 5.0
