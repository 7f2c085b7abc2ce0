"""`run` forks its engine processes from itself, where the engine's modules are loaded already (a fresh
interpreter spent 1.5-2 s of CPU importing them, times 21 for 1,000 organisations). A forked engine owns and
connects organisations like a started one, is restarted after a death, and leaves the parent's connections and
exit handlers alone."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from sqlmodel import Session

from fleet_dashboard.cli.run import engine_child
from fleet_dashboard.whatsapp import sessions
from fleet_dashboard.whatsapp.engine.simulator import jid_for
from fleet_dashboard.whatsapp.processes import EngineProcesses, ForkedChild
from tests.whatsapp.conftest import load_row

ORGS = 3


def _all_connected_by(ids, pid: int, fleet: EngineProcesses, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    engine_id = f"{socket.gethostname()}:{pid}"
    while time.monotonic() < deadline:
        fleet.poll()
        rows = [load_row(o) for o in ids]
        if all(r.status == "connected" and r.engine_id == engine_id for r in rows):
            return
        time.sleep(0.2)
    raise AssertionError([(r.status, r.engine_id) for r in rows])


def test_a_forked_engine_connects_is_restarted_after_a_death_and_spares_the_parent(sim_env, db: Session,
                                                                                  tmp_path: Path):
    ids = []
    for k in range(ORGS):
        from fleet_dashboard.accounts.models import Organization

        org = Organization(name=f"Forked {k}", slug=f"forked-{k}-{os.getpid()}")
        db.add(org)
        db.flush()
        row = sessions.get_or_create(session=db, org_id=org.id)
        row.whatsapp_id, row.phone_number, row.enabled = jid_for(f"+20100777000{k}"), f"+20100777000{k}", True
        db.add(row)
        ids.append(org.id)
    db.commit()
    fleet = EngineProcesses(env={**os.environ, **sim_env}, minimum=1, maximum=1, shard_size=50,
                            restart_base=0.2, restart_max=0.5, marker_dir=str(tmp_path), entry=engine_child)
    try:
        fleet.poll()
        first = fleet.slots[0].proc
        assert isinstance(first, ForkedChild)
        _all_connected_by(ids, first.pid, fleet)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        fleet.poll()  # the death: its sessions marked down, a restart due after the backoff
        time.sleep(0.6)
        fleet.poll()
        second = fleet.slots[0].proc
        assert first.returncode == -signal.SIGKILL and second is not None and second.pid != first.pid
        _all_connected_by(ids, second.pid, fleet)
    finally:
        fleet.stop()
    assert second.returncode == 0  # SIGTERM: a clean stop
    assert load_row(ids[0]).status == "disconnected"  # the parent's own database work goes on
