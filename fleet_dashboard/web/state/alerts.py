"""The alert banner on every page of an organisation: its open incidents, live (`session.alert`), and any open
break-glass window (a super_admin acting inside it), read again at every tick."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import links, localtime
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.events import EventType
from fleet_dashboard.deliverability import incidents
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.auth import AuthState, allow_signed_in, current_caller


class AlertState(LiveState, AuthState):
    """Open incidents of the organisation on screen (none for a super_admin who picked none)."""

    alerts: list[dict[str, str]] = []
    # Open break-glass windows: who acts inside the organisation, as whom, why and until when (Arabic lines).
    break_glass: list[dict[str, str]] = []
    _live_routes: ClassVar = (*routes.ORG_PAGES, routes.ACCOUNT)
    _live_events: ClassVar = (EventType.session_alert,)

    def _read(self, org_id) -> None:
        with session_scope() as session:
            self.alerts = incidents.banner_rows(session=session, org_id=org_id)
        self._read_break_glass(org_id)

    def _read_break_glass(self, org_id) -> None:
        with session_scope() as session:
            windows = links.open_break_glass(session=session, org_id=org_id)
            zone = localtime.org_zone(session=session, org_id=org_id) if windows else None
        self.break_glass = [{"id": w["id"], "text": strings.BREAK_GLASS_BANNER.format(
            by=w["by"], user=w["user"], reason=w["reason"], until=localtime.format_local(w["until"], zone))}
            for w in windows]

    @rx.event
    @allow_signed_in
    def load(self):
        """Read the open incidents, then follow them (only inside an organisation)."""
        ctx = current_caller()
        if ctx is None or ctx.org_id is None:
            self.alerts, self.break_glass = [], []
            return None
        self._read(ctx.org_id)
        return AlertState.watch

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        if batch:
            self._read(org_id)
        else:  # a tick: a break-glass window may have opened or closed (no bus event says so)
            self._read_break_glass(org_id)

    def _live_resync(self, org_id: str | None) -> None:
        self._read(org_id)

    def _live_tick(self) -> float:
        return 30.0
