"""The Connect page: the organisation's WhatsApp session, kept live from the engine's event bus."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.integrations import qr
from fleet_dashboard.web.format import stamp_iso
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.auth import AuthState, allow, current_caller
from fleet_dashboard.whatsapp import engines, sessions, simulator_commands

ROUTE_IDS = (routes.CONNECT,)
SIMULATOR_WAIT_SECONDS = 5.0
ENGINE_CHECK_SECONDS = 10.0


def _seconds_until(iso: str | None) -> int:
    if not iso:
        return 0
    remaining = (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds()
    return max(0, int(remaining + 0.999))


class ConnectState(LiveState, AuthState):
    """One organisation's WhatsApp session as the page shows it."""

    status: str = "disconnected"
    phone: str = ""
    display_name: str = ""
    last_connected_at: str = ""
    connection_error: str = ""
    # Why the WhatsApp session is down, in Arabic ("" when there is no reason or no code for it).
    reason_text: str = ""
    retry_count: int = 0
    qr_src: str = ""
    qr_seconds_left: int = 0
    # Bumped on every QR change, so tests and the page can tell a rotation happened.
    qr_version: int = 0
    _qr_code: str = ""
    _qr_expires_at: str = ""
    _live_routes: ClassVar = ROUTE_IDS
    _live_events: ClassVar = (EventType.session_status,)
    # Whether this caller may see the pairing QR: it links a phone, so it goes with the `connect` column.
    _may_see_qr: bool = False
    # Linking by phone number: the form, the code WhatsApp gave, and its countdown.
    show_pair_form: bool = False
    pair_requested: bool = False
    pair_phone: str = ""
    pair_code: str = ""
    pair_seconds_left: int = 0
    _pair_expires_at: str = ""
    next_retry_at: str = ""
    # No engine process has a recent heartbeat: every WhatsApp session is down until one is back.
    engine_down: bool = False
    _engine_checked: float = 0.0
    # WHATSAPP_BACKEND=simulator: the page offers the simulated phone's scan (no shell, no org id from psql).
    simulator: bool = False

    def _show(self, view: dict[str, Any]) -> None:
        self.status = view.get("status") or "disconnected"
        self.phone = view.get("phone_number") or ""
        self.display_name = view.get("display_name") or ""
        self.last_connected_at = stamp_iso(view.get("last_connected_at"), self._zone_cached())
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
        self._show_pairing(view)

    def _show_pairing(self, view: dict[str, Any]) -> None:
        # A linking code links a phone, like the QR: only for those who may connect.
        self.pair_code = (view.get("pair_code") or "") if self.status == "qr_pending" and self._may_see_qr else ""
        self.pair_phone = view.get("pair_phone") or self.pair_phone
        self._pair_expires_at = view.get("pair_code_expires_at") or ""
        self.pair_seconds_left = _seconds_until(self._pair_expires_at) if self.pair_code else 0
        self.next_retry_at = stamp_iso(view.get("next_retry_at"), self._zone_cached())
        if self.pair_code or view.get("connection_error_code") or self.status in ("connected", "disconnected"):
            self.pair_requested = False
        if self.pair_code:
            self.show_pair_form = False

    def _check_engines(self) -> None:
        """Whether any engine process is alive, from the heartbeats (the web tier never hosts one)."""
        self._engine_checked = time.monotonic()
        with session_scope() as session:
            self.engine_down = not engines.alive(session=session, stale_seconds=get_settings().engine_stale_seconds)

    def _read(self, org_id: Any) -> None:
        self._zone()
        with session_scope() as session:
            self._show(sessions.get_status(session=session, org_id=org_id))
        self._check_engines()

    def _forget_private(self) -> None:
        self._may_see_qr = False
        self._qr_code, self.qr_src, self.qr_seconds_left = "", "", 0

    @rx.event
    @allow(Action.view)
    def load(self):
        """Read the WhatsApp session row, then follow its changes live."""
        ctx = self._authorize()
        self._may_see_qr = permissions.can(ctx.role, Action.connect)
        self.simulator = get_settings().whatsapp_backend == "simulator"
        self._read(ctx.org_id)
        return ConnectState.watch

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        """Apply `session.status` events for this organisation while the page stays open."""
        for event in batch:
            self._show(event)
        if self._qr_code:
            self.qr_seconds_left = _seconds_until(self._qr_expires_at)
        if self.pair_code:
            self.pair_seconds_left = _seconds_until(self._pair_expires_at)
        if not batch and time.monotonic() - self._engine_checked > ENGINE_CHECK_SECONDS:
            self._check_engines()

    def _live_resync(self, org_id: str | None) -> None:
        # A watcher started without the page's load (a crafted event) decides the QR right here too.
        self._may_see_qr = permissions.can(current_caller().role, Action.connect)
        self._read(org_id)

    def _live_tick(self) -> float:
        return 1.0 if self._qr_code or self.pair_code else 5.0

    def _request(self, request) -> None:
        ctx = self._authorize()
        with session_scope() as session:
            row = request(session=session, org_id=ctx.org_id, actor=ctx.actor)
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

    @rx.event
    @allow(Action.connect)
    def toggle_pair_form(self):
        """Show or hide the "link with a phone number" form."""
        self._authorize()
        self.show_pair_form = not self.show_pair_form

    @rx.event
    @allow(Action.connect)
    def request_pair_code(self, form_data: dict):
        """Ask the engine for a linking code for the number typed ("احصل على رمز الربط")."""
        ctx = self._authorize()
        phone = str((form_data or {}).get("phone") or "")[:64]
        with session_scope() as session:
            row = sessions.request_pair_code(session=session, org_id=ctx.org_id, phone=phone, actor=ctx.actor)
            self._show(sessions.status_view(row))
        self.pair_requested = True

    @rx.event
    @allow(Action.connect)
    def simulate_scan(self):
        """Simulator mode: the simulated phone scans the QR shown (or types the linking code asked for)."""
        ctx = self._authorize()
        if get_settings().whatsapp_backend != "simulator":
            raise ValidationError("not in simulator mode", code="simulator_off")
        if self.pair_code:
            body = {"code": self.pair_code, "name": strings.SIMULATED_PHONE_NAME}
            action = "confirm-code"
        else:
            body = {"phone": simulated_phone(ctx.org_id), "name": strings.SIMULATED_PHONE_NAME}
            action = "scan"
        error = _run_simulator_command(ctx.org_id, action, body)
        if error:
            raise ValidationError(error, code="simulator_failed", detail=error)
        return rx.toast.success(strings.SIMULATE_DONE)


def simulated_phone(org_id: uuid.UUID) -> str:
    """A valid Egyptian mobile number of the organisation's own, so two simulated organisations never share one."""
    return f"+2010{org_id.int % 10**8:08d}"


def _run_simulator_command(org_id: uuid.UUID, action: str, body: dict[str, Any]) -> str | None:
    """Hand the command to the engine that owns the organisation and wait (up to SIMULATOR_WAIT_SECONDS) for its
    answer; returns its error text, or None when it was done."""
    command_id = simulator_commands.submit(org_id, action, body)
    deadline = time.monotonic() + SIMULATOR_WAIT_SECONDS
    while time.monotonic() < deadline:
        answered, error = simulator_commands.answer_of(command_id)
        if answered:
            return error
        time.sleep(0.1)
    answered, error = simulator_commands.expire(command_id)
    return error if answered else simulator_commands.EXPIRED
