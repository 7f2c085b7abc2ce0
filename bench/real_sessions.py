"""Real neonize clients against the unreachable network: what a session costs, and how often the library aborts.

Run: .venv/bin/python bench/real_sessions.py [--clients 200] [--minutes 5] [--storm-runs 20] [--storm-clients 50]

1. Cost: one `fleet-dashboard engine` process (neonize backend, its queue worker beside it) supervises
   `--clients` organisations (half resume a stored device, half pair a new one) for `--minutes`, as in an
   outage: every dial fails, sessions back off and retry. It prints RSS, OS threads and PostgreSQL
   connections per client over an idle engine, and the engine's aborts (it is restarted, as `run` does).
   Goals: at most 5 MB and at most 1 PostgreSQL connection per idle client, 0 aborts.
2. Abort rate: `--storm-runs` fresh processes each start `--storm-clients` clients at once, stop them all
   at once, three times over, while linking-code calls read the library's maps: once with the library
   calls serialized (library_gate.py), once without. It prints the runs that aborted in each mode.

Everything runs on an embedded PostgreSQL of its own (max_connections raised, so the unserialized mode
is limited by the library, not by the server), removed at the end.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

ROOT = os.path.dirname(_HERE)
PARENT_APP = "bench-real-sessions"


# ---- the database -----------------------------------------------------------------------------
def start_postgres(max_connections: int = 500):
    """An embedded server of our own, restarted once with room for every client's pool."""
    import psycopg

    from fleet_dashboard.core.db import EmbeddedPostgres

    data_dir = tempfile.mkdtemp(prefix="fdrs", dir="/tmp")
    server = EmbeddedPostgres(data_dir)
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET max_connections = {int(max_connections)}")
    server.stop()
    return server, server.start(), data_dir


def make_database(server_url: str) -> str:
    from fleet_dashboard.core import dbadmin

    url = dbadmin.create_database(server_url, f"fleet_bench_real_{uuid.uuid4().hex[:8]}")
    dbadmin.migrate(url)
    return url


def seed(url: str, n: int) -> None:
    """n organisations with enabled sessions: the even ones resume a stored (never valid) device, the odd pair."""
    import psycopg

    from tests.support.neonize import store_device

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        ids = [uuid.uuid4() for _ in range(n)]
        cur.executemany("INSERT INTO organizations (id, name, slug) VALUES (%s, %s, %s)",
                        [(i, f"Real {k}", f"real-{k}-{i.hex[:6]}") for k, i in enumerate(ids)])
        cur.executemany(
            "INSERT INTO whatsapp_sessions (id, org_id, status, whatsapp_id, retry_count, enabled)"
            " VALUES (%s, %s, 'disconnected', %s, 0, true)",
            [(uuid.uuid4(), i, f"2011{k:08d}:2@s.whatsapp.net" if k % 2 == 0 else None) for k, i in enumerate(ids)])
    for k in range(0, n, 2):
        store_device(url, f"2011{k:08d}:2@s.whatsapp.net")


def pg_connections(url: str) -> int:
    """Server connections to the bench database, ours excluded."""
    import psycopg

    with psycopg.connect(url, application_name=PARENT_APP) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name <> %s", (PARENT_APP,)).fetchone()[0]


def prepare_store(url: str) -> None:
    """whatsmeow's tables, created the way the engine does before its first client."""
    env = {**os.environ, "DATABASE_URL": url}
    code = "import asyncio; from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory as F; " \
           "asyncio.run(F().prepare_store())"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True)


# ---- 1. cost per client -------------------------------------------------------------------------
def engine_env(url: str, clients: int) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "WHATSAPP_BACKEND": "neonize", "ENGINE_SHARD_SIZE": str(clients),
            "BUS_BACKEND": "postgres", "ENVIRONMENT": "development", "PYTHONUNBUFFERED": "1"}


def sample(proc) -> tuple[float, int]:
    import psutil

    p = psutil.Process(proc.pid)
    return p.memory_info().rss / 2 ** 20, p.num_threads()


def cost(server_url: str, clients: int, minutes: float) -> dict[str, float]:
    url = make_database(server_url)
    prepare_store(url)
    log = open(os.path.join(tempfile.gettempdir(), f"bench-real-engine-{os.getpid()}.log"), "w")  # noqa: SIM115
    command = [sys.executable, "-m", "fleet_dashboard.cli", "engine"]
    env = engine_env(url, clients)
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    aborts = 0
    try:
        time.sleep(20)  # imported, started, idle: the baseline
        base_rss, base_threads = sample(proc)
        base_conns = pg_connections(url)
        seed(url, clients)
        started = time.monotonic()
        rows: list[tuple[float, float, int, int]] = []
        while time.monotonic() - started < minutes * 60:
            time.sleep(5)
            if proc.poll() is not None:
                aborts += 1
                print(f"  engine exited with {proc.returncode}; restarting it", flush=True)
                proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
                continue
            rss, threads = sample(proc)
            rows.append((time.monotonic() - started, rss, threads, pg_connections(url)))
        last = [r for r in rows if r[0] >= rows[-1][0] - 60] or rows
        rss = statistics.mean(r[1] for r in last)
        threads = statistics.mean(r[2] for r in last)
        conns = statistics.mean(r[3] for r in last)
        return {"clients": clients, "minutes": minutes, "base_rss_mb": base_rss, "rss_mb": rss,
                "rss_per_client_mb": (rss - base_rss) / clients, "peak_rss_mb": max(r[1] for r in rows),
                "threads_per_client": (threads - base_threads) / clients, "base_threads": base_threads,
                "pg_per_client": (conns - base_conns) / clients, "peak_pg": max(r[3] for r in rows),
                "base_pg": base_conns, "aborts": aborts}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# ---- 2. abort rate ------------------------------------------------------------------------------
async def storm(clients: int, cycles: int) -> None:
    """In a child process: start every client at once, stop them at once, with linking-code calls in between."""
    from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
    from fleet_dashboard.whatsapp.engine.runtime import use_big_executor

    use_big_executor(asyncio.get_running_loop())
    factory = NeonizeFactory(sweep_seconds=3600)
    await factory.prepare_store()
    for _ in range(cycles):
        gateways = [factory.create(uuid.uuid4(), lambda _e: None) for _ in range(clients)]
        await asyncio.gather(*(g.start(resume_jid=None) for g in gateways))
        # Reads of the client maps (PairPhone) while other clients register and fail to dial.
        await asyncio.gather(*(g.pair_phone("+201001234567") for g in gateways[: clients // 5]),
                             return_exceptions=True)
        deadline = time.monotonic() + 30
        while any(g._thread.is_alive() for g in gateways) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.gather(*(g.stop() for g in gateways), return_exceptions=True)
    await factory.close()


def abort_rate(server_url: str, runs: int, clients: int, serialize: bool) -> tuple[int, int, int, float]:
    url = make_database(server_url)
    prepare_store(url)
    env = {**os.environ, "DATABASE_URL": url, "NEONIZE_SERIALIZE": "true" if serialize else "false",
           "PYTHONUNBUFFERED": "1"}
    aborted, fatal, errors = 0, 0, 0
    started = time.monotonic()
    for _ in range(runs):
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--storm-child", str(clients)],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        out = done.stdout + done.stderr
        # Go's fatal errors exit with 2, its panics and signals kill the process; a Python exception exits 1.
        if done.returncode < 0 or done.returncode == 2 or "fatal error:" in out:
            aborted += 1
            fatal += "concurrent map" in out
        elif done.returncode != 0:
            errors += 1
            print(out[-1500:], file=sys.stderr)
    return aborted, fatal, errors, (time.monotonic() - started) / max(1, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--storm-runs", type=int, default=20)
    parser.add_argument("--storm-clients", type=int, default=50)
    parser.add_argument("--storm-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="10 clients for 0.2 min, 2 storm runs of 10 (.ci/run)")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.minutes, args.storm_runs, args.storm_clients = 10, 0.2, 2, 10
    if args.storm_child:
        asyncio.run(storm(args.storm_child, cycles=3))
        return
    server, server_url, data_dir = start_postgres()
    try:
        if args.minutes > 0:
            print(f"cost: {args.clients} real clients in one engine process for {args.minutes:g} min", flush=True)
            c = cost(server_url, args.clients, args.minutes)
            print(f"  RSS per client      {c['rss_per_client_mb']:.2f} MB (engine {c['base_rss_mb']:.0f} MB idle, "
                  f"{c['rss_mb']:.0f} MB with clients, peak {c['peak_rss_mb']:.0f} MB)   goal <= 5 MB")
            print(f"  threads per client  {c['threads_per_client']:.2f} (engine idle: {c['base_threads']:.0f})")
            print(f"  PostgreSQL per client {c['pg_per_client']:.3f} (engine idle: {c['base_pg']}, peak "
                  f"{c['peak_pg']})   goal <= 1")
            print(f"  engine aborts       {c['aborts']}   goal 0")
        if args.storm_runs > 0:
            print(f"abort rate: {args.storm_runs} processes x {args.storm_clients} clients started and stopped at "
                  "once, 3 times each", flush=True)
            for serialize in (False, True):
                aborted, fatal, errors, per_run = abort_rate(server_url, args.storm_runs, args.storm_clients,
                                                             serialize)
                label = "serialized  " if serialize else "unserialized"
                print(f"  {label}  {aborted} of {args.storm_runs} runs aborted ({fatal} with a Go map fatal "
                      f"error, {errors} Python errors); {per_run:.1f} s per run", flush=True)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
