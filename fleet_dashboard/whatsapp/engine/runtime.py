"""Where the engine runs: its own process (`fleet-dashboard engine`, which `fleet-dashboard run` starts and
restarts), never the web process, so an abort of the WhatsApp library cannot take the dashboard down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.notifications.worker import Worker
from fleet_dashboard.whatsapp.engine.engine import Engine
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
from fleet_dashboard.whatsapp.gateway import GatewayFactory
from fleet_dashboard.whatsapp.start_marker import StartMarker

log = logging.getLogger(__name__)
EXECUTOR_THREADS = 64
# The exit code of an engine that restarts on purpose (too many stuck library threads): no backoff.
RECYCLE_EXIT_CODE = 75

_engine: Engine | None = None


def make_factory(backend: str | None = None) -> GatewayFactory:
    """The gateway factory for settings.whatsapp_backend; imports neonize only when chosen."""
    if (backend or get_settings().whatsapp_backend) == "simulator":
        return SimulatorFactory()
    # The one import of the adapter: only an engine process that runs the real library loads neonize.
    from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory

    return NeonizeFactory()


def current_engine() -> Engine:
    """The process's engine; it owns nothing until started, so callers may always ask it."""
    global _engine
    if _engine is None:
        _engine = Engine(make_factory())
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


async def run_engine_forever(*, with_worker: bool | None = None, worker_config=None) -> int:
    """The `fleet-dashboard engine` command: the engine and, beside it, the queue worker (only the socket's owner
    sends), until SIGTERM or SIGINT; returns the process's exit code."""
    stop = standalone_loop()
    engine = current_engine()
    marker = StartMarker.from_env()  # `run` reads it if this process dies: which starts were inside the library
    if marker is not None:
        engine.factory.on_entering, engine.factory.on_left = marker.entering, marker.left
    with_worker = get_settings().run_worker if with_worker is None else with_worker
    log.info("WhatsApp engine %s starting (%s backend, up to %d organisations)", engine.engine_id,
             engine.factory.name, engine.capacity)
    code = 0
    if await start_with_retry(engine, stop):
        log.info("WhatsApp engine running%s", " with the queue worker" if with_worker else "")
        worker_stop = asyncio.Event()
        worker = (asyncio.create_task(Worker(engine, config=worker_config).run(worker_stop)) if with_worker
                  else None)
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(engine.recycle.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if engine.recycle.is_set() and not stop.is_set():
            code = RECYCLE_EXIT_CODE
        if worker is not None:
            worker_stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker, 30)
    log.info("WhatsApp engine stopping")
    await engine.stop()
    log.info("WhatsApp engine stopped")
    return code
