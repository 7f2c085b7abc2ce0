"""The Connect page: the organisation's WhatsApp session, kept live from the engine's event bus."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import reflex as rx

from fleet_dashboard import routes, strings
from fleet_dashboard.db import session_scope
from fleet_dashboard.services import permissions, qr, sessions
from fleet_dashboard.services.permissions import Action
from fleet_dashboard.state import live
from fleet_dashboard.state.auth import AuthState, allow, current_caller

ROUTE_IDS = (routes.HOME, routes.CONNECT)


def _seconds_until(iso: str | None) -> int:
    if not iso:
        return 0
    remaining = (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds()
    return max(0, int(remaining + 0.999))


class ConnectState(AuthState):
    """One organisation's session as the page shows it."""

    status: str = "disconnected"
    phone: str = ""
    display_name: str = ""
    last_connected_at: str = ""
    connection_error: str = ""
    # Why the session is down, in Arabic ("" when there is no reason or no code for it).
    reason_text: str = ""
    retry_count: int = 0
    qr_src: str = ""
    qr_seconds_left: int = 0
    # Bumped on every QR change, so tests and the page can tell a rotation happened.
    qr_version: int = 0
    _qr_code: str = ""
    _qr_expires_at: str = ""
    _watch_gen: int = 0
    # Whether this caller may see the pairing QR: it links a phone, so it goes with the `connect` column.
    _may_see_qr: bool = False

    def _show(self, view: dict[str, Any]) -> None:
        self.status = view.get("status") or "disconnected"
        self.phone = view.get("phone_number") or ""
        self.display_name = view.get("display_name") or ""
        self.last_connected_at = view.get("last_connected_at") or ""
        self.connection_error = view.get("connection_error") or ""
        reason_code = view.get("connection_error_code")
        self.reason_text = strings.error_text(reason_code) if reason_code else ""
        self.retry_count = int(view.get("retry_count") or 0)
        code = (view.get("qr_code") or "") if self.status == "qr_pending" and self._may_see_qr else ""
        if code != self._qr_code:
            self._qr_code = code
            self.qr_src = qr.qr_data_uri(code) if code else ""
            self.qr_version += 1
        self._qr_expires_at = view.get("qr_expires_at") or ""
        self.qr_seconds_left = _seconds_until(self._qr_expires_at) if code else 0

    def _read(self, org_id: Any) -> None:
        with session_scope() as session:
            self._show(sessions.get_status(session=session, org_id=org_id))

    def _forget_private(self) -> None:
        self._may_see_qr = False
        self._qr_code, self.qr_src, self.qr_seconds_left = "", "", 0

    @rx.event
    @allow(Action.view)
    def load(self):
        """Read the session row, then follow its changes live."""
        ctx = self._authorize()
        self._may_see_qr = permissions.can(ctx.role, Action.connect)
        self._read(ctx.org_id)
        return ConnectState.watch

    @rx.event(background=True)
    @allow(Action.view)
    async def watch(self):
        """Apply `session.status` events for this organisation while the page stays open."""
        org_id = str(current_caller().org_id)
        async with self:
            self._may_see_qr = permissions.can(current_caller().role, Action.connect)

        def apply(state: ConnectState, batch: list[dict[str, Any]]) -> None:
            for event in batch:
                state._show(event)
            if state._qr_code:
                state.qr_seconds_left = _seconds_until(state._qr_expires_at)

        await live.follow(self, gen_attr="_watch_gen", route_ids=ROUTE_IDS, org_id=org_id,
                          types=("session.status",), apply=apply,
                          tick=lambda s: 1.0 if s._qr_code else 5.0, resync=lambda s: s._read(org_id))

    def _request(self, request) -> None:
        ctx = self._authorize()
        with session_scope() as session:
            row = request(session=session, org_id=ctx.org_id, actor=ctx.actor, ip_address=self._client_ip())
            self._show(sessions.status_view(row))

    @rx.event
    @allow(Action.connect)
    def connect(self):
        """Ask the engine to pair or resume ("ربط الواتساب")."""
        self._request(sessions.request_connect)

    @rx.event
    @allow(Action.connect)
    def retry(self):
        """Try again after an error."""
        self._request(sessions.request_retry)

    @rx.event
    @allow(Action.logout)
    def disconnect(self):
        """Log the device out, after the confirmation dialog."""
        self._request(sessions.request_logout)
