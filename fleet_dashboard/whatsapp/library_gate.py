"""Serialize calls into the WhatsApp library, whose Go layer keeps its clients in maps without a lock.

goneonize writes its `clients`, `eventChannel` and `StopSignal` maps at the start of `Neonize()` and in
`Stop()`, and reads them at the start of every other call. Go aborts the whole process on a concurrent
map write, or a read during a write. Reads may overlap each other, so this is a readers-writer gate:
starts and stops hold it exclusively, every other call shares it. The maps are only touched in the first
moments of a call while the call itself may block for a long time (a send waits for WhatsApp's ack, a
start runs for the session's life), so each hold ends after `max_seconds` even if the call goes on.
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


class LibraryGate:
    """A readers-writer gate whose holds expire; writers go first so a stream of sends cannot starve a stop."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        # Event-loop waiters, woken on every release: waiting must not pin a worker thread each.
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._timers = _Timers()
        self.waits = 0  # grants that had to wait (how often the gate actually separated two calls)

    def _try(self, exclusive: bool) -> bool:
        """Grant if free (caller holds the condition): writers need it empty, readers need no writer waiting."""
        if exclusive:
            if self._writer or self._readers:
                return False
            self._writer = True
        else:
            if self._writer or self._writers_waiting:
                return False
            self._readers += 1
        return True

    def _granted(self, exclusive: bool, max_seconds: float) -> Hold:
        hold = Hold(self, exclusive)
        self._timers.after(max_seconds, hold)
        return hold

    def hold(self, *, exclusive: bool, max_seconds: float) -> Hold:
        """Block this thread until granted; the grant lasts until released or `max_seconds`, whichever is first."""
        if not self.enabled:
            return Hold(None, exclusive)
        waited = False
        with self._cond:
            self._writers_waiting += exclusive  # from now on, new readers queue behind this writer
            try:
                while not self._try(exclusive):
                    waited = True
                    self._cond.wait()
            finally:
                self._writers_waiting -= exclusive
            self.waits += waited
        return self._granted(exclusive, max_seconds)

    async def hold_async(self, *, exclusive: bool, max_seconds: float) -> Hold:
        """The same from the event loop, without pinning a thread: woken by every release, it tries again."""
        if not self.enabled:
            return Hold(None, exclusive)
        loop = asyncio.get_running_loop()
        waited = counted = False
        try:
            while True:
                with self._cond:
                    if exclusive and not counted:
                        self._writers_waiting += 1
                        counted = True
                    if self._try(exclusive):
                        self.waits += waited
                        break
                    waiter = loop.create_future()
                    self._async_waiters.append((loop, waiter))
                waited = True
                await waiter
        finally:
            if counted:
                with self._cond:
                    self._writers_waiting -= 1
                    waiters = self._wake_all()
                _notify(waiters)
        return self._granted(exclusive, max_seconds)

    def _wake_all(self) -> list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]:
        """Wake every waiter (caller holds the condition); returns the loop waiters to notify after it."""
        self._cond.notify_all()
        waiters, self._async_waiters = self._async_waiters, []
        return waiters

    def _release(self, exclusive: bool) -> None:
        with self._cond:
            if exclusive:
                self._writer = False
            else:
                self._readers -= 1
            waiters = self._wake_all()
        _notify(waiters)

    def call(self, fn: Callable[..., T], *args: Any, exclusive: bool = False,
             max_seconds: float = SHARED_HOLD_SECONDS) -> T:
        """Run a blocking library call with the gate held for (at most the first `max_seconds` of) it."""
        hold = self.hold(exclusive=exclusive, max_seconds=max_seconds)
        try:
            return fn(*args)
        finally:
            hold.release()

    @contextlib.asynccontextmanager
    async def held(self, *, exclusive: bool = False, max_seconds: float = SHARED_HOLD_SECONDS) -> AsyncIterator[None]:
        """For neonize's async calls (which run the Go call on a worker thread): wait on the loop, then hold."""
        hold = await self.hold_async(exclusive=exclusive, max_seconds=max_seconds)
        try:
            yield
        finally:
            hold.release()


def _notify(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]) -> None:
    for loop, waiter in waiters:
        with contextlib.suppress(RuntimeError):  # its loop has closed
            loop.call_soon_threadsafe(_wake, waiter)


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)
