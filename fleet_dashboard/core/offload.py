"""Blocking work off the web process's event loop.

Reflex runs every event handler, its middleware and its background watchers on one asyncio loop per backend
worker, and the HTTP API's `async def` routes share it. A database query, an argon2 hash or a CSV page run
there stalls every tab and every request that worker serves. `run_sync` runs such work on a bounded pool of
threads instead, with the caller's context variables (the admitted caller, Reflex's registration context),
so the loop keeps answering while it waits.

The chokepoint (web/access.py) sends every synchronous event handler through here, and awaits the
caller check the same way; async handlers await `run_sync` around their own blocking calls.

Work that is mostly CPU (the CSV export's pages) goes further, to a helper process (`in_process`): threads
share the interpreter lock with the loop, processes do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import gc
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from fleet_dashboard.core import db

T = TypeVar("T")

# Below the database pool (db.py: 10 + 10 overflow), so a thread that holds a connection never waits on
# other threads for one; more concurrent events than this queue here, off the loop.
THREADS = 16

# How often a thread holding the GIL is asked to hand it over (CPython's default is 5 ms). A thread that
# formats CSV or hydrates rows holds it for as long as it is allowed to, and the loop waits for it on every
# wake-up: on a busy machine, 5 ms per hand-over became hundreds of ms of loop lag (bench/scale.py). The web
# process trades a little thread throughput for the loop's latency.
WEB_SWITCH_INTERVAL = 0.001
# CPU-heavy work (CSV pages) runs in helper processes: a thread of this process would hold the GIL the loop
# needs, and its garbage would be collected while the loop waits. Few, and at a lower scheduling priority, so
# on a busy machine the kernel runs the loop (and PostgreSQL) first.
PROCESSES = 1
PROCESS_NICENESS = 10
PARENT_CHECK_SECONDS = 1.0

_executor: ThreadPoolExecutor | None = None
_processes: tuple[str, ProcessPoolExecutor] | None = None
_processes_lock = threading.Lock()


def tune_for_web() -> None:
    """Call once in a web worker, after the app is loaded: favour the event loop.

    Threads competing for the GIL hand it over every WEB_SWITCH_INTERVAL. And the app's own objects (Reflex's
    compiled pages, states, the imported libraries: hundreds of thousands) move to the permanent generation,
    so the full collections that busy exports trigger no longer walk them while the loop waits."""
    sys.setswitchinterval(min(sys.getswitchinterval(), WEB_SWITCH_INTERVAL))
    gc.collect()
    gc.freeze()


def _process_started(database_url: str, parent: int) -> None:
    """A helper process's start: the parent's database, a lower scheduling priority, and a watch on the
    parent, so a web worker killed outright (kill -9, out of memory) leaves no helper behind."""
    os.environ["DATABASE_URL"] = database_url
    with contextlib.suppress(OSError):
        os.nice(PROCESS_NICENESS)
    threading.Thread(target=_exit_with, args=(parent,), name="fd-parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _process_pool() -> ProcessPoolExecutor:
    """This process's helper processes, for the database it uses now (tests switch databases)."""
    global _processes

    url = db.database_url()
    with _processes_lock:
        if _processes is None or _processes[0] != url:
            if _processes is not None:
                _processes[1].shutdown(wait=False, cancel_futures=True)
            pool = ProcessPoolExecutor(max_workers=PROCESSES, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_process_started, initargs=(url, os.getpid()))
            _processes = (url, pool)
        return _processes[1]


def _forget(pool: ProcessPoolExecutor) -> None:
    global _processes
    with _processes_lock:
        if _processes is not None and _processes[1] is pool:
            _processes = None
    pool.shutdown(wait=False, cancel_futures=True)


def in_process(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """`fn(**kwargs)` in a helper process, waiting for it (call from a worker thread, never on the loop).

    `fn` must be a module-level function whose arguments and result pickle, and safe to run twice: a helper
    that dies (killed, out of memory) is replaced and the call made once more in the new one."""
    pool = _process_pool()
    try:
        return pool.submit(fn, **kwargs).result()
    except BrokenProcessPool:
        _forget(pool)
    return _process_pool().submit(fn, **kwargs).result()  # a second death is the caller's error


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="fd-offload")
    return _executor


async def run_sync(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` on the offload pool, with this task's context variables; the loop stays free."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool(), call)


_DONE = object()


async def iterate_sync(make: Callable[[], Any]):
    """An async generator over the synchronous generator `make()` returns, each step run on the offload pool."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    generator = await loop.run_in_executor(_pool(), context.run, make)

    def step() -> Any:
        try:
            return next(generator)
        except StopIteration as stop:  # the generator's return value is one more event, as Reflex treats it
            return (_DONE, stop.value)

    try:
        while True:
            item = await loop.run_in_executor(_pool(), context.run, step)
            if isinstance(item, tuple) and len(item) == 2 and item[0] is _DONE:
                if item[1] is not None:
                    yield item[1]
                return
            yield item
    finally:
        await loop.run_in_executor(_pool(), context.run, generator.close)
