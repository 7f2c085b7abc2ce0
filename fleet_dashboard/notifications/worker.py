"""The queue worker: claims due notifications of the organisations this process's engine owns, and sends them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from fleet_dashboard.core import events
from fleet_dashboard.core.backoff import RetryPolicy, backoff_delay
from fleet_dashboard.core.db import database_url
from fleet_dashboard.core.events import EventType, get_bus
from fleet_dashboard.messaging import messages, receipts
from fleet_dashboard.notifications import claims as queue_claims
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.claims import Claimed, Outcome
from fleet_dashboard.notifications.guarded import GuardedTurns
from fleet_dashboard.notifications.throttle import SendThrottle, get_throttle
from fleet_dashboard.notifications.wave import QUEUE_RETRY, send_all

log = logging.getLogger(__name__)
# The longest pause between turns while the database is failing them.
RETRY_MAX_SECONDS = 2.0


@dataclass
class WorkerConfig:
    """Batch size, timings and retry policy; the defaults suit production."""

    batch_size: int = 500
    poll_seconds: float = 1.0
    lease_seconds: float = 120.0
    reclaim_every_seconds: float = 10.0
    send_timeout_seconds: float = 60.0
    retry: RetryPolicy = QUEUE_RETRY


def worker_db_engine() -> Engine:
    """A small pool of the worker's own, without pre-ping: the loop handles a dropped connection itself."""
    return create_engine(database_url(), pool_size=2, max_overflow=2, pool_pre_ping=False, pool_recycle=1800)


def emit_all(session: Session, events_: list[dict[str, Any]]) -> None:
    """Publish many events with the transaction: one NOTIFY statement on PostgreSQL, not one per event."""
    if not events_:
        return
    bus = events.get_bus()
    if isinstance(bus, events.PostgresBus):
        # The payloads as one JSON array (json's C encoder), not a text[] psycopg adapts element by element.
        session.execute(text("SELECT count(pg_notify(:channel, p)) "
                             "FROM jsonb_array_elements_text(CAST(:payloads AS jsonb)) p"),
                        {"channel": events.CHANNEL,
                         "payloads": json.dumps([events.encode(e) for e in events_], ensure_ascii=False)})
    else:
        for event in events_:
            events.emit(session, event)


def _status_events(rows: list[Any]) -> list[dict[str, Any]]:
    return [messages.status_event(org_id=r.org_id, message_id=r.id, whatsapp_message_id=r.whatsapp_message_id,
                                   status=r.status, error=r.error, error_code=getattr(r, "error_code", None))
            for r in rows if getattr(r, "kind", "failed") not in ("retry", "release")]


class Worker(GuardedTurns):
    """Sends only for organisations that this process's engine owns and has connected, through their guards."""

    def __init__(self, engine: Any, *, config: WorkerConfig | None = None, throttle: SendThrottle | None = None,
                 db_engine: Engine | None = None):
        self.engine = engine
        self.config = config or WorkerConfig()
        self.throttle = throttle or get_throttle()
        self._db = db_engine or worker_db_engine()
        self._own_db = db_engine is None
        # Claimed rows waiting for their organisation's throttle slot, with the local lease deadline.
        self._backlog: dict[uuid.UUID, deque[tuple[Claimed, float]]] = {}
        self._last_claim = 0.0
        self._last_reclaim = 0.0
        self._more_due = True
        self._stopping = False
        self.sent = 0
        # Owed to the database after an error, paid before anything else once it answers: claimed rows whose
        # send never started (id -> their claim's lease), and outcomes of sends that did happen.
        self._handback: dict[uuid.UUID, Any] = {}
        self._unwritten: list[Outcome] = []
        self._unwritten_orgs: set[uuid.UUID] = set()
        # The sending guards (quiet hours, the daily cap, pauses, look-ups, typing, pace) of the owned organisations.
        self._init_guards()

    def _tx(self, work: Callable[[Session], Any]) -> Any:
        with Session(self._db, expire_on_commit=False) as session:
            result = work(session)
            session.commit()
            return result

    async def _db_call(self, work: Callable[[Session], Any]) -> Any:
        return await asyncio.to_thread(self._tx, work)

    def _connected_orgs(self) -> set[uuid.UUID]:
        return {o for o in self.engine.owned_org_ids() if self.engine.is_connected(o)}

    async def _reclaim(self) -> None:
        def work(session: Session) -> int:
            count, unknown = queue_claims.reclaim_expired(conn=session.connection())
            emit_all(session, [messages.status_event(org_id=r.org_id, message_id=r.id, status="unknown",
                                                      whatsapp_message_id=r.whatsapp_message_id,
                                                      error=queue_claims.UNKNOWN_REASON,
                                                      error_code=queue_claims.UNKNOWN_CODE) for r in unknown])
            return count

        count = await self._db_call(work)
        if count:
            log.warning("reclaimed %d notifications from a worker that stopped", count)
            self._more_due = True

    async def _release_stale(self, connected: set[uuid.UUID]) -> None:
        """Give back rows of organisations no longer connected or now paused, or whose lease is running out."""
        now = time.monotonic()
        for org_id in list(self._backlog):
            rows = self._backlog[org_id]
            if org_id not in connected or self.guards.paused(org_id):
                self._owe_back(row for row, _ in rows)
                rows.clear()
            while rows and rows[0][1] <= now:
                self._owe_back([rows.popleft()[0]])
            if not rows:
                del self._backlog[org_id]
        await self._pay_back()

    def _owe_back(self, rows) -> None:
        """Rows whose send never started: released by `_pay_back`, kept here until the database takes them."""
        for row in rows:
            self._handback[row.id] = row.lease_expires_at

    def _hand_back_backlog(self) -> None:
        """After a failed turn: every claimed row not started goes back, so other turns (or workers) send it now,
        not when its lease runs out."""
        for rows in self._backlog.values():
            self._owe_back(row for row, _ in rows)
        self._backlog.clear()

    async def _pay_back(self) -> None:
        """Write what an error left owed: outcomes of sends that happened, then the release of unstarted rows."""
        if self._unwritten:
            outcomes, org_ids = self._unwritten, self._unwritten_orgs
            self._unwritten, self._unwritten_orgs = [], set()
            await self._complete(outcomes, org_ids)
            log.warning("recorded %d send outcomes held while the database was away", len(outcomes))
        if self._handback:
            owed = dict(self._handback)
            released = await self._db_call(lambda s: queue_claims.release(
                conn=s.connection(), queue_ids=list(owed), leases=list(owed.values())))
            for queue_id in owed:
                self._handback.pop(queue_id, None)
            if len(owed) > 1:
                log.info("handed back %d claimed notifications (%d still ours)", len(owed), released)
            self._more_due = True

    async def _claim(self, connected: set[uuid.UUID]) -> None:
        cfg = self.config
        if self.throttle.enabled:
            candidates = [o for o in connected if o not in self._backlog]
            per_org = self.throttle.per_window(cfg.lease_seconds / 2)
        else:
            candidates = list(connected) if not self._backlog else []
            per_org = None
        in_backlog = {o: len(rows) for o, rows in self._backlog.items()}
        # Organisations whose guards let everything go, those that may send urgent rows only, and the holds.
        org_ids, urgent_ids, holds = self.guards.split(candidates, in_backlog)
        await self._hold(self.guards.holds_to_apply(holds))
        if not org_ids and not urgent_ids:
            self._more_due = False
            return
        self._last_claim = time.monotonic()
        rows = await self._db_call(lambda s: queue_claims.claim_batch(
            conn=s.connection(), org_ids=org_ids, urgent_ids=urgent_ids, limit=cfg.batch_size,
            lease_seconds=cfg.lease_seconds, per_org_limit=per_org))
        self._more_due = len(rows) >= cfg.batch_size
        rows, waiting = self.guards.admit(rows, in_backlog)
        if waiting:  # past today's allowance: they wait for tomorrow, at no attempt's cost
            await self._complete([outcome for _, outcome in waiting], {row.org_id for row, _ in waiting})
        # Keep a margin under the lease: a row not sent by then is handed back rather than risked.
        deadline = self._last_claim + cfg.lease_seconds * 0.8
        for row in rows:
            row.deadline = deadline
            self._backlog.setdefault(row.org_id, deque()).append((row, deadline))

    def _next_wave(self) -> list[Claimed]:
        wave: list[Claimed] = []
        for org_id in list(self._backlog):
            rows = self._backlog[org_id]
            if not self.throttle.enabled:
                wave += [row for row, _ in rows]
                rows.clear()
            elif self.throttle.delay(org_id) <= 0:
                wave.append(rows.popleft()[0])
            if not rows:
                del self._backlog[org_id]
        return wave

    async def _process(self, wave: list[Claimed]) -> None:
        outcomes: list[Outcome] = []
        sendable = self._guarded(wave, outcomes)
        if sendable and self.guards.enabled:
            try:
                sendable = await self._look_up(sendable, outcomes)
            except Exception:
                self._owe_back(wave)  # nothing was sent
                raise
        if sendable:
            margin = self.config.lease_seconds * 0.1
            try:
                allowed = await self._db_call(lambda s: queue_claims.mark_sending(
                    conn=s.connection(), rows=sendable, margin_seconds=margin))
            except Exception:
                # Nothing was sent: the whole wave goes back (a mark that did commit is undone by the release).
                self._owe_back(wave)
                raise
            # Rows whose lease ran out meanwhile belong to the reclaimer now: leave them alone.
            sendable = [row for row in sendable if row.message_id in allowed]
            outcomes += await send_all(engine=self.engine, rows=sendable, policy=self.config.retry,
                                       timeout=self.config.send_timeout_seconds, stopping=lambda: self._stopping)
        await self._complete(outcomes, {row.org_id for row in wave})

    async def _complete(self, outcomes: list[Outcome], org_ids: set[uuid.UUID]) -> None:
        def work(session: Session) -> list[Any]:
            rows = queue_claims.complete(conn=session.connection(), outcomes=outcomes)
            # A row that failed before it had a message (opted out, bad template) changes no message,
            # so open queue pages learn of it only from `queue.changed`.
            emit_all(session, _status_events(rows) + [queue.changed_event(o) for o in sorted(org_ids, key=str)])
            return rows

        try:
            rows = await self._db_call(work)
        except Exception:
            # These sends happened (or failed) for real: keep what we know until the database takes it, rather
            # than let the rows' leases run out into "unknown".
            self._unwritten += outcomes
            self._unwritten_orgs |= org_ids
            raise
        sent = [r for r in rows if r.status == "sent"]
        self.sent += len(sent)
        self.guards.count_sent(r.org_id for r in sent)
        self._health.touched(org_ids)
        await self._pause_on_danger(outcomes)

        if sent and receipts.pending():
            def replay(session: Session) -> None:
                for r in sent:
                    messages.replay_early_receipts(session=session, org_id=r.org_id,
                                                    whatsapp_message_ids=[r.whatsapp_message_id])

            await self._db_call(replay)

    async def run_once(self) -> bool:
        """One turn of the loop; True when it did work and should go again without waiting."""
        await self._pay_back()
        now = time.monotonic()
        if now - self._last_reclaim >= self.config.reclaim_every_seconds:
            self._last_reclaim = now
            await self._reclaim()
            if self.guards.enabled:
                await self._check_health()
        connected = self._connected_orgs()
        await self._refresh_guards(connected)
        await self._release_stale(connected)
        if self._more_due or now - self._last_claim >= self.config.poll_seconds:
            await self._claim(connected)
        wave = self._next_wave()
        if wave:
            await self._process(wave)
            return True
        return self._more_due

    def _idle_seconds(self) -> float:
        waits = [self.config.poll_seconds]
        waits += [self.throttle.delay(org_id) for org_id in self._backlog]
        return max(0.01, min(waits))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Loop until stopped: woken by `queue.wake` events, and polling in case one was missed."""
        stop = stop or asyncio.Event()
        try:
            await self._loop(stop)
        finally:
            await self.close()

    async def _loop(self, stop: asyncio.Event) -> None:
        async with get_bus().subscribe(types={EventType.queue_wake, EventType.sending_changed}) as wakes:
            failures = 0
            while not stop.is_set():
                try:
                    busy = await self.run_once()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    self._hand_back_backlog()
                    if failures == 1:
                        log.exception("queue worker turn failed; claimed rows not started are handed back")
                    else:
                        log.warning("queue worker turn failed (%d in a row): %s", failures, exc)
                    # Short and capped: the queue must flow within seconds of the database's return.
                    await _wait(stop, backoff_delay(failures, base=0.25, cap=RETRY_MAX_SECONDS))
                    continue
                if busy:
                    await asyncio.sleep(0)
                    continue
                with contextlib.suppress(TimeoutError):
                    woken = [await asyncio.wait_for(wakes.get(), self._idle_seconds())]
                    self._more_due = True
                    while not wakes.queue.empty():
                        woken.append(wakes.queue.get_nowait())
                    self._sending_changed(woken)

    async def close(self) -> None:
        """Hand back rows not yet sent, record what is owed, and free the worker's connections."""
        self._stopping = True
        self._hand_back_backlog()
        try:
            await self._pay_back()
        except Exception as exc:  # the leases run out instead; sends held unwritten become "unknown"
            log.error("stopping with %d outcomes and %d claims not written: %s", len(self._unwritten),
                      len(self._handback), exc)
        if self._own_db:
            self._db.dispose()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

