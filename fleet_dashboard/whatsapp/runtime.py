"""Where the engine runs: inside the app as a lifespan task, or alone as `fleet-dashboard engine`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from fleet_dashboard.settings import get_settings
from fleet_dashboard.whatsapp.engine import Engine

log = logging.getLogger(__name__)
EXECUTOR_THREADS = 64
LIFESPAN_STOP_SECONDS = 4.5  # Reflex gives cancelled lifespan tasks 5 s to clean up

_engine: Engine | None = None


def current_engine() -> Engine:
    """The process's engine; it owns nothing until started, so callers may always ask it."""
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine


def reset_engine() -> None:
    """Forget the process's engine (tests)."""
    global _engine
    _engine = None


def use_big_executor(loop: asyncio.AbstractEventLoop) -> None:
    """Every blocking call goes through to_thread; 2 cores give a default pool of 6, far too few."""
    loop.set_default_executor(ThreadPoolExecutor(max_workers=EXECUTOR_THREADS,
                                                 thread_name_prefix="fleet-io"))


def standalone_loop() -> asyncio.Event:
    """Prepare the running loop of a standalone command: the big executor, and an Event that SIGTERM or
    SIGINT sets so the command can stop cleanly."""
    loop = asyncio.get_running_loop()
    use_big_executor(loop)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def start_with_retry(engine: Engine, stop: asyncio.Event | None = None) -> bool:
    """Start the engine, retrying while the database is unreachable; False if stopped first."""
    delay = 1.0
    while stop is None or not stop.is_set():
        try:
            await engine.start()
            return True
        except Exception as exc:
            log.error("engine could not start (%s); retrying in %.0fs", exc, delay)
            with contextlib.suppress(Exception):
                await engine.stop()
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 30.0)
    return False


async def engine_lifespan() -> None:
    """Run the engine for the web server's life (register with rx.App.register_lifespan_task)."""
    if not get_settings().run_engine:
        log.info("RUN_ENGINE is off: this process serves the web tier only")
        return
    use_big_executor(asyncio.get_running_loop())
    engine = current_engine()
    try:
        await start_with_retry(engine)
        await asyncio.Event().wait()
    finally:
        try:
            await asyncio.wait_for(asyncio.shield(engine.stop()), LIFESPAN_STOP_SECONDS)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("engine stop did not finish in time; locks go with the process")


async def run_engine_forever() -> None:
    """The `fleet-dashboard engine` command: run until SIGTERM or SIGINT, then stop cleanly."""
    stop = standalone_loop()
    engine = current_engine()
    log.info("WhatsApp engine %s starting (%s backend)", engine.engine_id, engine.factory.name)
    if await start_with_retry(engine, stop):
        log.info("WhatsApp engine running")
        await stop.wait()
    log.info("WhatsApp engine stopping")
    await engine.stop()
    log.info("WhatsApp engine stopped")
