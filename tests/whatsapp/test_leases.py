"""Leases on a real PostgreSQL: held while the engine touches its connection, gone within the lease when it
falls silent (a hung process keeps its socket open; only the server's timeout frees its organisations)."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg

from fleet_dashboard.core.db import libpq_url, normalize_url
from fleet_dashboard.whatsapp.engine.leases import Leases, lock_key

LEASE = 2.0


async def _free(url: str, org_id: uuid.UUID) -> bool:
    """Whether another connection can take the organisation's lock right now (and gives it back)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(org_id),))
        won = (await cur.fetchone())[0]
        if won:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(org_id),))
        return won


def test_a_touched_lease_holds_and_a_silent_one_ends_within_the_lease(database_url: str) -> None:
    url = libpq_url(normalize_url(database_url))

    async def scenario() -> tuple[bool, float]:
        kept, silent = Leases(url, lease_seconds=LEASE), Leases(url, lease_seconds=LEASE)
        a, b = uuid.uuid4(), uuid.uuid4()
        await kept.open()
        await silent.open()
        assert await kept.try_acquire({a}) == {a} and await silent.try_acquire({b}) == {b}
        toucher = asyncio.create_task(kept.keep_alive())
        try:
            started = time.monotonic()
            while not await _free(url, b):
                assert time.monotonic() - started < LEASE * 2, "the silent lease never ended"
                await asyncio.sleep(0.05)
            freed_after = time.monotonic() - started
            await asyncio.sleep(LEASE)  # well past the silent one's end
            still_held = not await _free(url, a) and await kept.alive()
            assert not await silent.alive()  # the engine notices, and drops its sessions (Engine.reconcile)
        finally:
            toucher.cancel()
            await kept.close()
            await silent.close()
        return still_held, freed_after

    still_held, freed_after = asyncio.run(scenario())
    assert still_held
    assert freed_after <= LEASE, freed_after


def test_a_take_with_room_for_two_holds_two_locks_and_leaves_the_rest_free(database_url: str) -> None:
    url = libpq_url(normalize_url(database_url))

    async def scenario() -> None:
        leases = Leases(url)
        await leases.open()
        try:
            orgs = [uuid.uuid4() for _ in range(5)]
            won = await leases.try_acquire(orgs, limit=2)
            assert won == set(orgs[:2]) and leases.held == won
            assert [await _free(url, o) for o in orgs] == [False, False, True, True, True]
        finally:
            await leases.close()

    asyncio.run(scenario())
