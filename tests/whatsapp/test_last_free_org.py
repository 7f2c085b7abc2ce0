"""A cold start must leave no organisation behind: an engine with room takes the organisations nobody holds,
however many others the fleet's engines already own. It used to draw its room at random among every wanted
organisation, so with the fleet nearly full the last free one waited for a lucky draw (in the 1,000-organisation
storm one was still untaken after four minutes, its notification never sent)."""

from __future__ import annotations

from sqlmodel import Session

from fleet_dashboard.core.db import database_url, libpq_url
from fleet_dashboard.whatsapp.engine.engine import Engine
from fleet_dashboard.whatsapp.engine.leases import Leases
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
from tests.whatsapp.conftest import enabled_fleet, load_row, run, wait_row

ORGS = 40


def test_an_engine_with_room_for_one_takes_the_one_organisation_nobody_holds(sim_env, db: Session, make_org):
    orgs = [make_org(name=f"Storm {k}") for k in range(ORGS)]
    enabled_fleet(db, orgs, lambda k: f"+2010077{k:05d}")
    held, free = [o.id for o in orgs[1:]], orgs[0].id

    async def body():
        others = Leases(libpq_url(database_url()))  # the rest of the fleet: every other organisation is owned
        await others.open()
        engine = Engine(SimulatorFactory(), reconcile_seconds=30, engine_id="last-engine", capacity=1)
        try:
            assert await others.take(held, "other-engines") and others.held == set(held)
            await engine.start()  # one look at the free organisations, the next one 30 s away
            assert engine.owned_org_ids() == {free}
            await wait_row(free, lambda r: r.status == "connected" and r.engine_id == "last-engine")
        finally:
            await engine.stop()
            await others.close()
        assert all(load_row(o).engine_id == "other-engines" for o in held)

    run(body)
