"""The per-process engine: owns organisations by advisory lock and runs one supervisor for each."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import socket
import time
import uuid

from sqlalchemy import tuple_, update

from fleet_dashboard.core.db import database_url, libpq_url, session_scope
from fleet_dashboard.core.errors import NotConnected
from fleet_dashboard.core.events import EventType, get_bus, is_resumed
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.notifications import throttle
from fleet_dashboard.whatsapp import engines
from fleet_dashboard.whatsapp.engine import store as store
from fleet_dashboard.whatsapp.engine.leases import Leases
from fleet_dashboard.whatsapp.engine.supervisor import STOP_TIMEOUT, Supervisor
from fleet_dashboard.whatsapp.gateway import (
    COMPOSING,
    PAUSED,
    GatewayFactory,
    Inbound,
    LookUp,
    OutgoingFile,
    Receipt,
    SendFailed,
    SendRefused,
    SendUnknown,
)
from fleet_dashboard.whatsapp.models import WhatsAppSession

log = logging.getLogger(__name__)
# A send held (never tried) because WhatsApp restricted the number while it waited in line behind another.
HELD_AFTER_RESTRICTION = "held, not sent: WhatsApp restricted this number while the message waited its turn"
# How long a recycling engine waits for another to take an organisation over before it lets it go anyway.
HANDOVER_SECONDS = 30.0
# How often an engine maps the senders its organisations keep under a LID to their numbers.
LID_MAP_SECONDS = 30.0


def _candidates(org_id: uuid.UUID | None = None) -> set[uuid.UUID]:
    with session_scope() as session:
        return set(engines.engine_candidates(session=session, org_id=org_id))


def _mark_stopped(engine_id: str, generations: dict[uuid.UUID, int]) -> None:
    """On shutdown: say the sockets are down; enabled stays, so the next owner resumes them. Only the rows this
    engine still holds, at the generation it took them with (another may have taken one over since)."""
    with session_scope() as session:
        session.execute(update(WhatsAppSession)
                        .where(tuple_(WhatsAppSession.org_id, WhatsAppSession.lease_generation).in_(
                                   list(generations.items())),
                               WhatsAppSession.engine_id == engine_id,
                               WhatsAppSession.status.in_(("connected", "connecting", "qr_pending")))
                        .values(status="disconnected", connection_error="engine stopped",
                                connection_error_code="engine_stopped", qr_code=None,
                                qr_expires_at=None, pair_code=None, pair_code_expires_at=None))


class Engine:
    """Use `owned_org_ids`, `is_connected`, `send_text` and `send_file`; everything else is the engine's business."""

    def __init__(self, factory: GatewayFactory, *, reconcile_seconds: float | None = None,
                 engine_id: str | None = None, capacity: int | None = None):
        self.factory = factory
        # Free organisations are looked for at least five times per lease: a dead engine's move in time.
        self.lease_seconds = get_settings().engine_lease_seconds
        self.reconcile_seconds = reconcile_seconds or min(2.0, self.lease_seconds / 5)
        self.engine_id = engine_id or f"{socket.gethostname()}:{os.getpid()}"
        # At most this many organisations (a shard): one abort of the library takes down no more.
        self.capacity = capacity or get_settings().engine_shard_size
        # Set when too many library threads are stuck: the process should exit and be started afresh.
        self.recycle = asyncio.Event()
        self.leases: Leases | None = None
        self._sups: dict[uuid.UUID, Supervisor] = {}
        self._own_lock = asyncio.Lock()
        self.traffic = store.TrafficWriter()
        self._tasks: list[asyncio.Task] = []
        self._listening = asyncio.Event()
        # Set to reconcile at once rather than at the next tick (the bus resumed: commands may be lost).
        self._reconcile_now = asyncio.Event()
        self.running = False
        self._lids_mapped_at = float("-inf")
        # Set when the engine recycles: it takes nothing new and hands its organisations over first.
        self.draining = False
        self._sending: collections.Counter[uuid.UUID] = collections.Counter()  # sends inside the gateway now
        # Each organisation's last booked send: resolved once it is handed to the gateway (or never will be).
        self._turns: dict[uuid.UUID, asyncio.Future] = {}

    # The contract -------------------------------------------------------------------------------
    def owned_org_ids(self) -> set[uuid.UUID]:
        """Organisations whose socket this process owns right now."""
        return set(self._sups)

    def is_connected(self, org_id: uuid.UUID) -> bool:
        """True when this process owns the organisation and its socket is up."""
        sup = self._sups.get(org_id)
        return sup is not None and sup.connected

    def supervisor(self, org_id: uuid.UUID) -> Supervisor | None:
        """The organisation's supervisor in this process, if any (status pages and tests)."""
        return self._sups.get(org_id)

    async def send_text(self, org_id: uuid.UUID, phone: str, text: str, *, to: str | None = None,
                        typing: bool = False, restricted: set[uuid.UUID] | None = None) -> str:
        """Send through the organisation's socket, paced by the throttle; returns WhatsApp's id.

        `to`: the address a look-up gave for the number; `typing`: show "typing..." first, inside the pacing;
        `restricted`: the organisations WhatsApp restricted during the caller's wave (see `_send`)."""
        return await self._send(org_id, lambda gateway: gateway.send_text(phone, text, to=to),
                                presence=(phone, to, len(text)) if typing else None, restricted=restricted)

    async def send_file(self, org_id: uuid.UUID, phone: str, file: OutgoingFile, *, to: str | None = None,
                        typing: bool = False, restricted: set[uuid.UUID] | None = None) -> str:
        """Send a document or an image the same way: throttled, counted, and with the same outcomes."""
        return await self._send(org_id, lambda gateway: gateway.send_file(phone, file, to=to),
                                presence=(phone, to, len(file.caption)) if typing else None, restricted=restricted)

    async def look_up(self, org_id: uuid.UUID, phones: list[str]) -> dict[str, LookUp]:
        """Ask WhatsApp whether these numbers are on it, in one call paced like a send (bulk look-ups get
        numbers banned); raises when it could not be asked."""
        self._gateway_of(org_id)
        await throttle.get_throttle().acquire(org_id)
        return await self._gateway_of(org_id).look_up(phones)

    def _gateway_of(self, org_id: uuid.UUID):
        sup = self._sups.get(org_id)
        if sup is None or not sup.connected or sup.gateway is None:
            raise NotConnected("WhatsApp is not connected for this organisation")
        return sup.gateway

    async def _type(self, org_id: uuid.UUID, presence: tuple[str, str | None, int] | None) -> None:
        """Wait for the organisation's slot; with presence, show "typing..." for the end of that wait, then stop."""

        pacing = throttle.get_throttle()
        if presence is None:
            await pacing.acquire(org_id)
            return
        phone, to, length = presence
        lead = throttle.typing_seconds(length)
        wait = pacing.reserve(org_id, lead=lead)
        if wait > lead:
            await asyncio.sleep(wait - lead)
        await self._presence(org_id, phone, to, COMPOSING)
        await asyncio.sleep(lead)
        await self._presence(org_id, phone, to, PAUSED)

    async def _presence(self, org_id: uuid.UUID, phone: str, to: str | None, state: str) -> None:
        try:
            await self._gateway_of(org_id).send_presence(phone, state, to=to)
        except NotConnected:
            raise
        except Exception as exc:  # a presence that did not go changes nothing about the message
            log.info("presence %s for %s not sent: %s", state, org_id, exc)

    async def _send(self, org_id: uuid.UUID, call, presence: tuple[str, str | None, int] | None = None,
                    restricted: set[uuid.UUID] | None = None) -> str:
        """`restricted`: shared by the sends of one wave. A refusal that restricts the number adds the
        organisation to it, and its sends still in line are held (refused without a try, to wait in the pause)."""
        sup = self._sups.get(org_id)
        if sup is None or not sup.connected or sup.gateway is None:
            raise NotConnected("WhatsApp is not connected for this organisation")
        # Sends of one organisation reach the gateway in booking (call) order: the waits before them (typing
        # presence, a file's load, a busy loop) may end in any order, and one recipient must read them in order.
        before, mine = self._turns.get(org_id), asyncio.get_running_loop().create_future()
        self._turns[org_id] = mine
        try:
            await self._type(org_id, presence)
            if before is not None and not before.done():
                await asyncio.wait((before,))  # not `await before`: a cancelled send must not cancel its elder
            return await self._send_now(sup, org_id, call, restricted, mine)
        finally:
            if not mine.done():  # left before its turn (timed out, refused): the next still waits for the elder
                if before is None or before.done():
                    mine.set_result(None)
                else:
                    before.add_done_callback(lambda _: mine.done() or mine.set_result(None))
            if self._turns.get(org_id) is mine:
                del self._turns[org_id]

    async def _send_now(self, sup: Supervisor, org_id: uuid.UUID, call, restricted: set[uuid.UUID] | None,
                        turn: asyncio.Future) -> str:
        gateway = sup.gateway
        if gateway is None or not sup.connected:  # dropped while we waited for our slot
            raise NotConnected("WhatsApp is not connected for this organisation")
        if restricted is not None and org_id in restricted:
            raise SendRefused(HELD_AFTER_RESTRICTION, code="restricted", pause=True)
        self._sending[org_id] += 1
        try:
            sending = call(gateway)
            turn.set_result(None)  # the next send resumes only after this one has run up to its first wait
            wid = await sending
        except (SendFailed, SendUnknown):
            if sup.connected:
                sup.note_send(False)
            raise
        except SendRefused as exc:
            if exc.pause and restricted is not None:
                restricted.add(org_id)
            raise
        finally:
            self._sending[org_id] -= 1
            if not self._sending[org_id]:
                del self._sending[org_id]
        sup.note_send(True)
        return wid

    # Life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Take the lease connection, listen for commands, and pick up every enabled session."""
        self.leases = Leases(libpq_url(database_url()), name=f"fleet-engine {self.engine_id}",
                             lease_seconds=self.lease_seconds)
        await self.leases.open()
        self.running = True
        self._tasks = [asyncio.create_task(self._command_loop(), name="engine-commands"),
                       asyncio.create_task(self.leases.keep_alive(), name="engine-lease"),
                       asyncio.create_task(self.traffic.run(), name="engine-traffic"),
                       asyncio.create_task(self._guard(self.factory.run()), name="gateway-factory")]
        await asyncio.wait_for(self._listening.wait(), 15)
        await self.reconcile()
        self._tasks.append(asyncio.create_task(self._reconcile_loop(), name="engine-reconcile"))

    async def stop(self) -> None:
        """Close every socket, mark the rows, release the locks; bounded in time."""
        if not self.running:
            return
        self.running = False
        for task in self._tasks:
            if task.get_name() in ("engine-reconcile", "engine-commands"):
                task.cancel()
        async with self._own_lock:
            sups = list(self._sups.values())
            for sup in sups:
                sup.request_stop("shutdown")
        tasks = [s.task for s in sups if s.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT + 5)
            for task in pending:
                task.cancel()
        owned = {s.org_id: s.fence.generation for s in sups if s.fence is not None and not s.lease_lost}
        # Without the lease connection nothing is surely ours any more: no row is touched.
        if owned and self.leases is not None and await self.leases.alive():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(_mark_stopped, self.engine_id, owned)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(_engine_stopped, self.engine_id)
        await self.traffic.drained()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._sups.clear()
        if self.leases is not None:
            await self.leases.close()
        await self.factory.close()

    async def _guard(self, coro) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("gateway factory background work stopped")

    # Ownership ----------------------------------------------------------------------------------
    async def reconcile(self) -> None:
        """Own every enabled organisation nobody else owns; stop the ones no longer enabled."""
        assert self.leases is not None
        if not await self.leases.alive():
            log.error("the lease connection was lost: dropping every session before re-taking locks")
            await self._drop_all()
            await self.leases.open()
        wanted = await asyncio.to_thread(_candidates)
        async with self._own_lock:
            for org_id, sup in list(self._sups.items()):
                if org_id not in wanted and sup.stop_mode is None and sup.state != "unlinking":
                    if await asyncio.to_thread(_candidates, org_id):
                        continue  # wanted again since we read the list
                    row = await asyncio.to_thread(store.load, org_id)
                    # A cleared device id is how a logout request is recorded.
                    sup.request_stop("logout" if row is None or not row.whatsapp_id else "stop")
            free = list(wanted - set(self._sups))
            random.shuffle(free)  # engines that start together spread the organisations between them
            room = 0 if self.draining else max(0, self.capacity - len(self._sups))
            # Up to `room` among those no engine holds: the wanted list includes every other engine's.
            won = await self.leases.take(free, self.engine_id, limit=room)
            for org_id, generation in won.items():
                self._start_supervisor(org_id, generation)
        await self._replay_missed_commands()
        await self._heartbeat()
        await self._map_lids()
        if self.factory.stuck_threads() >= get_settings().engine_max_stuck_threads and not self.draining:
            log.warning("%d library threads are stuck; this engine hands its organisations over, then restarts",
                        self.factory.stuck_threads())
            self.draining = True
            self._tasks.append(asyncio.create_task(self._drain_then_recycle(), name="engine-drain"))

    async def _drain_then_recycle(self) -> None:
        """Recycle without dropping connected tenants: take nothing new, hand each organisation over to another
        engine (make before break), then let the process exit (`recycle`) and start afresh."""
        try:
            for sup in list(self._sups.values()):
                if self._sups.get(sup.org_id) is sup and sup.stop_mode is None:
                    await self._hand_over(sup)
        except Exception:
            log.exception("handing the organisations over failed; restarting anyway")
        self.recycle.set()

    async def _hand_over(self, sup: Supervisor) -> None:
        """One organisation, at a quiet moment: no new send starts on it, the sends under way end, then its lock
        is released while its socket stays up; the engine that takes it over connects with the device (the
        server then closes ours: StreamReplaced), and only then is our client stopped. It writes nothing from
        the release on (its lease is given up), so the new owner's rows are never touched."""
        org_id = sup.org_id
        was_connected, sup.connected = sup.connected, False  # the worker sends nothing more through this engine
        deadline = time.monotonic() + HANDOVER_SECONDS
        while self._sending[org_id] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        # From here on: no write, and its client's events dropped but receipts and replies.
        sup.lease_lost = sup.handing_over = True
        generation = sup.fence.generation if sup.fence is not None else None
        async with self._own_lock:
            if self.leases is not None:
                await self.leases.release(org_id)
        if was_connected and generation is not None:
            while time.monotonic() < deadline:
                row = await asyncio.to_thread(store.load, org_id)
                if row is None or row.lease_generation > generation and row.status == "connected":
                    break  # the new owner is connected (or nobody wants it any more)
                await asyncio.sleep(0.2)
        sup.request_stop("lease_lost")
        if sup.task is not None:
            await asyncio.wait({sup.task}, timeout=STOP_TIMEOUT + 5)

    async def _replay_missed_commands(self) -> None:
        """Act on people's commands that the rows record but whose `session.command` event never came.

        Stop and logout show in the row as a disabled session (the loop above stops those); a connect, retry
        or linking-code request for a running supervisor is only in `command` / `command_seq`."""
        sups = {o: s for o, s in self._sups.items() if s.seen_seq is not None and s.stop_mode is None}
        if not sups:
            return
        for org_id, (action, seq) in (await asyncio.to_thread(store.commands, list(sups))).items():
            sup = sups[org_id]
            if action and sup.seen_seq is not None and seq > sup.seen_seq:
                log.warning("acting on a %s request for %s whose event was lost", action, org_id)
                await self.handle_command(org_id, action, seq)

    async def _map_lids(self) -> None:
        """Now and then: opt-outs and replies kept under a LID move to its number once whatsmeow's store knows it."""
        now = time.monotonic()
        if now - self._lids_mapped_at < LID_MAP_SECONDS or not self._sups:
            return
        self._lids_mapped_at = now
        try:
            mapped = await asyncio.to_thread(store.map_lids, list(self._sups))
            if mapped:
                log.info("%d senders known only by their LID now have a number", mapped)
        except Exception as exc:
            log.warning("mapping LID senders to numbers failed: %s", exc)

    async def _heartbeat(self) -> None:
        """Tell the database (and so the web tier) that this engine is alive, and what it holds."""
        owned = list(self._sups.values())

        def write() -> None:
            with session_scope() as session:
                engines.beat(session=session, engine_id=self.engine_id, hostname=socket.gethostname(),
                             pid=os.getpid(), backend=self.factory.name, capacity=self.capacity, owned=len(owned),
                             connected=sum(1 for s in owned if s.connected),
                             stuck_threads=self.factory.stuck_threads())

        try:
            await asyncio.to_thread(write)
        except Exception as exc:
            log.warning("engine heartbeat failed: %s", exc)

    async def _reconcile_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconcile_now.wait(), self.reconcile_seconds)
            self._reconcile_now.clear()
            try:
                await self.reconcile()
            except Exception:
                log.exception("engine reconcile failed; trying again in %.0fs", self.reconcile_seconds)

    def _start_supervisor(self, org_id: uuid.UUID, generation: int) -> Supervisor:
        sup = Supervisor(org_id, factory=self.factory, engine_id=self.engine_id, on_exit=self.supervisor_exited,
                         on_traffic=self.gateway_traffic, generation=generation)
        self._sups[org_id] = sup
        sup.task = asyncio.create_task(sup.run(), name=f"session-{org_id}")
        return sup

    def supervisor_exited(self, sup: Supervisor) -> None:
        """Called by a finished supervisor: release its organisation for others."""
        if self.running:
            asyncio.get_running_loop().create_task(self._release(sup))

    async def _release(self, sup: Supervisor) -> None:
        async with self._own_lock:
            if self._sups.get(sup.org_id) is not sup:
                return
            del self._sups[sup.org_id]
            self.factory.release(sup.org_id)

            throttle.get_throttle().forget(sup.org_id)
            if self.leases is not None:
                await self.leases.release(sup.org_id)

    async def _drop_all(self) -> None:
        """Stop every supervisor at once: without the lease connection we may not own anything."""
        async with self._own_lock:
            sups = list(self._sups.values())
            self._sups.clear()
        for sup in sups:
            sup.drop_lease()
        tasks = [s.task for s in sups if s.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT + 5)
        for sup in sups:
            self.factory.release(sup.org_id)

    # Commands and gateway traffic ---------------------------------------------------------------
    async def _command_loop(self) -> None:
        async with get_bus().subscribe(types={EventType.session_command}) as commands:
            self._listening.set()
            async for cmd in commands:
                if is_resumed(cmd):  # commands may have been lost: the rows say what was asked
                    self._reconcile_now.set()
                    continue
                try:
                    await self.handle_command(uuid.UUID(cmd["org_id"]), cmd.get("action", ""), cmd.get("seq"))
                except Exception:
                    log.exception("session command %r failed", cmd)

    async def handle_command(self, org_id: uuid.UUID, action: str, seq: int | None = None) -> None:
        """Act on a user's request: owners stop, retry or ask for a code; anyone with room takes a free one.

        `seq` is the request's number in the session row: one the supervisor already acted on is not repeated."""
        async with self._own_lock:
            sup = self._sups.get(org_id)
            if sup is not None and seq is not None:
                if sup.seen_seq is not None and seq <= sup.seen_seq:
                    return
                sup.seen_seq = seq
            if action in ("connect", "retry", "pair_code"):
                # A connect reaching a running supervisor only wakes one that is waiting; a retry also
                # skips the current backoff wait, or starts a new pairing.
                if sup is not None and sup.stop_mode is None:
                    if action == "pair_code":
                        sup.request_pair()
                    elif action == "retry" or sup.state in ("error", "backoff"):
                        sup.retry()
                elif sup is None and self.leases is not None and len(self._sups) < self.capacity:
                    for won, generation in (await self.leases.take({org_id}, self.engine_id)).items():
                        self._start_supervisor(won, generation)
            elif action in ("logout", "stop") and sup is not None:
                sup.request_stop(action)

    def gateway_traffic(self, org_id: uuid.UUID, event: Receipt | Inbound) -> None:
        """Queue receipts and inbound messages for the writer, in arrival order."""
        self.traffic.put(org_id, event)


def _engine_stopped(engine_id: str) -> None:
    with session_scope() as session:
        engines.mark_stopped(session=session, engine_id=engine_id)
