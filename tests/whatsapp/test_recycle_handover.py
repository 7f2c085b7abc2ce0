"""An engine whose library threads are stuck (abandoned pairings) recycles without dropping its connected
organisations: it takes nothing new, hands each one over to another engine (the new owner connects before the
old socket goes), writes nothing about them from the hand-over on, and only then lets its process restart."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session

from fleet_dashboard.whatsapp.engine.engine import Engine
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
from tests.whatsapp.conftest import audit_types, enabled_fleet, load_row, run, wait_row

ORGS = 3


class StuckFactory(SimulatorFactory):
    """A simulator whose library threads read as stuck once `stuck` is set."""

    stuck = 0

    def stuck_threads(self) -> int:
        return self.stuck


def test_a_recycling_engine_hands_its_organisations_over_before_it_exits(sim_env, db: Session, make_org,
                                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ENGINE_MAX_STUCK_THREADS", "4")
    ids = enabled_fleet(db, [make_org(name=f"Fleet {k}") for k in range(ORGS)], lambda k: f"+20100888000{k}")

    async def body():
        old_factory = StuckFactory()
        old = Engine(old_factory, reconcile_seconds=0.3, engine_id="old-engine")
        await old.start()
        new = None
        try:
            first = {o: await wait_row(o, lambda r: r.status == "connected" and r.engine_id == "old-engine")
                     for o in ids}
            new = Engine(SimulatorFactory(), reconcile_seconds=0.3, engine_id="new-engine")
            await new.start()
            await asyncio.sleep(1.0)
            assert new.owned_org_ids() == set()  # nothing free: the old engine holds them all
            old_factory.stuck = 4
            await asyncio.wait_for(old.recycle.wait(), 60)
            for o in ids:
                row = await wait_row(o, lambda r: r.status == "connected" and r.engine_id == "new-engine")
                assert row.lease_generation == first[o].lease_generation + 1
                assert new.is_connected(o)
            assert old.owned_org_ids() == set() and old.draining
            await new.send_text(ids[0], "+201005550003", "after the hand-over")
            await old.stop()  # what the recycling process does next: it marks nothing, it holds nothing
            for o in ids:
                row = await asyncio.to_thread(load_row, o)
                assert row.status == "connected" and row.engine_id == "new-engine"
                types = await asyncio.to_thread(audit_types, o)
                assert types.count("session_connected") == 2 and "session_disconnected" not in types
        finally:
            await old.stop()
            if new is not None:
                await new.stop()

    run(body, timeout=120)
