"""The simulated network's log of accepted messages, group-committed: many sends, one INSERT."""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy import insert

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging.models import MessageType
from fleet_dashboard.whatsapp.gateway import OutgoingFile
from fleet_dashboard.whatsapp.models import SimulatedKind, SimulatorSent

log = logging.getLogger(__name__)
MAX_BATCH = 1000


def _insert(rows: list[dict]) -> None:
    with get_engine().begin() as conn:
        conn.execute(insert(SimulatorSent.__table__), rows)


class SentLog:
    """Sends wait on a future that resolves after their row commits, so no send is acked early."""

    def __init__(self) -> None:
        self._pending: list[tuple[dict, asyncio.Future]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def write(self, org_id: uuid.UUID, wamid: str, phone: str, text: str, *,
                    file: OutgoingFile | None = None, kind: SimulatedKind = SimulatedKind.message) -> None:
        """Log one accepted message (a file's type, name and size too), presence update or look-up; returns once
        it is committed."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._drain(), name="simulator-sent-log")
        future = loop.create_future()
        row = {"id": uuid.uuid4(), "org_id": org_id, "whatsapp_message_id": wamid,
               "recipient_phone": phone, "text": text, "created_at": utcnow(),
               "message_type": file.kind if file else MessageType.text.value,
               "filename": file.filename if file else None, "size": len(file.data) if file else None,
               "kind": kind.value}
        self._pending.append((row, future))
        self._wake.set()
        await future

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    await asyncio.to_thread(_insert, [row for row, _ in batch])
                except Exception as exc:
                    log.exception("could not log %d simulated sends", len(batch))
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(RuntimeError(f"simulated network log failed: {exc}"))
                    continue
                for _, fut in batch:
                    if not fut.done():
                        fut.set_result(None)

    async def close(self) -> None:
        """Stop the writer once nothing is waiting."""
        if self._task is not None and not self._task.done():
            while self._pending:
                await asyncio.sleep(0.01)
            self._task.cancel()
        self._task = None
