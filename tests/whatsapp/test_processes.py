"""Across processes: two engines never both own an organisation, take over when the owner dies,
and events cross process boundaries over LISTEN/NOTIFY."""

from __future__ import annotations

import json
import signal
import time
import uuid

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.whatsapp.engine.leases import lock_key
from tests.whatsapp.conftest import audit_rows, enabled_fleet, spawn, stop_process, wait_row_sync

ENGINE = ["-m", "fleet_dashboard.cli", "engine"]


def _lock_holders(org_ids) -> dict[uuid.UUID, list[str]]:
    """For each organisation, the application names of the backends holding its advisory lock."""
    keys = {lock_key(o): o for o in org_ids}
    with get_engine().connect() as conn:
        rows = conn.execute(text("""
            SELECT (l.classid::bigint << 32) | l.objid::bigint AS k, a.application_name
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """)).all()
    holders: dict[uuid.UUID, list[str]] = {o: [] for o in org_ids}
    for k, name in rows:
        signed = k - (1 << 64) if k >= (1 << 63) else k
        if signed in keys:
            holders[keys[signed]].append(name)
    return holders


def _engine_of(org_id) -> str:
    return audit_rows(org_id, "session_connected")[-1].event_data["engine"]


def test_two_engines_never_share_an_org_and_take_over_when_the_owner_is_killed(sim_env, db: Session,
                                                                                make_org, tmp_path):
    ids = enabled_fleet(db, [make_org(name=f"Fleet {i}") for i in range(6)], lambda i: f"+20100123450{i}")
    a = spawn(ENGINE, sim_env, tmp_path / "a.log")
    b = spawn(ENGINE, sim_env, tmp_path / "b.log")
    try:
        for org_id in ids:
            wait_row_sync(org_id, lambda r: r.status == "connected", timeout=30)
        # Let both engines reconcile a few times: neither may take what the other holds.
        for _ in range(3):
            time.sleep(1.0)
            holders = _lock_holders(ids)
            assert all(len(h) == 1 for h in holders.values()), holders
        for org_id in ids:
            assert len(audit_rows(org_id, "session_connected")) == 1
        owners = {org_id: _engine_of(org_id) for org_id in ids}
        by_pid = {str(p.pid): p for p in (a, b)}
        victim_pid = owners[ids[0]].rsplit(":", 1)[1]
        victim, survivor = by_pid[victim_pid], (b if by_pid[victim_pid] is a else a)
        for org_id, engine in owners.items():
            assert holders[org_id] == [f"fleet-engine {engine}"]

        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        moved = [o for o, e in owners.items() if e.endswith(f":{victim_pid}")]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(_engine_of(o).endswith(f":{survivor.pid}") for o in moved):
                break
            time.sleep(0.2)
        for org_id in ids:
            row = wait_row_sync(org_id, lambda r: r.status == "connected", timeout=10)
            assert _engine_of(org_id).endswith(f":{survivor.pid}")
            assert row.whatsapp_id  # resumed with the stored device, no QR
            assert not audit_rows(org_id, "qr_generated")
        holders = _lock_holders(ids)
        assert all(h == [holders[ids[0]][0]] for h in holders.values()), holders

        assert stop_process(survivor) == 0
        for org_id in ids:
            row = wait_row_sync(org_id, lambda r: r.status == "disconnected", timeout=5)
            assert row.enabled and row.connection_error == "engine stopped"
            assert row.connection_error_code == "engine_stopped"
        assert all(h == [] for h in _lock_holders(ids).values())
    finally:
        for proc in (a, b):
            stop_process(proc, signal.SIGKILL)


CHILD = """
import asyncio, json, sys
from fleet_dashboard.core.events import get_bus, emit
from fleet_dashboard.core.db import session_scope

async def main():
    async with get_bus().subscribe(org_id=sys.argv[1], types={"queue.wake"}) as sub:
        print("ready", flush=True)
        event = await sub.get(20)
        print(json.dumps(event), flush=True)
    with session_scope() as s:
        emit(s, {"type": "message.inbound", "org_id": sys.argv[1], "from": "+201001234567", "text": "hi"})

asyncio.run(main())
"""


def test_events_cross_processes_and_only_after_commit(sim_env, db: Session, tmp_path):
    import asyncio

    from fleet_dashboard.core.events import emit, get_bus

    org_id = str(uuid.uuid4())
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = spawn([str(script), org_id], sim_env, tmp_path / "child.log")
    try:
        deadline = time.monotonic() + 20
        while "ready" not in (tmp_path / "child.log").read_text():
            assert child.poll() is None and time.monotonic() < deadline, (tmp_path / "child.log").read_text()
            time.sleep(0.05)

        async def body():
            async with get_bus().subscribe(org_id=org_id, types={"message.inbound"}) as inbound:
                with Session(get_engine()) as s:
                    emit(s, {"type": "queue.wake", "org_id": org_id, "n": "rolled back"})
                    s.rollback()
                    emit(s, {"type": "queue.wake", "org_id": org_id, "n": "committed"})
                    s.commit()
                return await inbound.get(20)

        back = asyncio.run(body())
        assert child.wait(20) == 0
        lines = (tmp_path / "child.log").read_text().splitlines()
        assert json.loads(lines[-1])["n"] == "committed"
        assert (back["type"], back["org_id"], back["text"]) == ("message.inbound", org_id, "hi")
    finally:
        stop_process(child, signal.SIGKILL)
