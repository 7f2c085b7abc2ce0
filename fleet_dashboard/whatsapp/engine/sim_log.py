"""The simulated network's log of accepted messages, group-committed: many sends, one INSERT."""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as upsert

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.tables import batch_json, utcnow
from fleet_dashboard.messaging.models import MessageType
from fleet_dashboard.whatsapp.engine import library_errors
from fleet_dashboard.whatsapp.gateway import OutgoingFile
from fleet_dashboard.whatsapp.models import SimulatedKind, SimulatorSocket

log = logging.getLogger(__name__)
MAX_BATCH = 1000
SOCKETS = SimulatorSocket.__table__
# What whatsmeow answers a send on a socket the server closed (StreamReplaced): nothing was written.
REPLACED_SEND = "failed to send message node: websocket not connected"


def claim_device(device: str, socket_id: str, engine_id: str) -> None:
    """The simulated server's one socket per device: this socket is the device's now; the one before is
    replaced (its engine reads that on its next sweep, however late)."""
    with get_engine().begin() as conn:
        values = {"socket_id": socket_id, "engine_id": engine_id, "connected_at": utcnow()}
        conn.execute(upsert(SOCKETS).values(device=device, **values)
                     .on_conflict_do_update(index_elements=["device"], set_=values))


def release_device(device: str, socket_id: str) -> None:
    """A socket closed by its own client: the device has no socket until the next connect."""
    with get_engine().begin() as conn:
        conn.execute(delete(SOCKETS).where(SOCKETS.c.device == device, SOCKETS.c.socket_id == socket_id))


def socket_owners(devices: list[str]) -> dict[str, str]:
    """Which socket each device's connection is on now (devices nobody holds are absent)."""
    if not devices:
        return {}
    with get_engine().begin() as conn:
        return dict(conn.execute(select(SOCKETS.c.device, SOCKETS.c.socket_id)
                                 .where(SOCKETS.c.device.in_(devices))).all())


# One statement per batch whatever its size, its rows one JSON document (an executemany of dicts cost the engine's
# loop more CPU than the sends it logged).
_INSERT_SQL = text("""
INSERT INTO simulator_sent (id, org_id, whatsapp_message_id, recipient_phone, text, created_at, message_type,
                            filename, size, kind)
SELECT id, org_id, whatsapp_message_id, recipient_phone, text, created_at, message_type, filename, size, kind
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
    AS d(id uuid, org_id uuid, whatsapp_message_id text, recipient_phone text, text text, created_at timestamptz,
         message_type text, filename text, size bigint, kind text)
""")


def _insert(rows: list[dict], sockets: list[tuple[str, str] | None]) -> list[int]:
    """Insert the rows whose socket still holds its device; returns the indexes of the others (the server closed
    their socket: the frame never reached it)."""
    with get_engine().begin() as conn:
        devices = sorted({s[0] for s in sockets if s is not None})
        owners = dict(conn.execute(select(SOCKETS.c.device, SOCKETS.c.socket_id)
                                   .where(SOCKETS.c.device.in_(devices)).with_for_update(read=True)).all()) \
            if devices else {}
        refused = [i for i, s in enumerate(sockets) if s is not None and owners.get(s[0]) != s[1]]
        gone = set(refused)
        kept = [row for i, row in enumerate(rows) if i not in gone]
        if kept:
            conn.execute(_INSERT_SQL, {"rows": batch_json(kept)})
        return refused


class SentLog:
    """Sends wait on a future that resolves after their row commits, so no send is acked early."""

    def __init__(self) -> None:
        self._pending: list[tuple[dict, tuple[str, str] | None, asyncio.Future]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def write(self, org_id: uuid.UUID, wamid: str, phone: str, text: str, *,
                    file: OutgoingFile | None = None, kind: SimulatedKind = SimulatedKind.message,
                    socket: tuple[str, str] | None = None) -> None:
        """Log one accepted message (a file's type, name and size too), presence update or look-up; returns once
        it is committed. With `socket` (device, socket id), only while that socket holds the device: else it
        raises what the library says for a closed socket, and nothing is logged."""
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
        self._pending.append((row, socket, future))
        self._wake.set()
        await future

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    refused = set(await asyncio.to_thread(_insert, [row for row, _, _ in batch],
                                                          [socket for _, socket, _ in batch]))
                except Exception as exc:
                    log.exception("could not log %d simulated sends", len(batch))
                    for _, _, fut in batch:
                        if not fut.done():
                            fut.set_exception(RuntimeError(f"simulated network log failed: {exc}"))
                    continue
                for i, (_, _, fut) in enumerate(batch):
                    if fut.done():
                        continue
                    if i in refused:
                        fut.set_exception(library_errors.send_error(REPLACED_SEND))
                    else:
                        fut.set_result(None)

    async def close(self) -> None:
        """Stop the writer once nothing is waiting."""
        if self._task is not None and not self._task.done():
            while self._pending:
                await asyncio.sleep(0.01)
            self._task.cancel()
        self._task = None
