"""The sending page (`/sending`, "الإرسال"): the organisation's sending rules, and its number's health, live.

Everyone reads it; owners and admins change the rules and resume a pause (the services audit both)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.core.events import EventType
from fleet_dashboard.deliverability import pauses, rules
from fleet_dashboard.deliverability.models import WEEKDAYS
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.auth import AuthState, allow
from fleet_dashboard.web.state.number import NumberView

# Numbers are re-read at most this often while messages move.
RECOUNT_SECONDS = 1.0


def _ticked(form_data: dict, name: str) -> bool:
    return str(form_data.get(name, "")).lower() in ("on", "true", "1")


class SendingState(NumberView, LiveState, AuthState):
    """The rules as saved, the form's refusal, and the number's health (NumberView)."""

    typing: bool = True
    quiet_start: str = ""
    quiet_end: str = ""
    days_off: list[str] = []
    daily_cap: str = "1000"
    warmup: bool = True
    rules_error: str = ""
    # Changes on every save, so the form's uncontrolled fields show what was saved.
    form_key: int = 0
    _live_routes: ClassVar = (routes.SENDING,)
    _live_events: ClassVar = (EventType.sending_changed, EventType.session_alert, EventType.message_status,
                              EventType.queue_changed)
    _read_at: float = 0.0
    _dirty: bool = False

    def _show_rules(self, r: rules.Rules) -> None:
        self.typing, self.warmup = r.typing, r.warmup
        self.quiet_start, self.quiet_end = r.quiet_start or "", r.quiet_end or ""
        self.days_off = list(r.days_off)
        self.daily_cap = str(r.daily_cap)
        self.form_key += 1

    def _read(self, org_id) -> None:
        with session_scope() as session:
            self._show_rules(rules.get_rules(session=session, org_id=org_id))
        self._read_number(org_id)
        self._read_at, self._dirty = time.monotonic(), False

    @rx.event
    @allow(Action.view)
    def load(self):
        """The rules and the number's health, then follow what changes them."""
        ctx = self._authorize()
        self.rules_error = ""
        self._read(ctx.org_id)
        return SendingState.watch

    @rx.event
    @allow(Action.sending)
    def save_rules(self, form_data: dict):
        """Owners and admins change the rules; the service validates and audits them."""
        ctx = self._authorize()
        start, end = str(form_data.get("quiet_start", "")).strip()[:5], str(form_data.get("quiet_end", "")).strip()[:5]
        cap = str(form_data.get("daily_cap", "")).strip()
        body: dict[str, Any] = {
            "typing": _ticked(form_data, "typing"), "warmup": _ticked(form_data, "warmup"),
            "quiet_hours": {"start": start or None, "end": end or None,
                            "days_off": [d for d in WEEKDAYS if _ticked(form_data, "day_" + d)]},
            "daily_cap": int(cap) if cap.isdigit() else cap,
        }
        try:
            with session_scope() as session:
                saved = rules.set_rules(session=session, org_id=ctx.org_id, actor=ctx.actor, body=body)
        except DomainError as exc:
            self.rules_error = strings.error_text(exc.code, **exc.params)
            return
        self.rules_error = ""
        self._show_rules(saved)
        self._read_number(ctx.org_id)
        return rx.toast.success(strings.RULES_SAVED)

    @rx.event
    @allow(Action.sending)
    def resume(self):
        """Owners and admins resume a paused number by hand (audited with who did it)."""
        ctx = self._authorize()
        with session_scope() as session:
            pauses.resume(session=session, org_id=ctx.org_id, actor=ctx.actor)
        self._read_number(ctx.org_id)
        return rx.toast.success(strings.RESUMED)

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        if batch:
            self._dirty = True
        if any(e.get("type") == EventType.sending_changed and e.get("what") == "rules" for e in batch):
            with session_scope() as session:  # another owner or admin saved them
                self._show_rules(rules.get_rules(session=session, org_id=org_id))
        changed = any(e.get("type") in (EventType.sending_changed, EventType.session_alert) for e in batch)
        if changed or (self._dirty and time.monotonic() - self._read_at >= RECOUNT_SECONDS):
            self._refresh_number(org_id, force=changed)
            self._read_at, self._dirty = time.monotonic(), False

    def _live_resync(self, org_id: str | None) -> None:
        self._read_number(org_id)

    def _live_tick(self) -> float:
        return 0.5 if self._dirty else 10.0
