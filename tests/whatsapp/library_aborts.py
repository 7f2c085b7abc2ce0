"""The two ways the real library aborted an engine, as child processes (a Go abort kills the process, so each
attempt runs in its own), for tests/whatsapp/test_library_aborts.py and bench/library_aborts.py.

- `late-call`: a LID look-up queued behind another organisation's start while its client is stopped, then one
  more call after the stop. goneonize's GetPNFromLID dereferences `clients[id]`, which Stop() deleted:
  `panic: runtime error: invalid memory address`.
- `slow-store`: 50 clients started at once while `whatsmeow_version` is locked (a store in failover): every
  start waits inside sqlstore.New, then all write goneonize's maps at once: `fatal error: concurrent map writes`.

`run(scenario, database_url, gate=True|False)` runs one attempt and says whether it aborted; the gate is
NEONIZE_SERIALIZE. Run as `python -m tests.whatsapp.library_aborts <scenario>` it is the child itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "201001234567:7@s.whatsapp.net"
LID_USER, LID_PHONE = "99887766554433", "201005550000"
SLOW_STORE_CLIENTS = 50
STORE_LOCKED_SECONDS = 1.0
WAVES = 3  # per process: each wave starts 50 clients against the locked store, then stops them
OK = "library-aborts: survived"


@dataclass(frozen=True)
class Attempt:
    aborted: bool
    go_fatal: bool  # a Go runtime fatal error or panic (not a Python exception)
    seconds: float
    output: str


@contextlib.contextmanager
def own_server(max_connections: int = 500) -> Iterator[str]:
    """An embedded PostgreSQL of our own with room for every client's pool (the library opens one per start,
    so unserialized runs are limited by the library, not by a shared server); its URL, removed afterwards."""
    import psycopg

    from fleet_dashboard.core.db import EmbeddedPostgres

    data_dir = tempfile.mkdtemp(prefix="fdla", dir="/tmp")  # short: the socket path is capped near 107 bytes
    server = EmbeddedPostgres(data_dir)
    try:
        with psycopg.connect(server.start(), autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET max_connections = {int(max_connections)}")
        server.stop()
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def database(server_url: str) -> str:
    """A migrated database on that server, with what `prepare` puts in it."""
    from fleet_dashboard.core import dbadmin

    url = dbadmin.create_database(server_url, f"fleet_aborts_{uuid.uuid4().hex[:8]}")
    dbadmin.migrate(url)
    prepare(url)
    return url


def prepare(database_url: str) -> None:
    """whatsmeow's tables (made the way an engine makes them), one stored device and its LID mapping."""
    from tests.support.neonize import map_lid, store_device

    code = ("import asyncio; from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory as F; "
            "asyncio.run(F().prepare_store())")
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "DATABASE_URL": database_url}, cwd=ROOT,
                   check=True, capture_output=True, timeout=120)
    store_device(database_url, DEVICE, f"{LID_USER}:7@lid")
    map_lid(database_url, LID_USER, LID_PHONE)


def run(scenario: str, database_url: str, *, gate: bool, timeout: float = 180) -> Attempt:
    """One attempt in a fresh process; aborted = it died of the library (Go's exit 2, a signal, a Go fatal)."""
    env = {**os.environ, "DATABASE_URL": database_url, "NEONIZE_SERIALIZE": "true" if gate else "false",
           "ENVIRONMENT": "development", "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tests.whatsapp.library_aborts", scenario], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    out = done.stdout + done.stderr
    go_fatal = "fatal error:" in out or "panic:" in out or "SIGSEGV" in out
    aborted = done.returncode != 0 and OK not in out and (done.returncode < 0 or done.returncode == 2 or go_fatal)
    if done.returncode != 0 and not aborted:
        raise AssertionError(f"the {scenario} child failed without an abort:\n{out[-3000:]}")
    return Attempt(aborted, go_fatal, time.monotonic() - started, out)


# ---- the child ------------------------------------------------------------------------------------------
async def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition never held")
        await asyncio.sleep(0.005)


def _lock_store(database_url: str):
    """A transaction holding `whatsmeow_version` so every store open waits, as during a failover."""
    import psycopg

    conn = psycopg.connect(database_url.replace("+psycopg", ""))
    conn.execute("LOCK TABLE whatsmeow_version IN ACCESS EXCLUSIVE MODE")
    return conn


async def _late_call(factory) -> None:
    from neonize.proto import Neonize_pb2 as pb

    from fleet_dashboard.whatsapp.engine.library_gate import ClientStopping
    from tests.support.neonize import feed, jid

    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    a = factory.create(org_a, lambda _e: None)
    await a.start(resume_jid=DEVICE)
    await _until(lambda: a._returned.is_set())  # the dial failed (no WhatsApp here): Go still holds the client
    await asyncio.to_thread(feed, a.client, pb.Connected(status=True))
    await _until(lambda: a.connected)
    lid = jid(LID_USER, server="lid")
    assert (await a._pn_for_lid(lid)).User == LID_PHONE, "the look-up works while the client is up"

    lock = await asyncio.to_thread(_lock_store, factory.database_url)
    b = factory.create(org_b, lambda _e: None)
    await b.start(resume_jid=None)  # another organisation's start: it holds the gate while its store waits
    await _until(lambda: b.phases.phase == "entering")
    queued = asyncio.create_task(a._call(lambda: a.client.get_pn_from_lid(lid)))
    await asyncio.sleep(0.2)
    stopping = asyncio.create_task(a.stop())
    await asyncio.sleep(0.2)
    await asyncio.to_thread(lock.close)  # the store answers again: B registers, then A's Stop runs
    await stopping
    await factory.close()  # every Stop queued by the stop has run in Go
    try:
        await queued
        print("library-aborts: the queued look-up reached the library before the Stop")
    except ClientStopping:
        print("library-aborts: the queued look-up was dropped")
    # One more call after the Stop, as a handler still running when its client was stopped would make.
    try:
        await a._call(lambda: a.client.get_pn_from_lid(lid))
        print("library-aborts: a call after the Stop came back")
    except ClientStopping:
        print("library-aborts: the call after the Stop was refused")
    await b.stop()
    await factory.close()


async def _slow_store(factory) -> None:
    for wave in range(WAVES):
        lock = await asyncio.to_thread(_lock_store, factory.database_url)
        gateways = [factory.create(uuid.uuid4(), lambda _e: None) for _ in range(SLOW_STORE_CLIENTS)]
        started = time.monotonic()
        await asyncio.gather(*(g.start(resume_jid=None) for g in gateways))
        await asyncio.sleep(STORE_LOCKED_SECONDS)
        await asyncio.to_thread(lock.close)
        # Meanwhile the clients already registered are used, as sends and look-ups would (reads of the maps).
        reading = asyncio.create_task(_read_while_starting(gateways))
        await _until(lambda gateways=gateways: all(g._returned.is_set() for g in gateways), timeout=120)
        through = time.monotonic() - started
        reads = await reading
        print(f"library-aborts: wave {wave + 1}: {SLOW_STORE_CLIENTS} starts through in {through:.2f} s (store "
              f"locked {STORE_LOCKED_SECONDS:g} s), {reads} calls on registered clients meanwhile", flush=True)
        await asyncio.gather(*(g.stop() for g in gateways))
        await factory.close()


async def _read_while_starting(gateways) -> int:
    """One call on each client as soon as it is registered (a send, once it is up), while the others start."""
    called: set = set()
    calls = []
    while not all(g._returned.is_set() for g in gateways):
        for g in gateways:
            if g not in called and g.phases.phase in ("dialing", "pairing", "running"):
                called.add(g)
                calls.append(asyncio.ensure_future(g._call(lambda g=g: g.client.is_on_whatsapp("201001234567"))))
        await asyncio.sleep(0.001)
    await asyncio.gather(*calls, return_exceptions=True)
    return len(calls)


async def _child(scenario: str) -> None:
    from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
    from fleet_dashboard.whatsapp.engine.runtime import use_big_executor

    use_big_executor(asyncio.get_running_loop())
    factory = NeonizeFactory(sweep_seconds=3600)
    await factory.prepare_store()
    await {"late-call": _late_call, "slow-store": _slow_store}[scenario](factory)
    print(OK, flush=True)


if __name__ == "__main__":
    asyncio.run(_child(sys.argv[1]))
