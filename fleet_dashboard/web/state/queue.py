"""The queue page: this organisation's notifications by status; cancel pending ones, retry failed ones."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import status
from fleet_dashboard.messaging import templates
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.stats import counters
from fleet_dashboard.web.format import failure, short, stamp
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.paging import Paged
from fleet_dashboard.web.state.auth import AuthState, allow

PAGE_SIZE = 30
ALL = "all"


def waiting(n: NotificationQueue, zone: ZoneInfo) -> str:
    """Why a pending row waits for a guard and until when, in Arabic ("" when it does not)."""
    if n.status != "pending" or not n.wait_reason:
        return ""
    return status.wait_text(n.wait_reason, n.scheduled_for if n.scheduled_for > utcnow() else None, zone) or ""


def queue_row(n: NotificationQueue, names: dict[uuid.UUID, str], zone: ZoneInfo) -> dict[str, str]:
    return {"id": str(n.id), "recipient": n.recipient_phone, "status": n.status, "wait": waiting(n, zone),
            "template": names.get(n.template_id, "") if n.template_id else "",
            "scheduled_for": stamp(n.scheduled_for, zone), "attempts": f"{n.attempts}/{n.max_attempts}",
            "error": short(failure(n.error_code, n.error_message), 90), "error_detail": n.error_message or "",
            "created_at": stamp(n.created_at, zone),
            "message_url": routes.message_url(str(n.message_id)) if n.message_id else ""}


class QueueState(Paged, LiveState, AuthState):
    """One page of notifications, the count per status, and live refresh from the bus."""

    status_filter: str = ALL
    counts: dict[str, int] = {}
    _live_routes: ClassVar = (routes.QUEUE,)
    _live_events: ClassVar = (EventType.message_status, EventType.queue_wake, EventType.queue_changed,
                              EventType.sending_changed)

    def _page(self, org_id: uuid.UUID, cursor: str | None) -> tuple[list[dict[str, str]], str | None]:
        with session_scope() as session:
            rows, next_cursor = queue.list_for_org(session=session, org_id=org_id, cursor=cursor, limit=PAGE_SIZE,
                                                   status=None if self.status_filter == ALL else self.status_filter)
            names = {t.id: templates.display_name(t) for t in templates.list_for_org(session=session, org_id=org_id)}
            self.counts = counters.queue_counts(session=session, org_id=org_id)
        zone = self._zone()
        return [queue_row(n, names, zone) for n in rows], next_cursor

    @rx.event
    @allow(Action.view)
    def load(self):
        self._first_page()
        return QueueState.watch

    @rx.event
    @allow(Action.view)
    def set_status_filter(self, value: str):
        self.status_filter = value if value in strings.QUEUE_STATUS else ALL
        self._first_page()

    def _change(self, change, notification_id: str, done: str):
        ctx = self._authorize()
        with session_scope() as session:  # the service audits it, as it does for the API
            change(session=session, org_id=ctx.org_id, notification_id=notification_id, actor=ctx.actor)
        self._fetch(ctx.org_id)
        return rx.toast.success(done)

    @rx.event
    @allow(Action.cancel)
    def cancel(self, notification_id: str):
        """Cancel a pending notification (the service refuses any other status)."""
        return self._change(queue.cancel, notification_id, strings.QUEUE_CANCELLED)

    @rx.event
    @allow(Action.retry)
    def retry(self, notification_id: str):
        """Send a failed notification again, from a fresh attempt count (an unknown one needs retry_unknown)."""
        return self._change(queue.retry, notification_id, strings.QUEUE_RETRIED)

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        """Re-read the page when the worker reports progress for this organisation."""
        if batch:
            self._fetch(org_id)

    def _live_resync(self, org_id: str | None) -> None:
        self._fetch(org_id)
