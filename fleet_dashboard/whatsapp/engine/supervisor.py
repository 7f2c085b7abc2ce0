"""One organisation's session: connect, pair (QR or phone code), stay up, back off on failure, and end
with a visible reason when only a person can help. The attempt itself is in attempt.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fleet_dashboard.core.backoff import backoff_delay
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.whatsapp.engine import store as store
from fleet_dashboard.whatsapp.engine.attempt import STOP_TIMEOUT, AttemptWatch, FromGateway, Outcome, Result, Wake
from fleet_dashboard.whatsapp.gateway import (
    Connected,
    Disconnected,
    Gateway,
    GatewayEvent,
    GatewayFactory,
    Inbound,
    LoggedOut,
    PairingEnded,
    Receipt,
    Refused,
)
from fleet_dashboard.whatsapp.models import SessionReason

log = logging.getLogger(__name__)
R = SessionReason
__all__ = ["STOP_TIMEOUT", "Outcome", "Supervisor"]


class Supervisor(AttemptWatch):
    """Runs the status machine disconnected -> connecting -> qr_pending -> connected (+ error)."""

    def __init__(self, org_id: uuid.UUID, *, factory: GatewayFactory, engine_id: str,
                 on_exit: Callable[[Supervisor], None],
                 on_traffic: Callable[[uuid.UUID, Receipt | Inbound], None], generation: int | None = None):
        """`on_exit` is told when the supervisor ends (the engine releases the organisation); `on_traffic` gets
        the gateway's receipts and inbound messages (the engine writes them in batches); `generation` is the
        session's lease generation the engine took it over with (None: unfenced, for tests of the machine)."""
        self.org_id = org_id
        self.factory = factory
        self.engine_id = engine_id
        self.fence = store.Fence(engine_id, generation) if generation is not None else None
        # Set once this engine learns it no longer holds the organisation: nothing more is written or passed on.
        self.lease_lost = False
        # Given to another engine on purpose (a recycle): like a lost lease, but receipts and replies still count.
        self.handing_over = False
        self.on_exit = on_exit
        self.on_traffic = on_traffic
        self.gateway: Gateway | None = None
        self.connected = False
        self.state = "starting"
        self.failures = 0
        self.stop_mode: str | None = None  # "stop", "logout" or "shutdown"
        self.health_code: str | None = None
        self._events: asyncio.Queue[FromGateway | Wake] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._retry = False
        self._send_failures = 0
        self._pair_task: asyncio.Task | None = None
        self.task: asyncio.Task | None = None
        # The last person's command (whatsapp_sessions.command_seq) this supervisor has acted on, or
        # the row's number when it started; None until the row is read.
        self.seen_seq: int | None = None

    # Requests from the engine -------------------------------------------------------------------
    def retry(self) -> None:
        """A user asked to try again: skip the backoff, or start a new pairing."""
        self._retry = True
        self._wake.set()
        self._events.put_nowait(Wake("retry"))

    def request_pair(self) -> None:
        """A user asked for a linking code: the row carries the number."""
        self._retry = True
        self._wake.set()
        self._events.put_nowait(Wake("pair"))

    def drop_lease(self) -> None:
        """The organisation is no longer (surely) ours: write nothing more, stop the client, drop its events."""
        if not self.lease_lost:
            log.warning("%s lost the lease of %s: stopping its client, writing nothing more", self.engine_id,
                        self.org_id)
        self.lease_lost, self.connected = True, False
        self.request_stop("lease_lost")

    def request_stop(self, mode: str) -> None:
        """End the session: "stop" keeps the device, "logout" unlinks it, "shutdown" leaves the row."""
        if self.stop_mode is None or mode == "logout" and self.stop_mode != "lease_lost":
            self.stop_mode = mode
        self._events.put_nowait(Wake("stop"))
        self._wake.set()

    def note_send(self, ok: bool) -> None:
        """A send on this socket succeeded or failed: many failures in a row mean "connected but not sending"."""
        self._send_failures = 0 if ok else self._send_failures + 1
        failing = self._send_failures >= get_settings().send_failure_threshold
        if failing and self.health_code != R.sends_failing:
            why = f"{self._send_failures} sends in a row failed on a connected socket"
            self._events.put_nowait(Wake("health", (R.sends_failing.value, why)))
        elif ok and self.health_code == R.sends_failing:
            self._events.put_nowait(Wake("health", (None, "")))

    # The machine --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Supervise until logout, a final reason, stop or disable; the engine then releases the lock."""
        try:
            row = await asyncio.to_thread(store.load, self.org_id)
            if row is None:
                return
            self.seen_seq = max(self.seen_seq or 0, row.command_seq)
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
        except store.LeaseLost:
            self.drop_lease()
        except Exception:
            log.exception("supervisor of %s crashed", self.org_id)
        finally:
            self.connected = False
            self.state = "stopped"
            self.on_exit(self)

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
        # Sending pauses until the ban ends (then half pace for a day); the queue waits, nothing fails.
        await self._store(store.pause, self.org_id, R.temporary_ban.value, reason, until)
        self.failures = 0
        return wait

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
        if result.code in (R.logged_out_phone, R.needs_relink, R.pairing_incomplete):
            # The device is gone (or never finished linking): the next connect pairs a new one (a QR, or a code).
            values.update(whatsapp_id=None, phone_number=None, display_name=None)
            audit = "logged_out" if result.code == R.logged_out_phone else "session_error"
        await self._write(values, audit, {"reason": result.reason, "code": result.code})
        if result.code in (R.logged_out_phone, R.needs_relink):  # the number cannot send until linked again
            await self._store(store.pause, self.org_id, result.code, result.reason)

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
        told_whatsapp = await unlink_device(self.factory, self.org_id, jid)
        values: dict[str, Any] = {"unlink_jid": None}
        row = await asyncio.to_thread(store.load, self.org_id)
        if not told_whatsapp and row is not None and not row.enabled:
            values.update(connection_error="WhatsApp could not be reached: the device was removed here only; "
                                           "remove it from the phone's linked devices too",
                          connection_error_code=R.unlinked_offline)
        await self._store(store.clear_unlink, self.org_id, jid, values,
                          audit_data={"reason": "unlinked by a user", "jid": jid,
                                            "whatsapp_confirmed": told_whatsapp})

    async def _write(self, values: dict[str, Any], audit_type: str | None = None,
                     audit_data: dict[str, Any] | None = None, *, require_enabled: bool = True):
        return await self._store(store.transition, self.org_id, values, audit_type=audit_type,
                                 audit_data=audit_data, require_enabled=require_enabled)

    async def _store(self, write, *args, **kwargs):
        """Every write about the session goes through here: fenced by the lease this engine took it with; once
        the lease is lost, nothing is written (LeaseLost, which ends the attempt and the supervisor)."""
        if self.lease_lost:
            raise store.LeaseLost(f"{self.engine_id} gave up {self.org_id}")
        try:
            return await asyncio.to_thread(write, *args, fence=self.fence, **kwargs)
        except store.LeaseLost:
            self.drop_lease()
            raise


def _seconds_until(when) -> float | None:
    if when is None:
        return None
    seconds = (when - utcnow()).total_seconds()
    return seconds if seconds > 0 else None


# Unlinking a device whose socket is down: through WhatsApp when it answers in time, else from the store only.
UNLINK_CONNECT_SECONDS = 15.0
UNLINK_STOP_SECONDS = 10.0


async def unlink_device(factory: GatewayFactory, org_id: uuid.UUID, jid: str) -> bool:
    """True when WhatsApp itself was told (or had already dropped the device); False when only our store forgot it.

    Without this a logout while disconnected left the device listed on the phone and its keys in the store."""
    if not await factory.device_exists(jid):
        return True  # whatsmeow deletes a device itself once WhatsApp logs it out
    connected, gone = asyncio.Event(), asyncio.Event()

    def sink(event: GatewayEvent) -> None:
        if isinstance(event, Connected):
            connected.set()
        elif isinstance(event, LoggedOut):
            gone.set()
            connected.set()
        elif isinstance(event, Disconnected | Refused | PairingEnded):
            gone.set()

    gateway = factory.create(org_id, sink)
    told = False
    try:
        await asyncio.wait_for(gateway.start(resume_jid=jid), UNLINK_CONNECT_SECONDS)
        waiters = [asyncio.ensure_future(connected.wait()), asyncio.ensure_future(gone.wait())]
        await asyncio.wait(waiters, timeout=UNLINK_CONNECT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if connected.is_set() and not gone.is_set():
            await gateway.logout()
            told = True
        elif gone.is_set() and connected.is_set():
            told = True  # WhatsApp logged it out already
    except Exception as exc:
        log.warning("could not unlink %s's device through WhatsApp: %s", org_id, exc)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(gateway.stop(), UNLINK_STOP_SECONDS)
    if not told:
        await factory.forget_device(jid)
    return told
