"""Signed webhook delivery with retries, and the dispatcher that feeds it from the event bus."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from fleet_dashboard.core.backoff import RetryPolicy
from fleet_dashboard.core.db import database_url, libpq_url, session_scope
from fleet_dashboard.core.events import EventType, get_bus
from fleet_dashboard.core.safe_http import checked_client
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.integrations.models import WebhookDelivery
from fleet_dashboard.integrations.webhooks import (
    EVENTS,
    MESSAGE_STATUSES,
    SIGNATURE_HEADER,
    active_for_event,
    blocked_address,
    build_payload,
    public_event,
    sign,
)

log = logging.getLogger(__name__)

USER_AGENT = "FleetDashboard-Webhooks/1"
# Advisory lock key: with the postgres bus every process sees every event, so one process delivers.
LEADER_LOCK_KEY = 0x46_6C_57_48  # "FlWH"
# A stored delivery becomes due for the resume loop this long after it was stored, unless an attempt
# moved it: time enough for its first attempt (bounded by RetryPolicy.timeout_seconds) to end.
FIRST_ATTEMPT_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Target:
    """What delivery needs of a webhook row, detached from any DB session."""

    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    secret: str


# Six attempts of one delivery, 2 s doubling to 5 minutes apart (or what Retry-After asks), 10 s each.
WEBHOOK_RETRY = RetryPolicy(base_seconds=2.0, max_seconds=300.0, max_attempts=6, timeout_seconds=10.0)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the receiver asked us to wait: delay-seconds or an HTTP-date; None when absent or unreadable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return when.timestamp() - time.time()


# Each attempt, in the delivery's own row (not the audit log, which a failing receiver would flood): its outcome,
# the receiver's status code or the error, and a line in its log. A delivery made without a stored row (a direct
# call) gets one here, so the settings page shows every outcome; a webhook deleted meanwhile records nothing.
_RECORD_SQL = text("""
INSERT INTO webhook_deliveries (id, webhook_id, org_id, event, status, attempts, next_attempt_at, last_error,
                                last_status_code, settled_at, log, created_at)
SELECT :id, w.id, w.org_id, CAST(:event AS jsonb), :status, :attempt, now() + make_interval(secs => :wait), :error,
       :code, CASE WHEN :settled THEN now() END, CAST(:entry AS jsonb), now()
FROM webhooks w WHERE w.id = :webhook
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,
    next_attempt_at = EXCLUDED.next_attempt_at, last_error = EXCLUDED.last_error,
    last_status_code = EXCLUDED.last_status_code, settled_at = EXCLUDED.settled_at,
    log = webhook_deliveries.log || EXCLUDED.log
""")
# An attempt's outcome to the row's status: a retry is still owed.
_ROW_STATUS = {"delivered": "delivered", "failed": "failed", "retrying": "pending"}


def _record_attempt(target: Target, event: dict[str, Any], data: dict[str, Any]) -> None:
    """The attempt's outcome in its delivery row, and, in the same statement, what is still owed."""
    entry = {**{k: data[k] for k in ("attempt", "outcome", "status_code", "error", "next_retry_seconds")},
             "at": utcnow().isoformat()}
    with session_scope() as session:
        session.execute(_RECORD_SQL, {
            "id": data["delivery_id"], "webhook": target.id, "event": json.dumps(public_event(event), default=str),
            "status": _ROW_STATUS[data["outcome"]], "attempt": data["attempt"],
            "wait": data["next_retry_seconds"] or 0, "settled": data["outcome"] != "retrying",
            "error": None if data["outcome"] == "delivered" else (
                data["error"] or (f"HTTP {data['status_code']}" if data["status_code"] else None)),
            "code": data["status_code"], "entry": json.dumps([entry])})


async def deliver(*, client: httpx.AsyncClient, target: Target, event: dict[str, Any],
                  policy: RetryPolicy | None = None,
                  sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                  delivery_id: str | None = None, first_attempt: int = 1) -> bool:
    """POST one event until a 2xx, a permanent 4xx, or the attempts run out; records every attempt in its
    delivery row (the settings page's view of deliveries), never in the audit log.

    With a stored delivery (`delivery_id` of a webhook_deliveries row) every attempt also records what is
    still owed, so a restart resumes at `first_attempt` = attempts made + 1."""
    policy = policy or WEBHOOK_RETRY
    delivery_id = delivery_id or str(uuid.uuid4())
    # Judged again now, with DNS: a public name may have been pointed at an internal address since it was saved.
    blocked = await asyncio.to_thread(blocked_address, target.url, resolve=True)
    if blocked or first_attempt > policy.max_attempts:
        error = f"refused: {blocked}" if blocked else "no attempts left"
        log.warning("webhook %s not called: %s", target.id, error)
        await asyncio.to_thread(_record_attempt, target, event, {
            "delivery_id": delivery_id, "event": event["type"], "attempt": first_attempt, "status_code": None,
            "error": error, "outcome": "failed", "next_retry_seconds": None})
        return False
    body = build_payload(event, delivery_id=delivery_id)
    for attempt in range(first_attempt, policy.max_attempts + 1):
        status_code, error, retry_after = None, None, None
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "X-Fleet-Event": event["type"], "X-Fleet-Delivery": delivery_id,
                   SIGNATURE_HEADER: sign(target.secret, body)}
        try:
            response = await client.post(target.url, content=body, headers=headers,
                                         timeout=policy.timeout_seconds)
            status_code = response.status_code
            retry_after = _retry_after(response) if status_code == 429 else None
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        delivered = status_code is not None and 200 <= status_code < 300
        # A 4xx other than 429 means the receiver refuses this payload: sending it again cannot help.
        permanent = status_code is not None and 300 <= status_code < 500 and status_code != 429
        last = delivered or permanent or attempt == policy.max_attempts
        outcome = "delivered" if delivered else ("failed" if last else "retrying")
        wait = None if last else policy.delay(attempt, retry_after)
        await asyncio.to_thread(_record_attempt, target, event, {
            "delivery_id": delivery_id, "event": event["type"], "attempt": attempt,
            "status_code": status_code, "error": error, "outcome": outcome,
            "next_retry_seconds": round(wait, 2) if wait is not None else None,
        })
        if last:
            return delivered
        await sleep(wait)
    return False


def _wanted(event: dict[str, Any]) -> bool:
    if event.get("type") not in EVENTS or not event.get("org_id"):
        return False
    return event["type"] != EventType.message_status or event.get("status") in MESSAGE_STATUSES


def _owe(event: dict[str, Any]) -> list[tuple[Target, str]]:
    """Store what this event owes each subscribed webhook, before the first attempt; returns the deliveries."""
    event = public_event(event)
    with session_scope() as session:
        rows = active_for_event(session=session, org_id=uuid.UUID(str(event["org_id"])),
                                event_type=event["type"])
        # Due only later: the process storing it attempts it now, and the resume loop must not race it.
        later = utcnow() + timedelta(seconds=FIRST_ATTEMPT_GRACE_SECONDS)
        owed = [WebhookDelivery(webhook_id=w.id, org_id=w.org_id, event=event, next_attempt_at=later) for w in rows]
        session.add_all(owed)
        return [(Target(id=w.id, org_id=w.org_id, url=w.url, secret=w.secret), str(d.id))
                for w, d in zip(rows, owed, strict=True)]


# Fair: each organisation's oldest few due rows come first (round robin by turn), and rows already in
# flight in this process are left out, so one organisation's backlog never hides another's retries.
_DUE_SQL = text("""
SELECT id, event, attempts, webhook_id, org_id, url, secret FROM (
    SELECT d.id, d.event, d.attempts, w.id AS webhook_id, w.org_id, w.url, w.secret, d.next_attempt_at,
           row_number() OVER (PARTITION BY d.org_id ORDER BY d.next_attempt_at, d.id) AS turn
    FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.is_active
      AND NOT (d.id = ANY(CAST(:busy AS uuid[])))
) due
WHERE turn <= :per_org
ORDER BY turn, next_attempt_at LIMIT :limit
""")


def _due(limit: int, *, per_org: int = 8, busy: Iterable[str] = ()) -> list[tuple[Target, dict[str, Any], str, int]]:
    """Deliveries whose next attempt is due: left by a restart, or by a retry no task is waiting for."""
    params = {"limit": limit, "per_org": per_org, "busy": [uuid.UUID(b) for b in busy]}
    with session_scope() as session:
        return [(Target(id=r.webhook_id, org_id=r.org_id, url=r.url, secret=r.secret), r.event, str(r.id),
                 r.attempts + 1) for r in session.execute(_DUE_SQL, params)]


class _DueLater(Exception):
    """A stored delivery's retry is recorded with its time: the resume loop sends it then."""


async def _hand_back(_seconds: float) -> None:
    raise _DueLater


class Dispatcher:
    """Turns bus events into deliveries, with bounded concurrency, until stopped.

    A task makes one attempt; a retry is not slept on (that would hold a slot for minutes) but handed
    back to the stored row, which the resume loop picks up when it falls due."""

    def __init__(self, *, policy: RetryPolicy | None = None, concurrency: int = 32,
                 client: httpx.AsyncClient | None = None, resume_seconds: float = 2.0, per_org: int = 8):
        self.policy = policy or WEBHOOK_RETRY
        self._client = client
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task] = set()
        self._in_flight: set[str] = set()
        self._org_in_flight: Counter[uuid.UUID] = Counter()
        self.resume_seconds = resume_seconds
        self.per_org = per_org

    async def _one(self, client: httpx.AsyncClient, target: Target, event: dict[str, Any], delivery_id: str,
                   first_attempt: int) -> None:
        async with self._slots:
            try:
                await deliver(client=client, target=target, event=event, policy=self.policy,
                              delivery_id=delivery_id, first_attempt=first_attempt, sleep=_hand_back)
            except _DueLater:
                pass
            except Exception as exc:
                log.exception("webhook delivery to %s crashed", target.url)
                await self._count_crash(target, event, delivery_id, first_attempt, exc)

    async def _count_crash(self, target: Target, event: dict[str, Any], delivery_id: str, attempt: int,
                           exc: Exception) -> None:
        """An attempt that crashed still counts: retried after backoff, given up after the last one."""
        last = attempt >= self.policy.max_attempts
        wait = None if last else self.policy.delay(attempt)
        try:
            await asyncio.to_thread(_record_attempt, target, event, {
                "delivery_id": delivery_id, "event": event.get("type"), "attempt": attempt, "status_code": None,
                "error": f"crashed: {type(exc).__name__}: {exc}"[:300], "outcome": "failed" if last else "retrying",
                "next_retry_seconds": None if wait is None else round(wait, 2)})
        except Exception:
            # The row stays pending and due: the resume loop tries again once the database answers.
            log.exception("could not record the crashed webhook attempt %s", delivery_id)

    def _start(self, client: httpx.AsyncClient, target: Target, event: dict[str, Any], delivery_id: str,
               first_attempt: int) -> None:
        if delivery_id in self._in_flight:
            return
        self._in_flight.add(delivery_id)
        self._org_in_flight[target.org_id] += 1
        task = asyncio.create_task(self._one(client, target, event, delivery_id, first_attempt))
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, target.org_id, delivery_id))

    def _done(self, task: asyncio.Task, org_id: uuid.UUID, delivery_id: str) -> None:
        self._tasks.discard(task)
        self._in_flight.discard(delivery_id)
        self._org_in_flight[org_id] -= 1
        if self._org_in_flight[org_id] <= 0:
            del self._org_in_flight[org_id]

    async def _resume(self, client: httpx.AsyncClient) -> None:
        """Pick up owed deliveries nobody is working on: those of a previous process, after a restart."""
        while True:
            try:
                due = await asyncio.to_thread(_due, 200, per_org=self.per_org, busy=list(self._in_flight))
                for target, event, delivery_id, attempt in due:
                    # An organisation with this many retries in flight waits its turn; the others go first.
                    if self._org_in_flight[target.org_id] < self.per_org:
                        self._start(client, target, event, delivery_id, attempt)
            except Exception:
                log.exception("could not read owed webhook deliveries")
            await asyncio.sleep(self.resume_seconds)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Subscribe and deliver until cancelled; `ready` is set once subscribed."""
        client = self._client or checked_client(timeout=self.policy.timeout_seconds)
        resumer = None
        try:
            async with get_bus().subscribe(types=EVENTS) as events:
                resumer = asyncio.create_task(self._resume(client))
                if ready is not None:
                    ready.set()
                async for event in events:
                    if not _wanted(event):
                        continue
                    try:
                        owed = await asyncio.to_thread(_owe, event)
                    except Exception:
                        log.exception("could not store the webhook deliveries of an event")
                        continue
                    for target, delivery_id in owed:
                        self._start(client, target, event, delivery_id, 1)
        finally:
            if resumer is not None:
                resumer.cancel()
                with contextlib.suppress(BaseException):
                    await resumer
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._client is None:
                await client.aclose()


def _try_leader_lock():
    """A connection holding the webhook leader lock, or None when another process holds it."""
    conn = psycopg.connect(libpq_url(database_url()), autocommit=True, application_name="fleet-webhooks")
    if conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()[0]:
        return conn
    conn.close()
    return None


async def run_dispatcher_forever(*, poll_seconds: float = 5.0, policy: RetryPolicy | None = None,
                                 ready: asyncio.Event | None = None) -> None:
    """Deliver webhooks for the process's life; with the postgres bus only the lock holder delivers."""
    if get_settings().bus_backend == "memory":
        await Dispatcher(policy=policy).run(ready)
        return
    while True:
        conn, runner = None, None
        try:
            conn = await asyncio.to_thread(_try_leader_lock)
            if conn is None:
                await asyncio.sleep(poll_seconds)
                continue
            log.info("this process delivers webhooks")
            runner = asyncio.create_task(Dispatcher(policy=policy).run(ready))
            # Losing the lock's connection means another process may take over: stop delivering.
            while not runner.done():
                await asyncio.sleep(poll_seconds)
                await asyncio.to_thread(conn.execute, "SELECT 1")
            await runner
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook dispatcher stopped; restarting")
            await asyncio.sleep(poll_seconds)
        finally:
            if runner is not None and not runner.done():
                runner.cancel()
                with contextlib.suppress(BaseException):
                    await runner
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()


async def webhooks_lifespan() -> None:
    """The dispatcher as a server lifespan task: delivers bus events to webhooks until cancelled."""
    await run_dispatcher_forever()
