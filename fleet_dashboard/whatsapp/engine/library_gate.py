"""Serialize calls into the WhatsApp library, whose Go layer keeps its clients in maps without a lock.

goneonize keeps `clients`, `eventChannel` and `StopSignal` in plain Go maps. `Neonize()` writes them during a
start (one before its database work, two after it), `Stop()` deletes from them, and every other call reads
them at its start; a start also reads two of them after `Connect()` returns. Go aborts the whole process on a
concurrent map write, or on a read during a write, so this is a readers-writer gate: a start holds it
exclusively until the library has registered the client (start_phases.py says when, from the library's own
signals, never a fixed time), then shares it through the reads that follow its dial; a stop holds it
exclusively; every other call shares it. A call's hold ends after its first moments even if the call goes on
(a send waits for WhatsApp's ack): the maps are read at its start.

Requests are served in arrival order, readers side by side, with three exceptions: stops (`priority`) go
first, so a storm of starts cannot hold up closing a socket; a short reader (a send) may pass a start that
only waits for other clients' dials (`long` holds), so no send waits behind a dial; and a client that is
being stopped (`close(owner)`) has its queued calls dropped with `ClientStopping`, since a call that reaches
the library after `Stop()` removed the client dereferences nil in Go.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

T = TypeVar("T")
SHARED_HOLD_SECONDS = 0.5
STOPPING = "the WhatsApp client is stopping"  # a library_errors row: nothing was sent


class ClientStopping(Exception):  # noqa: N818 - names the situation
    """A call for a client that is being stopped: it never reached the library."""


class GateOwner:
    """One library client's calls: stopping it drops the ones still in line, and tells when the rest are done."""

    def __init__(self, name: str = ""):
        self.name = name
        self.closed = False
        self._inside = 0
        self._cond = threading.Condition()

    def enter(self) -> None:
        with self._cond:
            self._inside += 1

    def leave(self) -> None:
        with self._cond:
            self._inside -= 1
            self._cond.notify_all()

    @property
    def inside(self) -> int:
        """Calls that reached the library and have not returned from it (their hold may be over)."""
        return self._inside

    def wait_idle(self, timeout: float) -> bool:
        """Block until no call is inside the library (True), or the timeout (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._inside == 0, timeout)


class Hold:
    """One grant of the gate; released by `release()` or by the clock, whichever comes first."""

    __slots__ = ("_gate", "_exclusive", "_long", "_released", "_lock")

    def __init__(self, gate: LibraryGate | None, exclusive: bool, long: bool = False):
        self._gate = gate
        self._exclusive = exclusive
        self._long = long
        self._released = gate is None
        self._lock = threading.Lock()

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        """Give the gate back; safe to call more than once, from any thread."""
        with self._lock:
            if self._released:
                return
            self._released = True
        self._gate._release(self._exclusive, self._long)


class _Timers:
    """One daemon thread that ends holds whose time is up."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Hold]] = []
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, hold: Hold) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._ids), hold))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="library-gate-timer", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, _, hold = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            hold.release()


class _Waiter:
    """One request in line, woken alone when its turn may have come (no herd of 200 waiters on each release)."""

    __slots__ = ("exclusive", "priority", "long", "owner", "loop", "future", "event", "dropped")

    def __init__(self, exclusive: bool, priority: bool, long: bool, owner: GateOwner | None,
                 loop: asyncio.AbstractEventLoop | None = None):
        self.exclusive, self.priority, self.long, self.owner, self.loop = exclusive, priority, long, owner, loop
        self.future: asyncio.Future | None = loop.create_future() if loop is not None else None
        self.event = threading.Event() if loop is None else None
        self.dropped = False

    def wake(self) -> None:
        if self.event is not None:
            self.event.set()
        elif self.future is not None and not self.future.done():
            with contextlib.suppress(RuntimeError):  # its loop has closed
                self.loop.call_soon_threadsafe(_wake, self.future)


class LibraryGate:
    """A fair readers-writer gate whose short holds expire (see the module's docstring for the order)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._readers = 0
        self._long_readers = 0  # shared holds that last until a library signal (a start's dial and reads)
        self._writer = False
        self._line: list[_Waiter] = []
        self._timers = _Timers()
        self.waits = 0  # grants that had to wait (how often the gate actually separated two calls)

    # The line -----------------------------------------------------------------------------------
    def _enqueue(self, waiter: _Waiter) -> None:
        if waiter.priority:  # behind the other stops, ahead of everything else
            at = next((k for k, w in enumerate(self._line) if not w.priority), len(self._line))
            self._line.insert(at, waiter)
        else:
            self._line.append(waiter)

    def _grant(self, waiter: _Waiter) -> bool:
        """Take the gate for this waiter if its turn has come (caller holds the lock)."""
        if waiter.dropped:
            return False
        ahead = self._line[: self._line.index(waiter)]
        if waiter.exclusive:
            if ahead or self._writer or self._readers:
                return False
            self._writer = True
        else:
            if self._writer or any(w.exclusive for w in ahead) and not self._passes(waiter, ahead):
                return False
            self._readers += 1
            self._long_readers += waiter.long
        self._line.remove(waiter)
        return True

    def _passes(self, waiter: _Waiter, ahead: list[_Waiter]) -> bool:
        """A short reader may pass writers that wait only for long holds (other clients' dials): granting it
        delays them by one short hold at most, and no send waits for a dial."""
        return not waiter.long and self._long_readers > 0 and not any(w.priority for w in ahead)

    def _wake_front(self) -> None:
        """Wake the waiters whose turn may have come: the first writer, the readers at the front, and short
        readers that may pass writers held up by long holds."""
        if self._writer:
            return
        blocked = False
        for waiter in self._line:
            if waiter.exclusive:
                if waiter is self._line[0] and not self._readers:
                    waiter.wake()
                    return
                blocked = True
                if self._long_readers == 0 or waiter.priority:
                    return
                continue
            if not blocked or not waiter.long:
                waiter.wake()

    def _granted(self, exclusive: bool, max_seconds: float | None, long: bool) -> Hold:
        hold = Hold(self, exclusive, long)
        if max_seconds is not None:
            self._timers.after(max_seconds, hold)
        return hold

    # Asking -------------------------------------------------------------------------------------
    def hold(self, *, exclusive: bool, max_seconds: float | None, priority: bool = False, long: bool = False,
             owner: GateOwner | None = None) -> Hold:
        """Block this thread until its turn; the grant lasts until released or `max_seconds` (None: until
        released), whichever is first. Raises ClientStopping when the owner is closed before the grant."""
        if not self.enabled:
            return Hold(None, exclusive)
        waiter = _Waiter(exclusive, priority, long, owner)
        with self._lock:
            self._refuse_closed(owner)
            self._enqueue(waiter)
            granted = self._grant(waiter)
            self.waits += not granted
        while not granted:
            waiter.event.wait()
            waiter.event.clear()
            with self._lock:
                if waiter.dropped:
                    raise ClientStopping(STOPPING)
                granted = self._grant(waiter)
        with self._lock:
            self._wake_front()  # readers behind a reader may come along now
        return self._granted(exclusive, max_seconds, long)

    async def hold_async(self, *, exclusive: bool, max_seconds: float | None, priority: bool = False,
                         owner: GateOwner | None = None) -> Hold:
        """The same from the event loop, without pinning a thread."""
        if not self.enabled:
            return Hold(None, exclusive)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(exclusive, priority, False, owner, loop)
        with self._lock:
            self._refuse_closed(owner)
            self._enqueue(waiter)
            granted = self._grant(waiter)
            self.waits += not granted
        try:
            while not granted:
                await waiter.future
                with self._lock:
                    granted = self._grant(waiter)
                    if not granted:
                        waiter.future = loop.create_future()
        finally:
            with self._lock:
                if not granted and waiter in self._line:
                    self._line.remove(waiter)  # cancelled or dropped while in line
                self._wake_front()
        return self._granted(exclusive, max_seconds, False)

    def _refuse_closed(self, owner: GateOwner | None) -> None:
        if owner is not None and owner.closed:
            raise ClientStopping(STOPPING)

    def close(self, owner: GateOwner) -> int:
        """The owner's client is being stopped: its calls still in line fail with ClientStopping, and later
        ones at once. Returns how many were dropped."""
        dropped = 0
        with self._lock:
            owner.closed = True
            for waiter in [w for w in self._line if w.owner is owner]:
                self._line.remove(waiter)
                waiter.dropped = True
                dropped += 1
                if waiter.event is not None:
                    waiter.event.set()
                elif waiter.future is not None and not waiter.future.done():
                    with contextlib.suppress(RuntimeError):
                        waiter.loop.call_soon_threadsafe(_fail, waiter.future)
            self._wake_front()
        return dropped

    def _release(self, exclusive: bool, long: bool = False) -> None:
        with self._lock:
            if exclusive:
                self._writer = False
            else:
                self._readers -= 1
                self._long_readers -= long
            self._wake_front()

    # Helpers ------------------------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, exclusive: bool = False,
             max_seconds: float = SHARED_HOLD_SECONDS) -> T:
        """Run a blocking library call with the gate held for (at most the first `max_seconds` of) it."""
        hold = self.hold(exclusive=exclusive, max_seconds=max_seconds)
        try:
            return fn(*args)
        finally:
            hold.release()

    @contextlib.asynccontextmanager
    async def held(self, *, exclusive: bool = False, max_seconds: float | None = SHARED_HOLD_SECONDS,
                   priority: bool = False, owner: GateOwner | None = None) -> AsyncIterator[None]:
        """For neonize's async calls (which run the Go call on a worker thread): wait on the loop, then hold."""
        hold = await self.hold_async(exclusive=exclusive, max_seconds=max_seconds, priority=priority, owner=owner)
        try:
            yield
        finally:
            hold.release()


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _fail(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(ClientStopping(STOPPING))
