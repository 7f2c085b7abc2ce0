"""A live stack in the test process: the real engine with the simulator, the queue worker, and the API."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.api import BASE_URL

# The simulator's control routes are open in test mode, as in development (SIMULATOR_TOKEN unset); a
# stray credential is ignored, so callers may still send this.
SIMULATOR: dict[str, str] = {}
# Simulator timings in tenths of a second, no throttle, the PostgreSQL bus as in production.
LIVE_ENV = {
    "WHATSAPP_BACKEND": "simulator",
    "BUS_BACKEND": "postgres",
    "SIMULATOR_QR_ROTATE_SECONDS": "5",
    "SIMULATOR_RECEIPT_DELAY_SECONDS": "0.1",
    "RECONNECT_BASE_SECONDS": "0.2",
    "RECONNECT_MAX_SECONDS": "0.8",
    "SEND_RATE_PER_MINUTE": "0",
    # Typing presence stays on (the product's default) but short.
    "TYPING_MIN_SECONDS": "0.01",
    "TYPING_MAX_SECONDS": "0.05",
}


@dataclass
class Live:
    """What a live test drives: an HTTP client, the engine, and helpers a user would use."""

    client: httpx.AsyncClient
    engine: Any

    async def scan(self, org_id: uuid.UUID, phone: str = "+201001112223", name: str = "Fleet Ops") -> None:
        """Scan the QR with a simulated phone (the simulator's control route) and wait until connected."""
        r = await self.client.post(f"/api/simulator/{org_id}/scan", json={"phone": phone, "name": name},
                                   headers=SIMULATOR)
        assert r.status_code == 200, r.text
        await self.until(lambda: self.engine.is_connected(org_id), what="connected")

    async def sent_count(self, org_id: uuid.UUID) -> int:
        """How many messages the simulated network accepted for the organisation (not its presence updates or
        look-ups, which its log also holds)."""
        r = await self.client.get(f"/api/simulator/{org_id}/sent?kind=message", headers=SIMULATOR)
        assert r.status_code == 200, r.text
        return r.json()["count"]

    @staticmethod
    async def until(predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def live_stack(make_app: Callable[[], Any], *, with_worker: bool = True, factory: Any = None
                     ) -> AsyncIterator[Live]:
    """Start engine and worker on this loop, yield, then stop both within a few seconds."""
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig
    from fleet_dashboard.whatsapp.engine.engine import Engine
    from fleet_dashboard.whatsapp.engine.runtime import use_big_executor
    from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory

    use_big_executor(asyncio.get_running_loop())
    engine = Engine(factory or SimulatorFactory(), reconcile_seconds=0.3)
    await engine.start()
    stop = asyncio.Event()
    worker = Worker(engine, config=WorkerConfig(poll_seconds=0.2))
    worker_task = asyncio.create_task(worker.run(stop)) if with_worker else None
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL,
                                     timeout=30) as client:
            yield Live(client=client, engine=engine)
    finally:
        stop.set()
        if worker_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker_task, 10)
        else:
            await worker.close()
        await asyncio.wait_for(engine.stop(), 15)
