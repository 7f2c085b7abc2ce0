"""One organisation's session: connect, pair, stay up, back off on failure, stop on logout or error."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fleet_dashboard.models import SessionStatus, utcnow
from fleet_dashboard.services.backoff import backoff_delay
from fleet_dashboard.settings import get_settings
from fleet_dashboard.whatsapp import session_store as store
from fleet_dashboard.whatsapp.gateway import (
    Connected,
    Disconnected,
    Gateway,
    GatewayEvent,
    Inbound,
    LoggedOut,
    Paired,
    QRCodes,
    Receipt,
    TemporaryBan,
)

if TYPE_CHECKING:
    from fleet_dashboard.whatsapp.engine import Engine

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0


class Outcome(enum.Enum):
    FAILED = "failed"
    QR_EXPIRED = "qr_expired"
    LOGGED_OUT = "logged_out"
    BANNED = "banned"
    STOPPED = "stopped"
    DISABLED = "disabled"


class _StopRequest:
    """Put on the event queue to end the current attempt."""


class Supervisor:
    """Runs the status machine disconnected -> connecting -> qr_pending -> connected (+ error)."""

    def __init__(self, engine: Engine, org_id: uuid.UUID):
        self.engine = engine
        self.org_id = org_id
        self.gateway: Gateway | None = None
        self.connected = False
        self.state = "starting"
        self.failures = 0
        self.stop_mode: str | None = None  # "stop", "logout" or "shutdown"
        self._events: asyncio.Queue[GatewayEvent | _StopRequest] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._retry = False
        self.task: asyncio.Task | None = None

    # Requests from the engine -------------------------------------------------------------------
    def retry(self) -> None:
        """A user asked to try again: skip the backoff, or leave the error state."""
        self._retry = True
        self._wake.set()

    def request_stop(self, mode: str) -> None:
        """End the session: "stop" keeps the device, "logout" unlinks it, "shutdown" leaves the row."""
        if self.stop_mode is None or mode == "logout":
            self.stop_mode = mode
        self._events.put_nowait(_StopRequest())
        self._wake.set()

    # The machine --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Supervise until logout, expiry, stop or disable; the engine then releases the lock."""
        try:
            row = await asyncio.to_thread(store.load, self.org_id)
            if row is None or not row.enabled:
                return
            waiting = row.status == SessionStatus.error.value
            self.failures = row.retry_count if waiting else 0
            while self.stop_mode is None:
                if waiting:
                    self.state = "error"
                    if await self._pause(None) == "stop":
                        break
                    self.failures, waiting = 0, False
                outcome, reason = await self._attempt()
                if self.stop_mode is not None:
                    break
                if outcome is Outcome.FAILED:
                    waiting = await self._after_failure(reason)
                elif outcome is Outcome.BANNED:
                    await self._write({"status": "error", "connection_error": reason,
                                       "connection_error_code": "temporary_ban"}, "temporary_ban",
                                      {"reason": reason})
                    waiting = True
                else:
                    await self._final(outcome, reason)
                    return
            await self._finish_stop()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("supervisor of %s crashed", self.org_id)
        finally:
            self.connected = False
            self.state = "stopped"
            self.engine.supervisor_exited(self)

    async def _pause(self, seconds: float | None) -> str:
        """Wait for a retry, a stop or the timeout; returns "retry", "stop" or "timeout"."""
        self._wake.clear()
        if self.stop_mode is None and not self._retry:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
        if self.stop_mode is not None:
            return "stop"
        woken, self._retry = self._retry, False
        return "retry" if woken else "timeout"

    async def _after_failure(self, reason: str) -> bool:
        """Count the failure; back off, or give up into error after too many. True means error."""
        settings = get_settings()
        self.failures += 1
        if self.failures >= settings.reconnect_max_failures:
            text = f"gave up after {self.failures} failed attempts in a row: {reason}"
            await self._write({"status": "error", "connection_error": text, "connection_error_code": "connect_gave_up",
                               "retry_count": self.failures,
                               "qr_code": None, "qr_expires_at": None}, "session_error", {"reason": reason})
            return True
        delay = backoff_delay(self.failures, base=settings.reconnect_base_seconds,
                                cap=settings.reconnect_max_seconds)
        await self._write({"status": "disconnected", "connection_error": reason,
                           "connection_error_code": "connect_failed", "retry_count": self.failures,
                           "last_disconnected_at": utcnow(), "qr_code": None, "qr_expires_at": None},
                          "session_disconnected", {"reason": reason, "retry_in_seconds": round(delay, 2)})
        self.state = "backoff"
        if await self._pause(delay) == "retry":
            self.failures = 0
        return False

    async def _attempt(self) -> tuple[Outcome, str]:
        """One connection, from start to its end; the gateway is always stopped afterwards."""
        self._retry = False
        self.state = "connecting"
        row = await self._write({"status": "connecting"})
        if row is None:
            return Outcome.DISABLED, "disabled"
        gateway = self.engine.factory.create(self.org_id, self._sink_for(None))
        gateway.sink = self._sink_for(gateway)
        self.gateway = gateway
        logout = False
        try:
            await asyncio.wait_for(gateway.start(resume_jid=row.whatsapp_id), CONNECT_TIMEOUT)
            outcome, reason = await self._watch()
            logout = outcome is Outcome.STOPPED and self.stop_mode == "logout"
            return outcome, reason
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return Outcome.FAILED, _reason(exc)
        finally:
            self.connected = False
            self.gateway = None
            await self._close(gateway, logout)

    async def _close(self, gateway: Gateway, logout: bool) -> None:
        try:
            await asyncio.wait_for(gateway.logout() if logout else gateway.stop(), STOP_TIMEOUT)
        except Exception as exc:
            log.warning("closing the gateway of %s failed: %s", self.org_id, _reason(exc))
            if logout:  # the device stays linked; at least close the socket
                try:
                    await asyncio.wait_for(gateway.stop(), STOP_TIMEOUT)
                except Exception:
                    log.warning("stopping the gateway of %s failed too", self.org_id)

    def _sink_for(self, gateway: Gateway | None):
        def sink(event: GatewayEvent) -> None:
            if isinstance(event, Receipt | Inbound):
                self.engine.gateway_traffic(self.org_id, event)
            elif gateway is not None and gateway is self.gateway:
                self._events.put_nowait(event)

        return sink

    async def _watch(self) -> tuple[Outcome, str]:
        """Follow the gateway's events, writing each transition, until the connection ends."""
        qr_seen = paired = False
        while True:
            timeout = None if self.connected or qr_seen else CONNECT_TIMEOUT
            try:
                event = await asyncio.wait_for(self._events.get(), timeout)
            except TimeoutError:
                return Outcome.FAILED, f"no answer from WhatsApp within {int(CONNECT_TIMEOUT)} s"
            if isinstance(event, _StopRequest):
                return Outcome.STOPPED, "stopped"
            if isinstance(event, QRCodes):
                self.state = "qr_pending"
                expires = utcnow() + timedelta(seconds=event.ttl_seconds)
                row = await self._write({"status": "qr_pending", "qr_code": event.codes[0],
                                         "qr_expires_at": expires},
                                        None if qr_seen else "qr_generated")
                qr_seen = True
                if row is None:
                    return Outcome.DISABLED, "disabled"
            elif isinstance(event, Paired):
                paired = True
                await self._write({"whatsapp_id": event.jid, "phone_number": event.phone,
                                   "display_name": event.push_name or None})
            elif isinstance(event, Connected):
                await self._on_connected(event)
            elif isinstance(event, Disconnected):
                if qr_seen and not paired and not self.connected:
                    return Outcome.QR_EXPIRED, "the QR code expired before it was scanned"
                return Outcome.FAILED, event.reason or "disconnected"
            elif isinstance(event, LoggedOut):
                return Outcome.LOGGED_OUT, event.reason
            elif isinstance(event, TemporaryBan):
                return Outcome.BANNED, f"WhatsApp temporarily banned this number ({event.code})"

    async def _on_connected(self, event: Connected) -> None:
        values: dict[str, Any] = {"status": "connected", "last_connected_at": utcnow(), "qr_code": None,
                                  "qr_expires_at": None, "connection_error": None, "connection_error_code": None,
                                  "retry_count": 0}
        if event.jid:
            values["whatsapp_id"] = event.jid
        if event.phone:
            values["phone_number"] = event.phone
        if event.push_name:
            values["display_name"] = event.push_name
        self.failures = 0
        row = await self._write(values, "session_connected", {"phone": event.phone or None,
                                                              "engine": self.engine.engine_id})
        if row is not None:
            self.connected = True
            self.state = "connected"

    async def _final(self, outcome: Outcome, reason: str) -> None:
        """Write the end of a session that must not be retried by itself."""
        if outcome is Outcome.DISABLED:
            return
        values: dict[str, Any] = {"status": "disconnected", "enabled": False, "qr_code": None,
                                  "qr_expires_at": None, "connection_error": reason,
                                  "connection_error_code": _FINAL_CODES.get(outcome), "retry_count": 0,
                                  "last_disconnected_at": utcnow()}
        audit = "session_disconnected"
        if outcome is Outcome.LOGGED_OUT:
            values.update(whatsapp_id=None, phone_number=None, display_name=None)
            audit = "logged_out"
        await self._write(values, audit, {"reason": reason})

    async def _finish_stop(self) -> None:
        """After a user's stop or logout: record that the engine did it (the row was already updated)."""
        if self.stop_mode == "logout":
            await self._write({"status": "disconnected", "whatsapp_id": None, "enabled": False},
                              "logged_out", {"reason": "logged out by a user"}, require_enabled=False)

    async def _write(self, values: dict[str, Any], audit_type: str | None = None,
                     audit_data: dict[str, Any] | None = None, *, require_enabled: bool = True):
        return await asyncio.to_thread(store.transition, self.org_id, values, audit_type=audit_type,
                                       audit_data=audit_data, require_enabled=require_enabled)


# Why a session ended without a retry, for the Connect page (strings.ERRORS).
_FINAL_CODES = {Outcome.LOGGED_OUT: "logged_out_phone", Outcome.QR_EXPIRED: "qr_expired"}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:500]
