"""A poison organisation: its start aborts whichever engine process runs it. `run`'s supervision counts each death
against the starts that were inside the library, parks the organisation after two in a row with
`engine_crash_loop` (explained in Arabic, until a person connects it again), and the others stay connected."""

from __future__ import annotations

import time
import uuid

from sqlmodel import Session

from fleet_dashboard import strings
from fleet_dashboard.whatsapp import engines, sessions
from fleet_dashboard.whatsapp.engine.simulator import jid_for
from fleet_dashboard.whatsapp.processes import EngineProcesses
from tests.whatsapp.conftest import audit_rows, connect, load_row

OTHERS = 49


def _paired(db: Session, org_id: uuid.UUID, k: int) -> None:
    row = sessions.get_or_create(session=db, org_id=org_id)
    phone = f"+2010777{k:05d}"
    row.whatsapp_id, row.phone_number, row.enabled = jid_for(phone), phone, True
    db.add(row)


def test_a_poison_organisation_is_parked_after_two_engine_deaths_and_the_others_stay_connected(
        sim_env, db: Session, make_org, tmp_path):
    orgs = [make_org(name=f"Fleet {k}") for k in range(OTHERS + 1)]
    poison, others = orgs[0].id, [o.id for o in orgs[1:]]
    for k, org in enumerate(orgs):
        _paired(db, org.id, k)
    db.commit()
    env = {**sim_env, "SIMULATOR_ABORT_ON_START": str(poison), "ENGINE_LEASE_SECONDS": "4",
           "PYTHONUNBUFFERED": "1"}
    import os

    fleet = EngineProcesses(env={**os.environ, **env}, minimum=1, maximum=4, shard_size=50, spare=1,
                            restart_base=0.5, restart_max=2.0, marker_dir=str(tmp_path))
    try:
        deadline = time.monotonic() + 120
        done = False
        while time.monotonic() < deadline and not done:
            fleet.poll()
            time.sleep(0.2)
            row = load_row(poison)
            rows = [load_row(o) for o in others]
            done = (not row.enabled and all(r.status == "connected" for r in rows))
        row = load_row(poison)
        assert not row.enabled and row.status == "disconnected", row.model_dump()
        assert row.connection_error_code == "engine_crash_loop"
        assert row.start_crashes == engines.CRASH_LOOP_DEATHS
        assert strings.ERRORS["engine_crash_loop"] and "مرتين" in strings.ERRORS["engine_crash_loop"]
        parked = audit_rows(poison, "session_error")
        assert [a.event_data["code"] for a in parked] == ["engine_crash_loop"]
        assert fleet.restarts_total == engines.CRASH_LOOP_DEATHS  # no third engine died
        rows = [load_row(o) for o in others]
        assert all(r.status == "connected" and r.enabled for r in rows)
        assert all(r.start_crashes == 0 for r in rows)
        # Parked, nothing starts it again: the engines stay up.
        for _ in range(15):
            fleet.poll()
            time.sleep(0.2)
        assert fleet.restarts_total == engines.CRASH_LOOP_DEATHS
        assert all(load_row(o).status == "connected" for o in others)
    finally:
        fleet.stop()

    # A person connects it again: its count starts afresh, and it is wanted up again.
    connect(db, poison)
    again = load_row(poison)
    assert again.enabled and again.start_crashes == 0 and again.connection_error_code is None
