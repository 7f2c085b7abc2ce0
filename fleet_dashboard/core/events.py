"""The event bus: small JSON events fanned out to subscribers, in-process or across processes by NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import event as sa_event
from sqlalchemy import text

from fleet_dashboard.core.db import database_url, libpq_url
from fleet_dashboard.core.settings import get_settings

log = logging.getLogger(__name__)

CHANNEL = "fleet_events"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
MAX_PAYLOAD_BYTES = 7900
DEFAULT_QUEUE_SIZE = 1000
# The most notifications the listener hands to subscribers in one batch.
MAX_DISPATCH = 500


class EventType(enum.StrEnum):
    """Every bus event type, defined once; `public` ones are offered to webhooks (services/webhooks.EVENTS)."""

    public: bool

    def __new__(cls, value: str, public: bool = False):
        member = str.__new__(cls, value)
        member._value_ = value
        member.public = public
        return member

    message_status = "message.status", True
    session_status = "session.status", True
    message_inbound = "message.inbound", True
    session_command = "session.command"
    queue_wake = "queue.wake"
    queue_changed = "queue.changed"
    simulator_command = "simulator.command"
    simulator_ack = "simulator.ack"
    # An engine process died; `run` marked the WhatsApp sessions it held down (org_id None).
    engine_status = "engine.status"
    # The listener lost its connection and is back: events sent meanwhile are gone, so re-read the database.
    bus_resumed = "bus.resumed"
    # An alert opened (state "open") or ended (state "cleared"): a webhook event and the pages' banner.
    session_alert = "session.alert", True
    # An organisation's sending rules or pause changed: the worker re-reads its guards, pages recount.
    sending_changed = "sending.changed"


# What a webhook may subscribe to, in the order the API and the dashboard list them.
WEBHOOK_EVENTS = tuple(t.value for t in EventType if t.public)
# The listener's reconnect delays: doubling from the first, never longer than the cap, so a bus is back
# within this long of its database.
RECONNECT_FIRST_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 2.0
# A connect that gets no answer (a frozen server) is given up after this long and tried again.
CONNECT_TIMEOUT_SECONDS = 5


def resumed_event() -> dict[str, Any]:
    """What every subscriber hears once the bus listens again after losing its connection."""
    return {"type": EventType.bus_resumed.value, "org_id": None, "lost": True,
            "detail": "the event bus reconnected: events may have been lost"}


def is_resumed(event: dict[str, Any]) -> bool:
    """True for the bus's own resumed signal: re-read from the database what this subscriber follows."""
    return event.get("type") == EventType.bus_resumed.value


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"event value of type {type(value).__name__} is not JSON")


def encode(event: dict[str, Any]) -> str:
    """Validate an event and return its JSON; refuses what NOTIFY or subscribers cannot take."""
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise ValueError("an event needs a non-empty string 'type'")
    if "org_id" not in event:
        raise ValueError("an event needs an 'org_id' (use None for global events)")
    payload = json.dumps(event, default=_jsonable, ensure_ascii=False, separators=(",", ":"))
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"event {event['type']} is {len(payload.encode())} bytes; NOTIFY takes < 8000")
    return payload


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, default=_jsonable, ensure_ascii=False, separators=(",", ":")).encode())


def fit_text(event: dict[str, Any], key: str, *, limit: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """The event with event[key] cut at a character boundary so its JSON fits `limit` bytes (NOTIFY's cap).

    Counts UTF-8 bytes after JSON escaping, so emoji (4 bytes), quotes and control characters are all
    measured as sent. A cut text is flagged `truncated: true`; every other field stays whole."""
    text = str(event.get(key) or "")
    # Surrogates from badly decoded UTF-16 cannot be UTF-8: a pair becomes its emoji, a lone one U+FFFD.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    event = {**event, key: text}
    if _json_bytes(event) <= limit:
        return event
    event["truncated"] = True
    budget = limit - _json_bytes({**event, key: ""})
    low, high = 0, len(text)
    while low < high:  # the longest prefix whose escaped size fits the budget
        middle = (low + high + 1) // 2
        if _json_bytes(text[:middle]) - 2 <= budget:
            low = middle
        else:
            high = middle - 1
    event[key] = text[:low]
    return event


class Subscription:
    """One subscriber's bounded queue; when it is full the oldest event is dropped, never memory grown."""

    def __init__(self, *, org_id: str | None, types: frozenset[str] | None, maxsize: int):
        self.org_id = org_id
        self.types = types
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0
        self.resumed = 0

    def wants(self, event: dict[str, Any]) -> bool:
        """True when the event passes this subscriber's filters; every subscriber hears the resumed signal."""
        if is_resumed(event):
            return True
        if self.types is not None and event.get("type") not in self.types:
            return False
        return self.org_id is None or event.get("org_id") == self.org_id

    def put(self, event: dict[str, Any]) -> None:
        """Queue an event; runs on the subscriber's loop."""
        if is_resumed(event):
            self.resumed += 1
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10000 == 0:
                log.warning("slow event subscriber: %d events dropped so far", self.dropped)
        self.queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> dict[str, Any]:
        """The next event; raises TimeoutError after `timeout` seconds."""
        if timeout is None:
            return await self.queue.get()
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def wait_for(self, predicate, timeout: float, *,
                       recheck: Callable[[], Any] | None = None) -> dict[str, Any]:
        """The first event the predicate accepts, skipping others; TimeoutError after `timeout`.

        When the bus resumed (what was awaited may have been lost), `recheck` (a blocking database read, run in
        a thread) decides: truthy ends the wait with the resumed event, so the caller re-reads the row; falsy
        (or an error: the database is still away) keeps waiting. Without `recheck` the resumed event ends it."""
        deadline = time.monotonic() + timeout
        while True:
            event = await self.get(max(0.0, deadline - time.monotonic()))
            if is_resumed(event):
                if recheck is None or await _recheck(recheck):
                    return event
                continue
            if predicate(event):
                return event

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self.queue.get()


async def _recheck(recheck: Callable[[], Any]) -> bool:
    try:
        return bool(await asyncio.to_thread(recheck))
    except Exception as exc:  # still unreachable: keep waiting for the next event or the timeout
        log.info("re-reading after the bus resumed failed: %s", exc)
        return False


class Bus:
    """Fan-out to subscribers on any loop or thread; subclasses decide how events travel."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE):
        self.queue_size = queue_size
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    async def publish(self, event: dict[str, Any]) -> None:
        """Publish an event now, outside any transaction."""
        raise NotImplementedError

    def publish_after_commit(self, session: Any, payload: str) -> None:
        """Publish an encoded event when (and only if) the session's transaction commits."""
        raise NotImplementedError

    async def _ready(self) -> None:
        """Wait until events published from now on will reach new subscribers."""

    @contextlib.asynccontextmanager
    async def subscribe(self, org_id: Any = None, types: Iterable[str] | None = None,
                        maxsize: int | None = None) -> AsyncIterator[Subscription]:
        """Receive matching events until the block exits."""
        await self._ready()
        sub = Subscription(org_id=str(org_id) if org_id is not None else None,
                           types=frozenset(types) if types is not None else None,
                           maxsize=maxsize or self.queue_size)
        with self._lock:
            self._subs.append(sub)
        try:
            yield sub
        finally:
            with self._lock:
                self._subs.remove(sub)

    def dispatch_many(self, events: list[dict[str, Any]]) -> None:
        """Hand events to every interested subscriber, on its own loop; safe from any thread."""
        with self._lock:
            subs = list(self._subs)
        per_sub: dict[Subscription, list[dict[str, Any]]] = {}
        for ev in events:
            for sub in subs:
                if sub.wants(ev):
                    per_sub.setdefault(sub, []).append(ev)
        for sub, evs in per_sub.items():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is sub.loop:
                for ev in evs:
                    sub.put(ev)
            else:
                with contextlib.suppress(RuntimeError):  # the subscriber's loop is closed
                    sub.loop.call_soon_threadsafe(_put_all, sub, evs)

    def close(self) -> None:
        """Stop background work."""


def _put_all(sub: Subscription, events: list[dict[str, Any]]) -> None:
    for ev in events:
        sub.put(ev)


class MemoryBus(Bus):
    """In-process only: for one-process deployments and tests."""

    async def publish(self, event: dict[str, Any]) -> None:
        self.dispatch_many([json.loads(encode(event))])

    def publish_after_commit(self, session: Any, payload: str) -> None:
        if not session.info.get("fleet_events_hooked"):
            sa_event.listen(session, "after_commit", _flush_pending)
            sa_event.listen(session, "after_soft_rollback", _drop_pending)
            session.info["fleet_events_hooked"] = True
        if not session.in_transaction():
            session.begin()  # so a rollback of this unit of work is seen even if it ran no SQL
        session.info.setdefault("fleet_events_pending", []).append(payload)


def _flush_pending(session: Any) -> None:
    pending = session.info.pop("fleet_events_pending", None)
    if pending:
        get_bus().dispatch_many([json.loads(p) for p in pending])


def _drop_pending(session: Any, previous_transaction: Any) -> None:
    # A rolled-back savepoint keeps the outer transaction's events (they may still commit).
    if not previous_transaction.nested:
        session.info.pop("fleet_events_pending", None)


class PostgresBus(Bus):
    """LISTEN/NOTIFY on channel fleet_events; a listener thread serves every loop in the process."""

    def __init__(self, url: str, queue_size: int = DEFAULT_QUEUE_SIZE):
        super().__init__(queue_size)
        self.url = url
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._pub_conn: Any = None
        self._pub_lock = threading.Lock()

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._listen_forever, name="fleet-bus-listener",
                                                daemon=True)
                self._thread.start()

    async def _ready(self) -> None:
        self._ensure_thread()
        if not self._listening.is_set():
            await asyncio.to_thread(self._listening.wait, 10.0)

    def _listen_forever(self) -> None:
        failures, lost_at = 0, None
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, application_name="fleet-bus-listener",
                                     connect_timeout=CONNECT_TIMEOUT_SECONDS, keepalives=1, keepalives_idle=10,
                                     keepalives_interval=5, keepalives_count=3) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    failures = 0
                    if lost_at is not None:
                        # Whatever was sent while we were away is gone: every subscriber re-reads the database.
                        log.warning("event bus listening again after %.1f s away; subscribers told events may "
                                    "have been lost", time.monotonic() - lost_at)
                        lost_at = None
                        self.dispatch_many([resumed_event()])
                    self._pump(conn)
            except Exception as exc:
                self._listening.clear()
                if self._stop.is_set():
                    return
                failures += 1
                lost_at = lost_at or time.monotonic()
                delay = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2 ** (failures - 1))
                if failures == 1:
                    log.warning("event bus listener lost its connection (%s); reconnecting", exc)
                else:
                    log.info("event bus listener still away (%s); next try in %.1f s", exc, delay)
                self._stop.wait(delay)

    def _pump(self, conn: Any) -> None:
        """Hand notifications to subscribers until the connection fails or the bus stops."""
        while not self._stop.is_set():
            # notifies() only returns at its deadline or its count: wait for the first
            # packet (0.5 s, to see a stop), then take what already arrived, and hand it on.
            notes = list(conn.notifies(timeout=0.5, stop_after=1))
            while notes and len(notes) < MAX_DISPATCH:
                more = list(conn.notifies(timeout=0, stop_after=MAX_DISPATCH - len(notes)))
                if not more:
                    break
                notes.extend(more)
            batch = []
            for note in notes:
                try:
                    batch.append(json.loads(note.payload))
                except ValueError:
                    log.warning("ignored a non-JSON event on %s", CHANNEL)
            if batch:
                self.dispatch_many(batch)

    def _notify_now(self, payload: str) -> None:
        with self._pub_lock:
            for attempt in (1, 2):
                try:
                    if self._pub_conn is None or self._pub_conn.closed:
                        self._pub_conn = psycopg.connect(self.url, autocommit=True,
                                                         application_name="fleet-bus-publisher",
                                                         connect_timeout=CONNECT_TIMEOUT_SECONDS)
                    self._pub_conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    return
                except psycopg.OperationalError:
                    self._pub_conn = None
                    if attempt == 2:
                        raise

    async def publish(self, event: dict[str, Any]) -> None:
        payload = encode(event)
        self._ensure_thread()
        await asyncio.to_thread(self._notify_now, payload)

    def publish_after_commit(self, session: Any, payload: str) -> None:
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": payload})

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
        with self._pub_lock:
            if self._pub_conn is not None:
                self._pub_conn.close()
                self._pub_conn = None


@lru_cache
def get_bus() -> Bus:
    """The process's bus, chosen by settings.bus_backend."""
    if get_settings().bus_backend == "memory":
        return MemoryBus()

    return PostgresBus(libpq_url(database_url()))


def reset_bus() -> None:
    """Close and forget the process's bus, so changed settings take effect (tests)."""
    if get_bus.cache_info().currsize:
        get_bus().close()
    get_bus.cache_clear()


def emit(session: Any, event: dict[str, Any]) -> None:
    """Publish from sync service code inside the caller's transaction: delivered only if it commits."""
    get_bus().publish_after_commit(session, encode(event))
