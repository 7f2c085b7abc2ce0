"""Ownership of organisations across engine processes, by PostgreSQL session-level advisory locks.

The locks live on one connection per engine, so they last as long as PostgreSQL keeps that connection: a
process that dies loses them at once (its socket closes); a process that hangs, or a host that vanishes,
loses them within the lease time, because the server ends the connection itself (`idle_session_timeout`
when nothing arrives, TCP keepalives and `tcp_user_timeout` when the peer is gone). `keep_alive()` is the
engine's side of the bargain: a query every quarter of the lease while its event loop runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Iterable

import psycopg

log = logging.getLogger(__name__)


def server_timeouts(lease_seconds: float) -> str:
    """libpq `options` that make PostgreSQL end the lease connection of a silent or vanished engine in time.

    The server gives up on a session silent for 0.7 of the lease (the engine touches it every quarter), and on
    a peer that stopped answering TCP after about as long; the other engines look for free organisations
    every fifth of the lease (at most 2 s), so the organisations have moved before the lease is over."""
    silent_ms = int(lease_seconds * 700)
    idle = max(1, int(lease_seconds / 3))
    interval = max(1, int(lease_seconds / 8))
    return (f"-c idle_session_timeout={silent_ms} -c tcp_user_timeout={silent_ms} "
            f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval={interval} -c tcp_keepalives_count=3")


def lock_key(org_id: uuid.UUID) -> int:
    """A signed 64-bit advisory lock key for an organisation's WhatsApp socket."""
    digest = hashlib.blake2b(f"fleet-engine:{org_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leases:
    """One connection holds every lock this process owns: if the process dies, they all go with it."""

    def __init__(self, url: str, *, name: str = "fleet-engine-leases", lease_seconds: float = 10.0):
        self.url = url
        self.name = name
        self.lease_seconds = lease_seconds
        self.conn: psycopg.AsyncConnection | None = None
        self.held: set[uuid.UUID] = set()

    async def open(self) -> None:
        """Connect; every lock held before a lost connection is gone, so forget them."""
        await self.close()
        self.held.clear()
        self.conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                          application_name=self.name[:63],
                                                          options=server_timeouts(self.lease_seconds))

    async def keep_alive(self) -> None:
        """Touch the lease connection every quarter of the lease, forever (the engine runs it as a task)."""
        while True:
            await asyncio.sleep(self.lease_seconds / 4)
            conn = self.conn
            if conn is not None and not conn.closed:
                try:
                    await conn.execute("SELECT 1")
                except psycopg.Error:  # reconcile() notices the lost connection and reopens it
                    log.debug("lease keep-alive failed", exc_info=True)

    async def close(self) -> None:
        """Disconnect, which releases every lock at once."""
        if self.conn is not None:
            try:
                await self.conn.close()
            except Exception:  # already broken; nothing left to release
                log.debug("closing a broken lease connection", exc_info=True)
            self.conn = None
        self.held.clear()

    async def alive(self) -> bool:
        """True when the connection (and so every lock on it) is still there."""
        if self.conn is None or self.conn.closed:
            return False
        try:
            await self.conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    async def try_acquire(self, org_ids: Iterable[uuid.UUID], limit: int | None = None) -> set[uuid.UUID]:
        """Take the free locks among these organisations, in one round trip; returns the ones won.

        With `limit`, at most that many, chosen among the locks nobody holds (in the order given): an engine with
        room for one must not spend its turn on organisations other engines already own, or the last free one
        waits for a lucky draw (1 of 1,000 was still untaken after four minutes of a cold start)."""
        wanted = {o: lock_key(o) for o in org_ids if o not in self.held}
        if not wanted or self.conn is None or limit is not None and limit <= 0:
            return set()
        by_key = {k: o for o, k in wanted.items()}
        if limit is None:
            cur = await self.conn.execute(
                "SELECT k, pg_try_advisory_lock(k) FROM unnest(%s::bigint[]) AS k", (list(by_key),))
        else:  # the LIMIT in a subquery, so no lock is tried beyond it (PostgreSQL's advisory-lock caveat)
            cur = await self.conn.execute(
                "WITH held AS (SELECT (classid::bigint << 32) | objid::bigint AS k FROM pg_locks"
                "  WHERE locktype = 'advisory' AND objsubid = 1"
                "  AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
                " SELECT k, pg_try_advisory_lock(k) FROM ("
                "  SELECT k FROM unnest(%s::bigint[]) WITH ORDINALITY AS c(k, n)"
                "  WHERE k NOT IN (SELECT k FROM held) ORDER BY n LIMIT %s) AS free",
                (list(by_key), limit))
        won = {by_key[k] for k, ok in await cur.fetchall() if ok}
        self.held |= won
        return won

    async def take(self, org_ids: Iterable[uuid.UUID], engine_id: str,
                   limit: int | None = None) -> dict[uuid.UUID, int]:
        """Take the free locks among these organisations (at most `limit`, see try_acquire) and grow each won
        session's lease generation, both on this connection (so the generation grows only while the lock is
        surely held); returns the generations. A lock won for an organisation without a session row is given
        back, and so is every lock won when the generations could not be written: a lock held without a
        supervisor would keep its organisation from every engine, this one included."""
        won = await self.try_acquire(org_ids, limit)
        if not won or self.conn is None:
            return {}
        try:
            cur = await self.conn.execute(
                "UPDATE whatsapp_sessions SET lease_generation = lease_generation + 1, engine_id = %s"
                " WHERE org_id = ANY(%s) RETURNING org_id, lease_generation", (engine_id, list(won)))
            generations = {org_id: generation for org_id, generation in await cur.fetchall()}
        except Exception:
            for org_id in won:
                await self.release(org_id)
            raise
        for org_id in won - set(generations):
            await self.release(org_id)
        return generations

    async def release(self, org_id: uuid.UUID) -> None:
        """Give an organisation back so another process may take it."""
        if org_id not in self.held:
            return
        self.held.discard(org_id)
        if self.conn is not None and not self.conn.closed:
            try:
                await self.conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(org_id),))
            except psycopg.Error:
                log.warning("could not release the lock of %s; it goes with the connection", org_id)
