"""A simulated WhatsApp behind the Gateway interface, driven by commands that travel over the event bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fleet_dashboard.core.events import EventType, get_bus, is_resumed
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.whatsapp import simulator_commands
from fleet_dashboard.whatsapp.engine import library_errors, sim_log
from fleet_dashboard.whatsapp.engine.sim_log import SentLog
from fleet_dashboard.whatsapp.gateway import (
    Connected,
    Disconnected,
    EventSink,
    Gateway,
    GatewayError,
    GatewayFactory,
    Inbound,
    LoggedOut,
    LookUp,
    OutgoingFile,
    Paired,
    PairingCode,
    QRCodes,
    Receipt,
    Refused,
    SendFailed,
    SendUnknown,
    TemporaryBan,
)
from fleet_dashboard.whatsapp.models import SessionReason, SimulatedKind

log = logging.getLogger(__name__)
ACTIONS = ("scan", "confirm-code", "receipt", "drop", "logout", "inbound", "fail-sends", "fail-connects",
           "unknown-sends", "unregistered", "ban")
# whatsmeow's linking-code alphabet (no 0, O, I, U), and how long a code is good for there.
PAIR_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
PAIR_CODE_SECONDS = 160.0
REPLACED_REASON = "another WhatsApp Web client took over this device's connection"
# How often an engine looks for simulator commands whose event it may have missed.
SWEEP_SECONDS = 1.0


def refusal(text: str) -> Exception:
    """What the real adapter raises for this text of the library (the one table says what it means)."""
    return library_errors.send_error(text)


def normalize_code(code: str) -> str:
    """A linking code as typed: case, spaces and the dash do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def jid_for(phone: str) -> str:
    """The device jid a simulated account gets for a number."""
    return f"{phone.lstrip('+')}:1@s.whatsapp.net"


def phone_of(jid: str) -> str:
    """The E.164 number in a jid."""
    return "+" + jid.split("@", 1)[0].split(":", 1)[0]


@dataclass
class OrgFaults:
    """Faults injected for one organisation; they outlive a single connection."""

    fail_sends: int = 0
    fail_connects: int = 0
    # Sends the network takes but whose answer is lost: the library reports "websocket not connected" after the
    # write (library_errors: maybe sent), and the receipt still comes.
    unknown_sends: int = 0
    # The code WhatsApp's answer carries for the failing sends (e.g. 463, a restricted number); None: a plain failure.
    fail_code: int | None = None
    # Numbers that are not on WhatsApp.
    unregistered: set[str] = field(default_factory=set)


class SimulatorGateway(Gateway):
    """One simulated connection: QR rotation, pairing on scan, sends logged to the database."""

    def __init__(self, org_id: uuid.UUID, sink: EventSink, factory: SimulatorFactory):
        super().__init__(org_id, sink)
        self.factory = factory
        self.jid: str | None = None
        self.connected = False
        self._qr_task: asyncio.Task | None = None
        self._pending_receipts: list[tuple[str, str]] = []  # (message id, recipient)
        self._receipt_timer: asyncio.TimerHandle | None = None
        self._pairing: tuple[str, str] | None = None  # (code, phone) of a linking-code request
        # This connection's socket at the simulated server, which keeps one socket per device.
        self.socket_id = secrets.token_hex(8)
        self.replaced = False
        # Set once the server has this socket as the device's: only a socket the server took can be replaced (a
        # client still connecting is not told StreamReplaced for the socket it is about to take over).
        self.claimed = False

    @property
    def faults(self) -> OrgFaults:
        return self.factory.faults.setdefault(self.org_id, OrgFaults())

    async def start(self, *, resume_jid: str | None) -> None:
        self.factory.live[self.org_id] = self
        # The simulated library's start (where the real one writes its maps): nothing else runs meanwhile.
        self.factory.entering(self.org_id)
        if str(self.org_id) in get_settings().simulator_abort_on_start.split(","):
            log.critical("simulated library abort in the start of %s", self.org_id)
            os.abort()  # what a Go fatal error does to the process: no clean-up, no goodbye
        self.factory.left(self.org_id)
        if self.faults.fail_connects > 0:
            self.faults.fail_connects -= 1
            raise GatewayError("simulated connection failure")
        if resume_jid:
            self.jid = resume_jid
            await self._claim()
            asyncio.get_running_loop().call_soon(self._connect)
        else:
            self._qr_task = asyncio.create_task(self._rotate_qr())

    @property
    def device(self) -> str:
        """The device's key at the simulated server."""
        return f"{self.org_id}/{self.jid}"

    async def _claim(self) -> None:
        """Connect this socket for the device: the server replaces any socket it had before."""
        await asyncio.to_thread(sim_log.claim_device, self.device, self.socket_id, self.factory.engine_id)
        self.claimed = True

    def _connect(self) -> None:
        if self.replaced:
            return
        self.connected = True
        self.sink(Connected(jid=self.jid or "", phone=phone_of(self.jid or "")))

    def stream_replaced(self) -> None:
        """The server closed this socket because another client connected with the same device."""
        if self.replaced:
            return
        self.replaced, self.connected = True, False
        self._cancel_qr()
        self.sink(Refused(code=SessionReason.stream_replaced, reason=REPLACED_REASON))

    async def _rotate_qr(self) -> None:
        ttl = get_settings().simulator_qr_rotate_seconds
        while True:
            code = f"2@{secrets.token_urlsafe(24)},{secrets.token_urlsafe(16)},SIM{self.org_id.hex[:8]}"
            self.sink(QRCodes(codes=(code,), ttl_seconds=ttl))
            await asyncio.sleep(ttl)

    def _cancel_qr(self) -> None:
        if self._qr_task is not None:
            self._qr_task.cancel()
            self._qr_task = None

    async def stop(self) -> None:
        self._cancel_qr()
        was_up, self.connected = self.connected, False
        if self._receipt_timer is not None:
            self._receipt_timer.cancel()
        if was_up and self.jid and not self.replaced:
            with contextlib.suppress(Exception):  # the server notices a closed socket by itself, too
                await asyncio.to_thread(sim_log.release_device, self.device, self.socket_id)
        if self.factory.live.get(self.org_id) is self:
            del self.factory.live[self.org_id]

    async def logout(self) -> None:
        await self.stop()
        self.jid = None

    async def send_text(self, phone: str, text: str, *, to: str | None = None) -> str:
        return await self._accept(phone, text)

    async def send_file(self, phone: str, file: OutgoingFile, *, to: str | None = None) -> str:
        return await self._accept(phone, file.caption, file=file)

    async def _accept(self, phone: str, text: str, *, file: OutgoingFile | None = None) -> str:
        if not self.connected:
            raise SendFailed("not connected")
        if self.faults.fail_sends > 0:
            self.faults.fail_sends -= 1
            if self.faults.fail_code is not None:  # WhatsApp's answer carries a code: the library's own text
                raise refusal(f"server returned error {self.faults.fail_code}")
            raise SendFailed("simulated send failure")
        wamid = "3EB0" + secrets.token_hex(9).upper()  # whatsmeow's own form: 3EB0 and 18 hex digits
        # Acknowledge only once the network's log row is durable.
        await self.factory.sent_log.write(self.org_id, wamid, phone, text, file=file,
                                          socket=(self.device, self.socket_id))
        self._pending_receipts.append((wamid, phone))
        if self._receipt_timer is None:
            delay = get_settings().simulator_receipt_delay_seconds
            self._receipt_timer = asyncio.get_running_loop().call_later(delay, self._flush_receipts)
        if self.faults.unknown_sends > 0:
            self.faults.unknown_sends -= 1
            raise SendUnknown("websocket not connected")  # what whatsmeow's retryFrame says after the write
        return wamid

    def _flush_receipts(self) -> None:
        # One receipt event per chat and delay window, as WhatsApp batches the ids of a chat in one receipt.
        pending, self._pending_receipts, self._receipt_timer = self._pending_receipts, [], None
        if not pending or not self.connected:
            return
        by_chat: dict[str, list[str]] = {}
        for wamid, phone in pending:
            by_chat.setdefault(phone, []).append(wamid)
        for phone, ids in by_chat.items():
            self.sink(Receipt(message_ids=tuple(ids), kind="delivered", chat=phone))

    async def is_on_whatsapp(self, phone: str) -> bool:
        return (await self.look_up([phone]))[phone].on_whatsapp

    async def look_up(self, phones: list[str]) -> dict[str, LookUp]:
        if not self.connected:
            raise GatewayError("not connected")
        answers = {p: LookUp(p, p not in self.faults.unregistered, jid_for(p).replace(":1", "")) for p in phones}
        for phone, answer in answers.items():  # the network's log shows every number asked about
            await self.factory.sent_log.write(self.org_id, "LOOKUP" + secrets.token_hex(10).upper(), phone,
                                              "on_whatsapp" if answer.on_whatsapp else "not_on_whatsapp",
                                              kind=SimulatedKind.lookup)
        return answers

    async def send_presence(self, phone: str, state: str, *, to: str | None = None) -> None:
        if not self.connected:
            raise GatewayError("not connected")
        await self.factory.sent_log.write(self.org_id, "PRESENCE" + secrets.token_hex(10).upper(), phone, state,
                                          kind=SimulatedKind.presence)

    async def pair_phone(self, phone: str) -> PairingCode:
        if self._qr_task is None:
            raise GatewayError("this session is not pairing")
        raw = "".join(secrets.choice(PAIR_ALPHABET) for _ in range(8))
        code = f"{raw[:4]}-{raw[4:]}"
        self._pairing = (code, phone)
        return PairingCode(code=code, expires_in_seconds=PAIR_CODE_SECONDS)

    def _pair(self, phone: str, name: str, *, completes: bool = True) -> None:
        self._cancel_qr()
        self._pairing = None
        self.jid = jid_for(phone)
        self.sink(Paired(jid=self.jid, phone=phone, push_name=name))
        if completes:  # else the phone accepted, but the link never completes (a passkey step nobody finished)
            task = asyncio.get_running_loop().create_task(self._claim_and_connect())
            self.factory.tasks.add(task)
            task.add_done_callback(self.factory.tasks.discard)

    async def _claim_and_connect(self) -> None:
        try:
            await self._claim()
        except Exception as exc:
            log.warning("the simulated server could not take the new device's socket: %s", exc)
            self.sink(Disconnected(reason="simulated connection failure"))
            return
        self._connect()

    def command(self, action: str, body: dict[str, Any]) -> str | None:
        """Apply a control command to this live connection; returns an error text or None."""
        if action == "scan":
            if self._qr_task is None:
                return "this session is not waiting for a QR scan"
            self._pair(body["phone"], body.get("name") or "", completes=not body.get("passkey"))
            return None
        if action == "confirm-code":
            # The person types the code on the phone whose number was given.
            if self._qr_task is None or self._pairing is None:
                return "no linking code was requested for this session"
            code, phone = self._pairing
            if normalize_code(body.get("code", "")) != normalize_code(code):
                return "this is not the linking code the session showed"
            self._pair(phone, body.get("name") or "")
            return None
        if not self.connected:
            return "this session is not connected"
        if action == "receipt":
            self.sink(Receipt(message_ids=(body["whatsapp_message_id"],), kind=body["type"],
                              chat=body.get("from") or ""))
        elif action == "inbound":
            self.sink(Inbound(sender=body["from"], text=body["text"],
                              message_id="SIMIN" + secrets.token_hex(8).upper()))
        elif action == "drop":
            self.connected = False
            self.sink(Disconnected(reason="simulated connection drop"))
        elif action == "logout":
            self.connected = False
            self.jid = None
            self.sink(LoggedOut(reason="logged out from the phone"))
        elif action == "ban":  # WhatsApp bans the number for a while: the socket closes with the ban's length
            self.connected = False
            self.sink(TemporaryBan(code="SIMULATED", expires_seconds=float(body.get("seconds", 0))))
        return None


class SimulatorFactory(GatewayFactory):
    """Simulated gateways of this process, their injected faults, and the command listener."""

    name = "simulator"

    def __init__(self) -> None:
        self.live: dict[uuid.UUID, SimulatorGateway] = {}
        self.faults: dict[uuid.UUID, OrgFaults] = {}
        self.owned: set[uuid.UUID] = set()
        self.sent_log = SentLog()
        self.engine_id = f"{socket.gethostname()}:{os.getpid()}"
        self.tasks: set[asyncio.Task] = set()

    def create(self, org_id: uuid.UUID, sink: EventSink) -> SimulatorGateway:
        self.owned.add(org_id)
        return SimulatorGateway(org_id, sink, self)

    def release(self, org_id: uuid.UUID) -> None:
        self.owned.discard(org_id)
        self.faults.pop(org_id, None)
        self.live.pop(org_id, None)

    def apply(self, org_id: uuid.UUID, action: str, body: dict[str, Any]) -> str | None:
        """Apply a command if this process owns the organisation; returns an error, or None when done."""
        if action in ("fail-sends", "fail-connects", "unknown-sends"):
            faults = self.faults.setdefault(org_id, OrgFaults())
            setattr(faults, action.replace("-", "_"), int(body.get("count", 0)))
            if action == "fail-sends":
                faults.fail_code = body.get("code")
            return None
        if action == "unregistered":
            self.faults.setdefault(org_id, OrgFaults()).unregistered = set(body.get("phones") or [])
            return None
        gateway = self.live.get(org_id)
        if gateway is None:
            return "this session is not running"
        return gateway.command(action, body)

    async def run(self) -> None:
        """Serve simulator commands for the organisations this process owns, and answer them.

        The event says a command is waiting; the row is the command (whatsapp/simulator_commands.py). Rows are
        looked for every second too, and at once when the bus resumed, so a lost event delays a command by
        at most that."""
        self._sweep_now = asyncio.Event()
        sweeper = asyncio.create_task(self._sweep_loop(), name="simulator-commands")
        try:
            async with get_bus().subscribe(types={EventType.simulator_command.value}) as commands:
                async for cmd in commands:
                    if is_resumed(cmd):
                        self._sweep_now.set()
                        continue
                    with contextlib.suppress(KeyError, ValueError):
                        if uuid.UUID(cmd["org_id"]) in self.owned and cmd.get("request_id"):
                            await self._serve(str(cmd["request_id"]))
        finally:
            sweeper.cancel()

    async def _serve(self, command_id: str) -> None:
        try:
            taken = await asyncio.to_thread(simulator_commands.take, command_id, list(self.owned))
        except Exception as exc:  # the database is away: the sweep finds the row once it is back
            log.warning("could not take a simulator command: %s", exc)
            self._sweep_now.set()
            return
        if taken is None:
            return
        org_id, action, body = taken
        try:
            error = self.apply(org_id, action, body)
        except Exception as exc:  # a bad command must not stop the listener
            log.exception("simulator command failed")
            error = f"command failed: {exc}"
        for attempt in range(20):
            try:
                await asyncio.to_thread(simulator_commands.answer, command_id, org_id, error)
                return
            except Exception as exc:
                log.warning("could not answer a simulator command (%s); trying again", exc)
                await asyncio.sleep(min(2.0, 0.2 * 2 ** attempt))

    async def _sweep_loop(self) -> None:
        last_purge = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_now.wait(), SWEEP_SECONDS)
            self._sweep_now.clear()
            try:
                await self.check_sockets()
                for command_id in await asyncio.to_thread(simulator_commands.open_for, list(self.owned)):
                    await self._serve(command_id)
                if time.monotonic() - last_purge > 60:
                    last_purge = time.monotonic()
                    await asyncio.to_thread(simulator_commands.purge)
            except Exception as exc:
                log.info("simulator command sweep failed (%s); trying again", exc)

    async def check_sockets(self) -> None:
        """Tell each live connection whose device another client connected with since: StreamReplaced, as the
        server sends it (an engine frozen meanwhile reads it on its first sweep after it wakes)."""
        # Listed before the read: a socket claimed by then is in what the read sees, so only a later claim counts.
        live = [g for g in self.live.values() if g.jid and g.claimed and not g.replaced]
        if not live:
            return
        owners = await asyncio.to_thread(sim_log.socket_owners, [g.device for g in live])
        for gateway in live:
            owner = owners.get(gateway.device)
            if owner is not None and owner != gateway.socket_id:
                gateway.stream_replaced()

    async def close(self) -> None:
        await self.sent_log.close()
