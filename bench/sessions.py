"""1,000 simulated organisations supervised by one engine process: RSS per session, time to all connected.

Run: .venv/bin/python bench/sessions.py [--orgs 1000] [--smoke]
It creates its own database on BENCH_SERVER_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
pairs every organisation's device in it (so each resumes without a QR, as after a restart) and drops it
at the end. Targets: under 2 MB per session, all connected within 30 s. The engine here holds every organisation
(its capacity is set to --orgs): what is measured is one process's supervision, not the shard size of
`fleet-dashboard run` (bench/restart_storm.py measures that). `--smoke` (for .ci/run): 20 organisations.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

SERVER = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def rss_mb() -> float:
    """Resident memory of this process, from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def seed(url: str, n: int) -> list[uuid.UUID]:
    """n organisations, each with an enabled session on a paired (simulated) device."""
    import psycopg

    ids = [uuid.uuid4() for _ in range(n)]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO organizations (id, name, slug) VALUES (%s, %s, %s)",
                        [(i, f"Bench fleet {k}", f"bench-{k}") for k, i in enumerate(ids)])
        cur.executemany(
            "INSERT INTO whatsapp_sessions (id, org_id, status, whatsapp_id, phone_number, retry_count, enabled)"
            " VALUES (%s, %s, 'connected', %s, %s, 0, true)",
            [(uuid.uuid4(), i, f"2010{k:08d}:1@s.whatsapp.net", f"+2010{k:08d}") for k, i in enumerate(ids)])
    return ids


def connected_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM whatsapp_sessions WHERE status = 'connected'"
                            " AND last_connected_at > now() - interval '10 minutes'").fetchone()[0]


async def supervise(n: int, url: str) -> dict[str, float]:
    from fleet_dashboard.whatsapp.engine.engine import Engine
    from fleet_dashboard.whatsapp.engine.runtime import use_big_executor
    from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory

    use_big_executor(asyncio.get_running_loop())
    engine = Engine(SimulatorFactory(), reconcile_seconds=2.0, capacity=n)
    gc.collect()
    before = rss_mb()
    started = time.monotonic()
    await engine.start()
    try:
        while True:
            live = sum(1 for o in engine.owned_org_ids() if engine.is_connected(o))
            if live == n:
                break
            if time.monotonic() - started > 120:
                raise SystemExit(f"only {live} of {n} sessions connected after 120 s")
            await asyncio.sleep(0.05)
        in_memory = time.monotonic() - started
        while await asyncio.to_thread(connected_count, url) < n:
            await asyncio.sleep(0.1)
        in_db = time.monotonic() - started
        await asyncio.sleep(1.0)  # let the last writes settle before measuring
        gc.collect()
        after = rss_mb()
    finally:
        stop_started = time.monotonic()
        await engine.stop()
        stopped = time.monotonic() - stop_started
    return {"rss_before": before, "rss_after": after, "connected_s": in_memory, "rows_s": in_db,
            "stop_s": stopped}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="20 organisations: the harness works")
    args = parser.parse_args()
    if args.smoke:
        args.orgs = 20

    from fleet_dashboard.core import dbadmin

    name = f"fleet_bench_sessions_{uuid.uuid4().hex[:8]}"
    url = dbadmin.create_database(SERVER, name)
    try:
        dbadmin.migrate(url)
        os.environ.update(DATABASE_URL=url, WHATSAPP_BACKEND="simulator", BUS_BACKEND="postgres",
                          SEND_RATE_PER_MINUTE="0")
        seed(url, args.orgs)
        r = asyncio.run(supervise(args.orgs, url))
        per_org_kb = (r["rss_after"] - r["rss_before"]) * 1024 / args.orgs
        print(f"sessions:              {args.orgs}")
        print(f"all connected (engine): {r['connected_s']:.2f} s   (target < 30 s)")
        print(f"all rows say connected: {r['rows_s']:.2f} s")
        print(f"RSS before / after:     {r['rss_before']:.1f} MB / {r['rss_after']:.1f} MB")
        print(f"RSS per session:        {per_org_kb:.1f} KB   (target < 2048 KB)")
        print(f"engine stop:            {r['stop_s']:.2f} s")
        ok = r["connected_s"] < 30 and per_org_kb < 2048
        print("result:                 " + ("within targets" if ok else "MISSED A TARGET"))
        return 0 if ok or args.smoke else 1  # a smoke run checks the harness; its 20 sessions prove no target
    finally:
        from fleet_dashboard.core.events import reset_bus

        reset_bus()
        from fleet_dashboard.core.db import get_engine

        if get_engine.cache_info().currsize:
            get_engine().dispose()
        dbadmin.drop_database(SERVER, name)


if __name__ == "__main__":
    sys.exit(main())
