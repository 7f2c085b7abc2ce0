"""One organisation's session: connect, pair (QR or phone code), stay up, back off on failure, and end
with a visible reason when only a person can help."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fleet_dashboard.models import DEGRADED_REASONS, SessionReason, utcnow
from fleet_dashboard.services.backoff import backoff_delay
from fleet_dashboard.settings import get_settings
from fleet_dashboard.whatsapp import session_store as store
from fleet_dashboard.whatsapp.gateway import (
    Connected,
    Disconnected,
    Gateway,
    GatewayEvent,
    HealthChanged,
    Inbound,
    LoggedOut,
    Paired,
    PairingCode,
    PairingEnded,
    QRCodes,
    Receipt,
    Reconnecting,
    Refused,
    TemporaryBan,
)
from fleet_dashboard.whatsapp.unlink import unlink_device

if TYPE_CHECKING:
    from fleet_dashboard.whatsapp.engine import Engine

log = logging.getLogger(__name__)
R = SessionReason
CONNECT_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
# A pairing nobody completes ends this long after the library's own QR window closes.
PAIRING_MARGIN_SECONDS = 10.0
PAIR_RESULT_WAIT = 5.0


class Outcome(enum.Enum):
    FAILED = "failed"  # retried with backoff
    BANNED = "banned"  # retried when the ban ends
    RESTART = "restart"  # a new pairing was asked for: go again at once
    FINAL = "final"  # only a person can help: the session is switched off with its reason
    STOPPED = "stopped"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""
    code: str | None = None
    wait: float | None = None


@dataclass(frozen=True)
class _FromGateway:
    gateway: Gateway
    event: GatewayEvent


@dataclass(frozen=True)
class _Wake:
    """A request for the running attempt: stop, retry, a pairing code, or a change in send health."""

    kind: str
    value: Any = None


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
        self.health_code: str | None = None
        self._events: asyncio.Queue[_FromGateway | _Wake] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._retry = False
        self._send_failures = 0
        self._pair_task: asyncio.Task | None = None
        self.task: asyncio.Task | None = None

    # Requests from the engine -------------------------------------------------------------------
    def retry(self) -> None:
        """A user asked to try again: skip the backoff, or start a new pairing."""
        self._retry = True
        self._wake.set()
        self._events.put_nowait(_Wake("retry"))

    def request_pair(self) -> None:
        """A user asked for a linking code: the row carries the number."""
        self._retry = True
        self._wake.set()
        self._events.put_nowait(_Wake("pair"))

    def request_stop(self, mode: str) -> None:
        """End the session: "stop" keeps the device, "logout" unlinks it, "shutdown" leaves the row."""
        if self.stop_mode is None or mode == "logout":
            self.stop_mode = mode
        self._events.put_nowait(_Wake("stop"))
        self._wake.set()

    def note_send(self, ok: bool) -> None:
        """A send on this socket succeeded or failed: many failures in a row mean "connected but not sending"."""
        self._send_failures = 0 if ok else self._send_failures + 1
        failing = self._send_failures >= get_settings().send_failure_threshold
        if failing and self.health_code != R.sends_failing:
            why = f"{self._send_failures} sends in a row failed on a connected socket"
            self._events.put_nowait(_Wake("health", (R.sends_failing.value, why)))
        elif ok and self.health_code == R.sends_failing:
            self._events.put_nowait(_Wake("health", (None, "")))

    # The machine --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Supervise until logout, a final reason, stop or disable; the engine then releases the lock."""
        try:
            row = await asyncio.to_thread(store.load, self.org_id)
            if row is None:
                return
            if row.unlink_jid:
                await self._unlink(row.unlink_jid)
            if not row.enabled:
                return
            self.failures = row.retry_count if row.connection_error_code in (R.connect_failed, R.connect_gave_up) else 0
            wait = _seconds_until(row.next_retry_at)
            while self.stop_mode is None:
                if wait:
                    self.state = "error" if self.failures >= get_settings().reconnect_max_failures else "backoff"
                    if await self._pause(wait) == "stop":
                        break
                    if self._retry:
                        self.failures = 0
                    self._retry = False
                result = await self._attempt()
                if self.stop_mode is not None:
                    break
                if result.outcome is Outcome.FAILED:
                    wait = await self._after_failure(result.reason, result.code or R.connect_failed)
                elif result.outcome is Outcome.BANNED:
                    wait = await self._after_ban(result.reason, result.wait)
                elif result.outcome is Outcome.RESTART:
                    wait = None
                else:
                    await self._final(result)
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
        return "retry" if self._retry else "timeout"

    async def _after_failure(self, reason: str, code: str) -> float:
        """Count the failure and back off; past the limit the row says error, but it keeps trying at the cap."""
        settings = get_settings()
        self.failures += 1
        delay = backoff_delay(self.failures, base=settings.reconnect_base_seconds, cap=settings.reconnect_max_seconds)
        gave_up = self.failures >= settings.reconnect_max_failures
        values = {"status": "error" if gave_up else "disconnected", "retry_count": self.failures,
                  "connection_error": f"{self.failures} failed attempts in a row: {reason}" if gave_up else reason,
                  "connection_error_code": R.connect_gave_up if gave_up else code,
                  "next_retry_at": utcnow() + timedelta(seconds=delay),
                  "last_disconnected_at": utcnow(), "qr_code": None, "qr_expires_at": None,
                  "pair_code": None, "pair_code_expires_at": None}
        if code == R.pair_code_failed:
            values["pair_phone"] = None  # one code per request: no push notification on every retry
        audit = "session_error" if self.failures == settings.reconnect_max_failures else "session_disconnected"
        await self._write(values, audit, {"reason": reason, "retry_in_seconds": round(delay, 2)})
        return delay

    async def _after_ban(self, reason: str, seconds: float | None) -> float:
        settings = get_settings()
        wait = seconds if seconds and seconds > 0 else settings.reconnect_max_seconds
        until = utcnow() + timedelta(seconds=wait)
        await self._write({"status": "error", "connection_error": f"{reason}; retrying at {until.isoformat()}",
                           "connection_error_code": R.temporary_ban, "next_retry_at": until,
                           "last_disconnected_at": utcnow()}, "temporary_ban",
                          {"reason": reason, "retry_in_seconds": round(wait, 2)})
        self.failures = 0
        return wait

    async def _attempt(self) -> Result:
        """One connection, from start to its end; the gateway is always stopped afterwards."""
        self._retry = False
        self.state = "connecting"
        row = await self._write({"status": "connecting", "engine_id": self.engine.engine_id, "next_retry_at": None,
                                 "pair_code": None, "pair_code_expires_at": None})
        if row is None:
            return Result(Outcome.DISABLED)
        if row.unlink_jid:
            await self._unlink(row.unlink_jid)
        resume = row.whatsapp_id
        if resume and not await self.engine.factory.device_exists(resume):
            # Resuming a device the store no longer has crashes the library: link again instead.
            return Result(Outcome.FINAL, "the linked device is gone from the WhatsApp store; link it again",
                          R.needs_relink)
        gateway = self.engine.factory.create(self.org_id, self._sink_for(None))
        gateway.sink = self._sink_for(gateway)
        self.gateway = gateway
        result = Result(Outcome.FAILED, "not started")
        try:
            await asyncio.wait_for(gateway.start(resume_jid=resume), CONNECT_TIMEOUT)
            if not resume and row.pair_phone:
                self._ask_pair_code(gateway, row.pair_phone)
            result = await self._watch(gateway, pairing=not resume)
            return result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            result = Result(Outcome.FAILED, _reason(exc))
            return result
        finally:
            self.connected = False
            self.gateway = None
            await self._close(gateway, logout=result.outcome is Outcome.STOPPED and self.stop_mode == "logout")
            if self._pair_task is not None:
                self._pair_task.cancel()
                self._pair_task = None

    async def _close(self, gateway: Gateway, logout: bool) -> None:
        try:
            if logout:
                await asyncio.wait_for(gateway.logout(), STOP_TIMEOUT)
                await self._write({"unlink_jid": None}, require_enabled=False)
            else:
                await asyncio.wait_for(gateway.stop(), STOP_TIMEOUT)
        except Exception as exc:
            log.warning("closing the gateway of %s failed: %s", self.org_id, _reason(exc))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(gateway.stop(), STOP_TIMEOUT)

    def _sink_for(self, gateway: Gateway | None):
        def sink(event: GatewayEvent) -> None:
            if isinstance(event, Receipt | Inbound):
                self.engine.gateway_traffic(self.org_id, event)
            elif gateway is not None:
                self._events.put_nowait(_FromGateway(gateway, event))

        return sink

    def _ask_pair_code(self, gateway: Gateway, phone: str) -> None:
        async def ask():
            try:
                result: PairingCode | Exception = await gateway.pair_phone(phone)
            except Exception as exc:
                result = exc
            self._events.put_nowait(_Wake("pair_result", (gateway, phone, result)))
            return result

        if self._pair_task is None or self._pair_task.done():
            self._pair_task = asyncio.create_task(ask(), name=f"pair-code-{self.org_id}")

    async def _pair_failure(self) -> str | None:
        """If a linking code was being asked for, wait briefly for why it failed."""
        if self._pair_task is None:
            return None
        with contextlib.suppress(Exception):
            done, _ = await asyncio.wait({self._pair_task}, timeout=PAIR_RESULT_WAIT)
            if done and isinstance(self._pair_task.result(), Exception):
                return _reason(self._pair_task.result())
        return None

    async def _watch(self, gateway: Gateway, *, pairing: bool) -> Result:
        """Follow the gateway's events, writing each transition, until the connection ends."""
        loop = asyncio.get_running_loop()
        qr_seen = paired = False
        deadline = loop.time() + CONNECT_TIMEOUT
        while True:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                item = await asyncio.wait_for(self._events.get(), timeout)
            except TimeoutError:
                if qr_seen and not paired:
                    return Result(Outcome.FINAL, "the pairing was not completed in time", R.qr_expired)
                if self.state == "reconnecting":
                    return Result(Outcome.FAILED, "WhatsApp did not come back after the connection dropped")
                return Result(Outcome.FAILED, f"no answer from WhatsApp within {int(CONNECT_TIMEOUT)} s")
            if isinstance(item, _Wake):
                result = await self._on_wake(item, gateway, pairing=pairing and not paired)
                if result is not None:
                    return result
                continue
            if item.gateway is not gateway:
                # An old client: only its LoggedOut matters, when it used this same device (whatsmeow deleted it).
                if isinstance(item.event, LoggedOut) and _same_device(item.gateway, gateway):
                    return Result(Outcome.FINAL, item.event.reason, R.logged_out_phone)
                continue
            event = item.event
            if isinstance(event, QRCodes):
                if paired or self.connected:
                    continue  # stale: the phone already paired
                self.state = "qr_pending"
                expires = utcnow() + timedelta(seconds=event.ttl_seconds)
                row = await self._write({"status": "qr_pending", "qr_code": event.codes[0], "qr_expires_at": expires},
                                        None if qr_seen else "qr_generated")
                qr_seen = True
                deadline = loop.time() + event.window_seconds + PAIRING_MARGIN_SECONDS if event.window_seconds else None
                if row is None:
                    return Result(Outcome.DISABLED)
            elif isinstance(event, Paired):
                paired = True
                deadline = loop.time() + CONNECT_TIMEOUT
                await self._write({"whatsapp_id": event.jid, "phone_number": event.phone, "pair_phone": None,
                                   "display_name": event.push_name or None, "pair_code": None,
                                   "pair_code_expires_at": None})
            elif isinstance(event, Connected):
                deadline = None
                await self._on_connected(event)
            elif isinstance(event, Reconnecting):
                self.connected, self.state, self.health_code = False, "reconnecting", None
                deadline = loop.time() + get_settings().reconnect_grace_seconds
                await self._write({"status": "connecting", "connection_error": event.reason,
                                   "connection_error_code": R.reconnecting, "last_disconnected_at": utcnow()},
                                  "session_disconnected", {"reason": event.reason, "reconnecting": True})
            elif isinstance(event, HealthChanged):
                if self.connected:
                    await self._health(event.code, event.reason)
            elif isinstance(event, Disconnected | PairingEnded):
                if qr_seen and not paired and not self.connected:
                    return Result(Outcome.FINAL, getattr(event, "reason", "") or "the QR code expired", R.qr_expired)
                pair_error = await self._pair_failure() if pairing else None
                if pair_error:
                    return Result(Outcome.FAILED, pair_error, R.pair_code_failed)
                return Result(Outcome.FAILED, event.reason or "disconnected")
            elif isinstance(event, LoggedOut):
                return Result(Outcome.FINAL, event.reason, R.logged_out_phone)
            elif isinstance(event, Refused):
                return Result(Outcome.FINAL, event.reason, event.code)
            elif isinstance(event, TemporaryBan):
                return Result(Outcome.BANNED, f"WhatsApp temporarily banned this number ({event.code})",
                              wait=event.expires_seconds)

    async def _on_wake(self, wake: _Wake, gateway: Gateway, *, pairing: bool) -> Result | None:
        if wake.kind == "stop":
            return Result(Outcome.STOPPED, "stopped")
        if wake.kind == "retry" and self.state in ("qr_pending", "reconnecting"):
            return Result(Outcome.RESTART)  # a fresh QR, or a fresh client instead of the library's reconnects
        if wake.kind == "pair":
            row = await asyncio.to_thread(store.load, self.org_id)
            if row is None or not row.pair_phone:
                return None
            if not pairing:
                return Result(Outcome.RESTART)  # the row now wants a new device
            self._ask_pair_code(gateway, row.pair_phone)
        elif wake.kind == "pair_result":
            source, phone, result = wake.value
            if source is gateway:
                await self._pair_result(phone, result)
        elif wake.kind == "health" and self.connected:
            await self._health(*wake.value)
        return None

    async def _pair_result(self, phone: str, result: PairingCode | Exception) -> None:
        if isinstance(result, PairingCode):
            await self._write({"status": "qr_pending", "pair_code": result.code,
                               "pair_code_expires_at": utcnow() + timedelta(seconds=result.expires_in_seconds),
                               "connection_error": None, "connection_error_code": None},
                              "pair_code_generated", {"phone": phone})
        else:
            await self._write({"pair_phone": None, "pair_code": None, "pair_code_expires_at": None,
                               "connection_error": _reason(result), "connection_error_code": R.pair_code_failed},
                              "pair_code_failed", {"reason": _reason(result)})

    async def _health(self, code: str | None, reason: str) -> None:
        """Connected but degraded (or healthy again): the reason goes beside the connected status."""
        if code == self.health_code or (code is None and self.health_code not in DEGRADED_REASONS):
            return
        self.health_code = code
        await self._write({"connection_error": reason or None, "connection_error_code": code},
                          "session_health", {"reason": code or "healthy", "detail": reason})

    async def _on_connected(self, event: Connected) -> None:
        values: dict[str, Any] = {"status": "connected", "last_connected_at": utcnow(), "qr_code": None,
                                  "qr_expires_at": None, "connection_error": None, "connection_error_code": None,
                                  "retry_count": 0, "next_retry_at": None, "pair_code": None,
                                  "pair_code_expires_at": None, "pair_phone": None}
        if event.jid:
            values["whatsapp_id"] = event.jid
        if event.phone:
            values["phone_number"] = event.phone
        if event.push_name:
            values["display_name"] = event.push_name
        self.failures, self.health_code, self._send_failures = 0, None, 0
        row = await self._write(values, "session_connected", {"phone": event.phone or None,
                                                              "engine": self.engine.engine_id})
        if row is not None:
            self.connected = True
            self.state = "connected"

    async def _final(self, result: Result) -> None:
        """Write the end of a session that must not be retried by itself."""
        if result.outcome is Outcome.DISABLED:
            return
        values: dict[str, Any] = {"status": "disconnected", "enabled": False, "qr_code": None,
                                  "qr_expires_at": None, "connection_error": result.reason,
                                  "connection_error_code": result.code, "retry_count": 0, "next_retry_at": None,
                                  "last_disconnected_at": utcnow(), "pair_code": None, "pair_code_expires_at": None,
                                  "pair_phone": None}
        audit = "session_disconnected"
        if result.code in (R.logged_out_phone, R.needs_relink):
            # The device is gone: the next connect pairs a new one (a QR, or a code).
            values.update(whatsapp_id=None, phone_number=None, display_name=None)
            audit = "logged_out" if result.code == R.logged_out_phone else "session_error"
        await self._write(values, audit, {"reason": result.reason, "code": result.code})

    async def _finish_stop(self) -> None:
        """After a user's stop or logout: record that the engine did it (the row was already updated)."""
        if self.stop_mode != "logout":
            return
        row = await asyncio.to_thread(store.load, self.org_id)
        if row is not None and row.unlink_jid:
            await self._unlink(row.unlink_jid)  # the socket was down: unlink it now
        await self._write({"status": "disconnected", "whatsapp_id": None, "enabled": False},
                          "logged_out", {"reason": "logged out by a user"}, require_enabled=False)

    async def _unlink(self, jid: str) -> None:
        """Unlink a device a user logged out while its socket was down; forget it locally if WhatsApp is away."""
        self.state = "unlinking"
        told_whatsapp = await unlink_device(self.engine.factory, self.org_id, jid)
        values: dict[str, Any] = {"unlink_jid": None}
        row = await asyncio.to_thread(store.load, self.org_id)
        if not told_whatsapp and row is not None and not row.enabled:
            values.update(connection_error="WhatsApp could not be reached: the device was removed here only; "
                                           "remove it from the phone's linked devices too",
                          connection_error_code=R.unlinked_offline)
        await asyncio.to_thread(store.clear_unlink, self.org_id, jid, values,
                                audit_data={"reason": "unlinked by a user", "jid": jid,
                                            "whatsapp_confirmed": told_whatsapp})

    async def _write(self, values: dict[str, Any], audit_type: str | None = None,
                     audit_data: dict[str, Any] | None = None, *, require_enabled: bool = True):
        return await asyncio.to_thread(store.transition, self.org_id, values, audit_type=audit_type,
                                       audit_data=audit_data, require_enabled=require_enabled)


def _same_device(old: Gateway, new: Gateway) -> bool:
    jid = getattr(old, "jid", None)
    return bool(jid) and jid == getattr(new, "jid", None)


def _seconds_until(when) -> float | None:
    if when is None:
        return None
    seconds = (when - utcnow()).total_seconds()
    return seconds if seconds > 0 else None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:500]

