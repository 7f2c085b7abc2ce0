"""One connection attempt of a session, from the gateway's start to its end: every event it sends becomes a row
transition (QR, linking code, paired, connected, reconnecting, degraded) until an outcome ends the attempt."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.whatsapp.engine import store as store
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
    PairingNote,
    QRCodes,
    Receipt,
    Reconnecting,
    Refused,
    TemporaryBan,
    reason_of,
)
from fleet_dashboard.whatsapp.models import DEGRADED_REASONS, SessionReason

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
class FromGateway:
    gateway: Gateway
    event: GatewayEvent


@dataclass(frozen=True)
class Wake:
    """A request for the running attempt: stop, retry, a pairing code, or a change in send health."""

    kind: str
    value: Any = None


class AttemptWatch:
    """The attempt half of a Supervisor (supervisor.py): it reads `engine`, `org_id`, `_events` and friends."""

    async def _attempt(self) -> Result:
        """One connection, from start to its end; the gateway is always stopped afterwards."""
        self._retry = False
        self.state = "connecting"
        row = await self._write({"status": "connecting", "engine_id": self.engine_id, "next_retry_at": None,
                                 "pair_code": None, "pair_code_expires_at": None})
        if row is None:
            return Result(Outcome.DISABLED)
        if row.unlink_jid:
            await self._unlink(row.unlink_jid)
        resume = row.whatsapp_id
        if resume and not await self.factory.device_exists(resume):
            # Resuming a device the store no longer has crashes the library: link again instead.
            return Result(Outcome.FINAL, "the linked device is gone from the WhatsApp store; link it again",
                          R.needs_relink)
        gateway = self.factory.create(self.org_id, self._sink_for(None))
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
        except store.LeaseLost:  # another engine holds the organisation now: stop the client, write nothing
            result = Result(Outcome.STOPPED, "lease lost")
            return result
        except Exception as exc:
            result = Result(Outcome.FAILED, reason_of(exc))
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
            log.warning("closing the gateway of %s failed: %s", self.org_id, reason_of(exc))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(gateway.stop(), STOP_TIMEOUT)

    def _sink_for(self, gateway: Gateway | None):
        def sink(event: GatewayEvent) -> None:
            if self.lease_lost and not (self.handing_over and isinstance(event, Receipt | Inbound)):
                return  # a stale engine's client: whatever it says now is not ours to record (a client being
                # handed over still passes on receipts and replies: facts about messages, written idempotently)
            if isinstance(event, Receipt | Inbound):
                self.on_traffic(self.org_id, event)
            elif gateway is not None:
                self._events.put_nowait(FromGateway(gateway, event))

        return sink

    def _ask_pair_code(self, gateway: Gateway, phone: str) -> None:
        async def ask():
            try:
                result: PairingCode | Exception = await gateway.pair_phone(phone)
            except Exception as exc:
                result = exc
            self._events.put_nowait(Wake("pair_result", (gateway, phone, result)))
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
                return reason_of(self._pair_task.result())
        return None

    async def _watch(self, gateway: Gateway, *, pairing: bool) -> Result:
        """Follow the gateway's events, writing each transition, until the connection ends."""
        loop = asyncio.get_running_loop()
        qr_seen = paired = False
        # Between the phone's yes (Paired) and the first Connected: the link is completing, or stuck (a passkey).
        completing, passkey = False, ""
        deadline = loop.time() + CONNECT_TIMEOUT
        while True:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                item = await asyncio.wait_for(self._events.get(), timeout)
            except TimeoutError:
                if completing or passkey:
                    return _incomplete(passkey)
                if qr_seen and not paired:
                    return Result(Outcome.FINAL, "the pairing was not completed in time", R.qr_expired)
                if self.state == "reconnecting":
                    return Result(Outcome.FAILED, "WhatsApp did not come back after the connection dropped")
                return Result(Outcome.FAILED, f"no answer from WhatsApp within {int(CONNECT_TIMEOUT)} s")
            if isinstance(item, Wake):
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
                # The phone accepted: registering follows. Say so (never a silent hang), and explain it if it
                # does not complete (WhatsApp may ask the phone for a passkey the library cannot answer).
                paired = completing = True
                deadline = loop.time() + get_settings().pairing_complete_seconds
                await self._write({"whatsapp_id": event.jid, "phone_number": event.phone, "pair_phone": None,
                                   "display_name": event.push_name or None, "pair_code": None,
                                   "pair_code_expires_at": None, "qr_code": None, "qr_expires_at": None,
                                   "connection_error": None, "connection_error_code": R.pairing_completing})
                await self._store(store.linked, self.org_id, event.phone)
            elif isinstance(event, PairingNote):
                if not self.connected:
                    passkey = event.text
                    await self._write({"connection_error": event.text[:500],
                                       "connection_error_code": R.passkey_requested},
                                      "pairing_note", {"detail": event.text[:500]})
            elif isinstance(event, Connected):
                deadline, completing, passkey = None, False, ""
                await self._on_connected(event)
            elif isinstance(event, Reconnecting):
                self.connected, self.state, self.health_code = False, "reconnecting", None
                if not completing:  # whatsmeow reconnects after a pairing too: that stays on the pairing's clock
                    deadline = loop.time() + get_settings().reconnect_grace_seconds
                await self._write({"status": "connecting", "connection_error": event.reason,
                                   "connection_error_code": R.reconnecting, "last_disconnected_at": utcnow()},
                                  "session_disconnected", {"reason": event.reason, "reconnecting": True})
            elif isinstance(event, HealthChanged):
                if self.connected:
                    await self._health(event.code, event.reason)
            elif isinstance(event, Disconnected | PairingEnded):
                if (completing or passkey) and not self.connected:
                    return _incomplete(passkey)
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

    async def _on_wake(self, wake: Wake, gateway: Gateway, *, pairing: bool) -> Result | None:
        if wake.kind == "stop":
            return Result(Outcome.STOPPED, "stopped")
        if wake.kind == "retry" and self.state in ("qr_pending", "reconnecting"):
            return Result(Outcome.RESTART)  # a fresh QR, or a fresh client instead of the library's reconnects
        if wake.kind == "pair":
            row = await asyncio.to_thread(store.load, self.org_id)
            if row is None or not row.pair_phone or (pairing and self._pair_task is not None):
                return None  # nothing asked, or this attempt already asks
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
                               "connection_error": reason_of(result), "connection_error_code": R.pair_code_failed},
                              "pair_code_failed", {"reason": reason_of(result)})

    async def _health(self, code: str | None, reason: str) -> None:
        """Connected but degraded (or healthy again): the reason goes beside the connected status."""
        if code == self.health_code or (code is None and self.health_code not in DEGRADED_REASONS):
            return
        self.health_code = code
        await self._write({"connection_error": reason or None, "connection_error_code": code},
                          "session_health", {"reason": code or "healthy", "detail": reason})
        if code == R.sends_failing:  # connected but every send fails: stop before WhatsApp counts more of them
            await self._store(store.pause, self.org_id, R.sends_failing.value, reason)

    async def _on_connected(self, event: Connected) -> None:
        values: dict[str, Any] = {"status": "connected", "last_connected_at": utcnow(), "qr_code": None,
                                  "qr_expires_at": None, "connection_error": None, "connection_error_code": None,
                                  "retry_count": 0, "next_retry_at": None, "pair_code": None,
                                  "pair_code_expires_at": None, "pair_phone": None, "start_crashes": 0}
        if event.jid:
            values["whatsapp_id"] = event.jid
        if event.phone:
            values["phone_number"] = event.phone
        if event.push_name:
            values["display_name"] = event.push_name
        self.failures, self.health_code, self._send_failures = 0, None, 0
        row = await self._write(values, "session_connected", {"phone": event.phone or None,
                                                              "engine": self.engine_id})
        if row is not None:
            self.connected = True
            self.state = "connected"


def _incomplete(passkey: str) -> Result:
    """The phone said yes but the link never completed: explained, the session ended (a person links again)."""
    why = "the phone accepted the link, but it never completed"
    if passkey:
        why += f"; WhatsApp asked the phone for a passkey ({passkey[:200]})"
    return Result(Outcome.FINAL, why, R.pairing_incomplete)


def _same_device(old: Gateway, new: Gateway) -> bool:
    jid = getattr(old, "jid", None)
    return bool(jid) and jid == getattr(new, "jid", None)

