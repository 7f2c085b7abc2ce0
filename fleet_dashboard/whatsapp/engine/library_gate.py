"""Serialize calls into the WhatsApp library, whose Go layer keeps its clients in maps without a lock.

goneonize writes its `clients`, `eventChannel` and `StopSignal` maps at the start of `Neonize()` and in
`Stop()`, and reads them at the start of every other call. Go aborts the whole process on a concurrent
map write, or a read during a write. Reads may overlap each other, so this is a readers-writer gate:
starts and stops hold it exclusively, every other call shares it. The maps are only touched in the first
moments of a call while the call itself may block for a long time (a send waits for WhatsApp's ack, a
start runs for the session's life), so each hold ends after `max_seconds` even if the call goes on.
Requests are served in arrival order, stops first: a mass reconnect queues many starts, and neither sends
nor closing sockets may wait behind all of them.
That narrows the race to calls that take longer than their hold to reach the map; it cannot close it
(the library reads the maps from its own goroutines too), which is why the engine runs in processes
that may die (see docs/ARCHITECTURE.md).
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


class Hold:
    """One grant of the gate; released by `release()` or by the clock, whichever comes first."""

    __slots__ = ("_gate", "_exclusive", "_released", "_lock")

    def __init__(self, gate: LibraryGate | None, exclusive: bool):
        self._gate = gate
        self._exclusive = exclusive
        self._released = gate is None
        self._lock = threading.Lock()

    def release(self) -> None:
        """Give the gate back; safe to call more than once, from any thread."""
        with self._lock:
            if self._released:
                return
            self._released = True
        self._gate._release(self._exclusive)


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

    __slots__ = ("exclusive", "priority", "loop", "future", "event")

    def __init__(self, exclusive: bool, priority: bool, loop: asyncio.AbstractEventLoop | None = None):
        self.exclusive, self.priority, self.loop = exclusive, priority, loop
        self.future: asyncio.Future | None = loop.create_future() if loop is not None else None
        self.event = threading.Event() if loop is None else None

    def wake(self) -> None:
        if self.event is not None:
            self.event.set()
        elif self.future is not None and not self.future.done():
            with contextlib.suppress(RuntimeError):  # its loop has closed
                self.loop.call_soon_threadsafe(_wake, self.future)


class LibraryGate:
    """A fair readers-writer gate whose holds expire: requests are served in arrival order (readers side by
    side), except that stops (`priority`) go ahead of every other waiter, so a storm of starts cannot hold up
    closing a socket, and a stream of sends cannot starve a start."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._readers = 0
        self._writer = False
        self._line: list[_Waiter] = []
        self._timers = _Timers()
        self.waits = 0  # grants that had to wait (how often the gate actually separated two calls)

    def _enqueue(self, waiter: _Waiter) -> None:
        if waiter.priority:  # behind the other stops, ahead of everything else
            at = next((k for k, w in enumerate(self._line) if not w.priority), len(self._line))
            self._line.insert(at, waiter)
        else:
            self._line.append(waiter)

    def _grant(self, waiter: _Waiter) -> bool:
        """Take the gate for this waiter if its turn has come (caller holds the lock)."""
        ahead = self._line[: self._line.index(waiter)]
        if waiter.exclusive:
            if ahead or self._writer or self._readers:
                return False
            self._writer = True
        else:
            if self._writer or any(w.exclusive for w in ahead):
                return False
            self._readers += 1
        self._line.remove(waiter)
        return True

    def _wake_front(self) -> None:
        """Wake the waiters whose turn may have come: the first writer, or the readers at the front."""
        if self._writer:
            return
        for waiter in self._line:
            if waiter.exclusive:
                if waiter is self._line[0] and not self._readers:
                    waiter.wake()
                return
            waiter.wake()

    def _granted(self, exclusive: bool, max_seconds: float) -> Hold:
        hold = Hold(self, exclusive)
        self._timers.after(max_seconds, hold)
        return hold

    def hold(self, *, exclusive: bool, max_seconds: float, priority: bool = False) -> Hold:
        """Block this thread until its turn; the grant lasts until released or `max_seconds`, whichever is first."""
        if not self.enabled:
            return Hold(None, exclusive)
        waiter = _Waiter(exclusive, priority)
        with self._lock:
            self._enqueue(waiter)
            granted = self._grant(waiter)
            self.waits += not granted
        while not granted:
            waiter.event.wait()
            waiter.event.clear()
            with self._lock:
                granted = self._grant(waiter)
        with self._lock:
            self._wake_front()  # readers behind a reader may come along now
        return self._granted(exclusive, max_seconds)

    async def hold_async(self, *, exclusive: bool, max_seconds: float, priority: bool = False) -> Hold:
        """The same from the event loop, without pinning a thread."""
        if not self.enabled:
            return Hold(None, exclusive)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(exclusive, priority, loop)
        with self._lock:
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
                if not granted:
                    self._line.remove(waiter)  # cancelled while in line
                self._wake_front()
        return self._granted(exclusive, max_seconds)

    def _release(self, exclusive: bool) -> None:
        with self._lock:
            if exclusive:
                self._writer = False
            else:
                self._readers -= 1
            self._wake_front()

    def call(self, fn: Callable[..., T], *args: Any, exclusive: bool = False,
             max_seconds: float = SHARED_HOLD_SECONDS) -> T:
        """Run a blocking library call with the gate held for (at most the first `max_seconds` of) it."""
        hold = self.hold(exclusive=exclusive, max_seconds=max_seconds)
        try:
            return fn(*args)
        finally:
            hold.release()

    @contextlib.asynccontextmanager
    async def held(self, *, exclusive: bool = False, max_seconds: float = SHARED_HOLD_SECONDS,
                   priority: bool = False) -> AsyncIterator[None]:
        """For neonize's async calls (which run the Go call on a worker thread): wait on the loop, then hold."""
        hold = await self.hold_async(exclusive=exclusive, max_seconds=max_seconds, priority=priority)
        try:
            yield
        finally:
            hold.release()


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)
