"""neonize clients' shared side: one store in the app database, one gate, and the clean-up of finished clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid

from neonize._binder import func_callback_bytes2, gocode
from neonize.aioze.client import NewAClient
from neonize.utils.log import log_whatsmeow

from fleet_dashboard.settings import get_settings
from fleet_dashboard.whatsapp import store_connections
from fleet_dashboard.whatsapp.gateway import EventSink, GatewayFactory, reason_of
from fleet_dashboard.whatsapp.library_gate import LibraryGate
from fleet_dashboard.whatsapp.neonize_gateway.adapter import (
    CALL_TIMEOUT,
    STOP_HOLD_SECONDS,
    STOP_TIMEOUT,
    NeonizeGateway,
)
from fleet_dashboard.whatsapp.store_connections import APP_PREFIX

log = logging.getLogger(__name__)


class NeonizeFactory(GatewayFactory):
    """Clients share one whatsmeow store in the app database, one device per organisation."""

    name = "neonize"

    def __init__(self, database_url: str | None = None, *, dial: bool = True, sweep_seconds: float = 30.0,
                 gate: LibraryGate | None = None):
        from fleet_dashboard.db import database_url as app_database_url
        from fleet_dashboard.db import libpq_url

        settings = get_settings()
        self.database_url = libpq_url(database_url or app_database_url())
        self.dial = dial  # False builds clients that never connect: tests feed them events
        self.sweep_seconds = sweep_seconds
        self.gate = gate or LibraryGate(enabled=settings.neonize_serialize)
        self.start_hold_seconds = settings.neonize_start_hold_seconds
        self.idle_seconds = settings.neonize_store_idle_seconds
        self.live: dict[uuid.UUID, NeonizeGateway] = {}
        self.stuck: set[threading.Thread] = set()
        self._retired: list[NewAClient] = []
        self._retirer: asyncio.Task | None = None
        self._prepared = False
        self._prepare_lock: asyncio.Lock | None = None

    def create(self, org_id: uuid.UUID, sink: EventSink) -> NeonizeGateway:
        return NeonizeGateway(org_id, sink, self)

    def dsn(self, app_name: str) -> str:
        """The store's URL for one connect attempt's pool."""
        return store_connections.store_dsn(self.database_url, app_name, idle_seconds=self.idle_seconds)

    async def device_exists(self, jid: str) -> bool:
        return await asyncio.to_thread(store_connections.device_exists, self.database_url, jid)

    async def forget_device(self, jid: str) -> None:
        await asyncio.to_thread(store_connections.forget_device, self.database_url, jid)

    def stuck_threads(self) -> int:
        self.stuck = {t for t in self.stuck if t.is_alive()}
        return len(self.stuck)

    async def prepare_store(self) -> None:
        """Create whatsmeow's tables once, before concurrent connects could race to create them."""
        if self._prepared or not self.dial:
            return
        self._prepare_lock = self._prepare_lock or asyncio.Lock()
        async with self._prepare_lock:
            if self._prepared:
                return
            app_name = f"{APP_PREFIX}prepare"
            cb = func_callback_bytes2(log_whatsmeow)
            await asyncio.wait_for(asyncio.to_thread(gocode.GetAllDevices, self.dsn(app_name).encode(), cb),
                                   CALL_TIMEOUT)
            await self.reap(app_name)
            self._prepared = True

    async def reap(self, app_name: str) -> int:
        """End the server backends a finished connect attempt left open."""
        return await asyncio.to_thread(store_connections.terminate, self.database_url, app_name)

    def retire(self, client: NewAClient) -> None:
        """A finished client Go still holds in its maps (about half a megabyte each): Stop it soon, in line."""
        self._retired.append(client)
        if self._retirer is None or self._retirer.done():
            self._retirer = asyncio.get_running_loop().create_task(self._retire_all(), name="neonize-retire")

    async def _retire_all(self) -> None:
        while self._retired:
            client = self._retired.pop(0)
            try:
                async with self.gate.held(exclusive=True, max_seconds=STOP_HOLD_SECONDS):
                    await asyncio.wait_for(client.stop(), CALL_TIMEOUT)
            except Exception as exc:
                log.warning("could not release a finished WhatsApp client: %s", reason_of(exc))

    async def close(self) -> None:
        """Release the finished clients, and end whatever their pools left open."""
        if self._retirer is not None and not self._retirer.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._retirer), STOP_TIMEOUT)
        await self.sweep()

    async def sweep(self) -> int:
        """Terminate this process's neonize connections that belong to no live client."""
        live = [g.app_name for g in self.live.values()]
        return await asyncio.to_thread(store_connections.terminate_strays, self.database_url, live)

    async def run(self) -> None:
        """Now and then end strays of this process that belong to no live client."""
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeping neonize connections failed")
