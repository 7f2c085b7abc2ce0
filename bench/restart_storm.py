"""A cold start of the whole fleet: every organisation's session comes back at once, as after a restart.

Run: .venv/bin/python bench/restart_storm.py [--orgs 1000] [--real 500] [--skip-sim] [--skip-real] [--smoke]
                                              [--command run|serve|engines]

1. Simulator: `--orgs` enabled organisations, each with a device paired before (its row still says connected,
   as after a crash) and one queued notification; then `fleet-dashboard run` is started cold (default): its
   embedded PostgreSQL (stopped after the seeding), the migration check, the frontend build, the web process and
   the engine processes it sizes itself (ENGINE_SHARD_SIZE organisations each, plus a spare; each `fleet-dashboard
   engine` with its queue worker). `--command serve` starts the product on the frontend `run` built (made before
   the clock starts), `--command engines` only `run`'s engine supervision (no web process). It prints the
   seconds from the start until every organisation is connected and until every notification is sent, and the
   most database connections the product held at once.
   Goal: <= 60 s for both on this machine (waha #2012: 90 sessions take about 20 minutes to come back).
2. Real library: `--real` organisations with the neonize backend against this machine's unreachable network
   (every dial fails, as in an outage): the same command, half resuming a stored device id, half pairing.
   It prints the seconds until every organisation's client has dialled (its first attempt ended in a failed
   dial: `connect_failed`) and the engine processes that died (aborts). Goal: all dialling within 60 s, 0 aborts.

Each part runs on an embedded PostgreSQL of its own in a temporary directory (the product's own server, with the
max_connections `run` gives it), removed at the end: 21 engine processes must not take a shared server's
connections. `--smoke` (for .ci/run): 60 simulated organisations and 20 real ones, under `engines`, which checks
the harness, not the goal.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402

GOAL_SECONDS = 60.0
TIMEOUT_SECONDS = 240.0


def seed(url: str, n: int, *, notify: bool, paired_share: float = 1.0) -> list[uuid.UUID]:
    """n organisations with an enabled session (the first `paired_share` of them on a device paired before, their
    rows saying connected as a crash leaves them) and, with `notify`, one queued notification each."""
    from fleet_dashboard.core.db import libpq_url

    ids = [uuid.uuid4() for _ in range(n)]
    paired = int(n * paired_share)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO organizations (id, name, slug) VALUES (%s, %s, %s)",
                        [(i, f"Storm fleet {k}", f"storm-{k}") for k, i in enumerate(ids)])
        cur.executemany(
            "INSERT INTO whatsapp_sessions (id, org_id, status, whatsapp_id, phone_number, retry_count, enabled,"
            " engine_id) VALUES (%s, %s, %s, %s, %s, 0, true, 'before-the-restart')",
            [(uuid.uuid4(), i, "connected" if k < paired else "disconnected",
              f"2011{k:08d}:1@s.whatsapp.net" if k < paired else None, f"+2011{k:08d}" if k < paired else None)
             for k, i in enumerate(ids)])
    if notify:
        _queue_one_each(url, ids)
    return ids


def _queue_one_each(url: str, ids: list[uuid.UUID]) -> None:
    """One notification per organisation, through the services (message row, queue row, counters)."""
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.messaging import messages
    from fleet_dashboard.notifications import queue
    from tests.support.process_state import reset_database_caches

    os.environ["DATABASE_URL"] = url
    reset_database_caches()
    with session_scope() as s:
        for k, org_id in enumerate(ids):
            msg, _ = messages.create_message(session=s, org_id=org_id, recipient=f"+2012{k:08d}",
                                             text="شاحنتك في الطريق", status="queued", actor=SYSTEM)
            queue.enqueue_message(session=s, org_id=org_id, message=msg)


def _store_devices(url: str, jids: list[str]) -> None:
    """The resuming half's devices in whatsmeow's store (its tables made by the library itself), as a scan left
    them: without them the engine would ask for a new link instead of dialling."""
    import asyncio

    from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
    from tests.support.neonize import store_device

    asyncio.run(NeonizeFactory(url).prepare_store())
    for jid in jids:
        store_device(url, jid)


class Watch:
    """Polls the database from the moment the command starts: when each figure was first reached, and the most
    client connections the server held at once. Under `run` the server is down until `run` starts it."""

    def __init__(self, url: str, n: int, *, since: float, query_done: str, query_count: str | None = None):
        from fleet_dashboard.core.db import libpq_url

        self.url, self.n, self.since = libpq_url(url), n, since
        self.queries = {"done": query_done, **({"count": query_count} if query_count else {})}
        self.reached: dict[str, float] = {}
        self.last: dict[str, int] = {}
        self.marks: dict[str, float] = {}  # first_engine: the first engine's heartbeat (its process is up)
        self.peak_connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Watch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.reached) < len(self.queries):
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=2) as conn:
                    self._poll(conn)
            except psycopg.Error:
                time.sleep(0.2)  # not started yet, or restarting

    def _poll(self, conn: psycopg.Connection) -> None:
        while not self._stop.is_set() and len(self.reached) < len(self.queries):
            if "first_engine" not in self.marks and conn.execute(
                    "SELECT count(*) FROM whatsapp_engines").fetchone()[0]:
                self.marks["first_engine"] = time.monotonic() - self.since
            self.peak_connections = max(self.peak_connections, conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchone()[0])
            for name, query in self.queries.items():
                if name in self.reached:
                    continue
                count = conn.execute(query).fetchone()[0]
                self.last[name] = count
                if count >= self.n:
                    self.reached[name] = time.monotonic() - self.since
            time.sleep(0.1)

    def wait(self, timeout: float) -> bool:
        self._thread.join(timeout)
        self._stop.set()
        return len(self.reached) == len(self.queries)


@contextlib.contextmanager
def own_server():
    """An embedded PostgreSQL in a temporary directory, started as `run` starts its own; (server, its data
    directory, the URL of its `postgres` database, migrated), everything removed at the end."""
    from fleet_dashboard.core import dbadmin
    from fleet_dashboard.core.db import EmbeddedPostgres
    from fleet_dashboard.core.settings import get_settings

    data_dir = tempfile.mkdtemp(prefix="fdst", dir="/tmp")  # short: the socket path is capped near 107 bytes
    server = EmbeddedPostgres(f"{data_dir}/pg")
    try:
        url = server.start(max_connections=get_settings().embedded_pg_max_connections)
        dbadmin.migrate(url)
        yield server, f"{data_dir}/pg", url
    finally:
        server.stop()
        leftover = EmbeddedPostgres(f"{data_dir}/pg")  # `run`'s own start of it, if `run` was killed
        if leftover.pid() is not None:
            leftover.start()
            leftover.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def _engines_as_run_keeps_them(url: str, env: dict[str, str], log_dir: Path):
    """`run`'s engine supervision itself (processes.from_settings + poll, as cli/supervise.keep_alive runs it),
    without the web process, which takes no part in connecting or sending: its start (and `run`'s frontend
    build) would only compete for the two cores."""
    from fleet_dashboard.cli.supervise import TICK_SECONDS
    from fleet_dashboard.whatsapp import processes
    from tests.support.process_state import reset_database_caches
    from tests.support.server import app_env

    full = {**app_env(url, 0), **env}
    saved = dict(os.environ)
    os.environ.update(full)
    reset_database_caches()  # this process counts the sessions (as `run` does): on this run's database
    log = open(log_dir / f"engines-{full['WHATSAPP_BACKEND']}.log", "wb")  # noqa: SIM115 - closed below
    stop = threading.Event()
    try:
        fleet = processes.from_settings(full)
        popen = processes.subprocess.Popen

        def logged_popen(cmd, **kwargs):  # the engines' logs to a file, not over the figures
            return popen(cmd, stdout=log, stderr=subprocess.STDOUT, **kwargs)

        processes.subprocess.Popen = logged_popen

        def supervise():
            while not stop.is_set():
                fleet.poll()
                time.sleep(TICK_SECONDS)

        thread = threading.Thread(target=supervise, daemon=True)
        thread.start()
        yield fleet
    finally:
        stop.set()
        thread.join(10)
        fleet.stop()
        processes.subprocess.Popen = popen
        log.close()
        os.environ.clear()
        os.environ.update(saved)
        reset_database_caches()


def _app(server, data_dir: str, url: str, env: dict[str, str], command: str, log_dir: Path):
    if command == "engines":
        return _engines_as_run_keeps_them(url, env, log_dir)
    from tests.support.server import free_port, running_app

    if command == "run":
        server.stop()
        return _run_cold(data_dir, env, log_dir)
    port = free_port(3400, 3499)
    return running_app(url, port=port, log_path=log_dir / f"{command}.log", env=env, supervised_engines=True,
                       command=command)


@contextlib.contextmanager
def _run_cold(data_dir: str, env: dict[str, str], log_dir: Path):
    """`fleet-dashboard run` as an operator starts it: no DATABASE_URL (it starts the embedded server itself, on
    the data the bench seeded), the frontend built, the web process and the engines started. The clock does not
    wait for the web process to answer: it takes no part in connecting or sending."""
    from tests.support.server import ROOT, app_env, free_port, stop_group

    full = {**app_env("", free_port(3400, 3499)), **env, "DATABASE_URL": "", "EMBEDDED_PG_DIR": data_dir,
            "REFLEX_STATES_WORKDIR": str(log_dir / "states")}
    with open(log_dir / "run.log", "wb") as log:
        proc = subprocess.Popen([str(ROOT / ".venv/bin/fleet-dashboard"), "run"], cwd=ROOT, env=full, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            stop_group(proc)


def _aborts(url: str) -> tuple[int, int]:
    """Engine processes that ran, and those that stopped while the product ran (`run` marks a dead one's
    heartbeat row stopped; nothing else stops an engine before the product is stopped)."""
    from fleet_dashboard.core.db import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        engines = conn.execute("SELECT count(*) FROM whatsapp_engines").fetchone()[0]
        deaths = conn.execute("SELECT count(*) FROM whatsapp_engines WHERE stopped_at IS NOT NULL").fetchone()[0]
    return engines, deaths


def simulator_storm(n: int, command: str, log_dir: Path) -> dict[str, float]:
    with own_server() as (server, data_dir, url):
        seed(url, n, notify=True)
        started = time.monotonic()
        watch = Watch(url, n, since=started,
                      query_done="SELECT count(*) FROM whatsapp_sessions WHERE status = 'connected'"
                                 " AND last_connected_at IS NOT NULL",  # seeded rows have none
                      query_count="SELECT count(*) FROM notification_queue WHERE status = 'completed'").start()
        with _app(server, data_dir, url, {}, command, log_dir):
            ok = watch.wait(TIMEOUT_SECONDS - (time.monotonic() - started))
            engines, deaths = _aborts(url)
        return {"first_engine": watch.marks.get("first_engine", float("nan")),
                "connected": watch.reached.get("done", float("nan")), "sent": watch.reached.get("count", float("nan")),
                "ok": float(ok), "engines": engines, "deaths": deaths, "connections": watch.peak_connections,
                "connected_n": watch.last.get("done", 0), "sent_n": watch.last.get("count", 0)}


def real_storm(n: int, command: str, log_dir: Path) -> dict[str, float]:
    with own_server() as (server, data_dir, url):
        seed(url, n, notify=False, paired_share=0.5)
        _store_devices(url, [f"2011{k:08d}:1@s.whatsapp.net" for k in range(n // 2)])
        env = {"WHATSAPP_BACKEND": "neonize", "RECONNECT_BASE_SECONDS": "30"}
        started = time.monotonic()
        # A dial that failed ends the attempt: the row says connect_failed (or gave up) with a retry time.
        watch = Watch(url, n, since=started,
                      query_done="SELECT count(*) FROM whatsapp_sessions WHERE retry_count >= 1"
                                 " OR connection_error_code IN ('connect_failed', 'connect_gave_up')").start()
        with _app(server, data_dir, url, env, command, log_dir):
            ok = watch.wait(TIMEOUT_SECONDS - (time.monotonic() - started))
            engines, deaths = _aborts(url)
        return {"first_engine": watch.marks.get("first_engine", float("nan")),
                "dialled": watch.reached.get("done", float("nan")), "ok": float(ok), "engines": engines,
                "deaths": deaths, "connections": watch.peak_connections, "dialled_n": watch.last.get("done", 0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1000, help="simulated organisations")
    parser.add_argument("--real", type=int, default=500, help="real-library organisations")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--command", choices=("run", "serve", "engines"), default=None,
                        help="run: the whole product started cold (default); serve: on the frontend run built;"
                             " engines: run's engine supervision alone (--smoke's default)")
    parser.add_argument("--smoke", action="store_true", help="60 simulated and 20 real organisations (.ci/run)")
    args = parser.parse_args()
    if args.smoke:
        args.orgs, args.real = 60, 20
    args.command = args.command or ("engines" if args.smoke else "run")
    log_dir = Path(os.environ.get("BENCH_LOG_DIR") or f"/tmp/fleet-restart-storm-{uuid.uuid4().hex[:6]}")
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"logs in {log_dir}")
    if args.command == "serve":  # the frontend `run` builds, made before the clock starts (reused when unchanged)
        from tests.support import frontend

        frontend.build()
    ok = True
    if not args.skip_sim:
        r = simulator_storm(args.orgs, args.command, log_dir)
        print(f"simulator: {args.orgs} organisations, one queued notification each, `{args.command}` started cold")
        print(f"  first engine up    {r['first_engine']:.1f} s   (its process started and heartbeat written)")
        print(f"  all connected      {r['connected']:.1f} s   ({r['connected_n']} of {args.orgs})   goal <= 60 s")
        print(f"  all sent           {r['sent']:.1f} s   ({r['sent_n']} of {args.orgs})   goal <= 60 s")
        print(f"  engine processes   {r['engines']} (deaths {r['deaths']})")
        print(f"  connections        {r['connections']} at most, of the product and this bench's watch")
        ok &= bool(r["ok"]) and r["connected"] <= GOAL_SECONDS and r["sent"] <= GOAL_SECONDS
    if not args.skip_real:
        r = real_storm(args.real, args.command, log_dir)
        print(f"real library: {args.real} organisations (half resuming, half pairing), no network")
        print(f"  first engine up    {r['first_engine']:.1f} s")
        print(f"  all dialled        {r['dialled']:.1f} s   ({r['dialled_n']} of {args.real})   goal <= 60 s")
        print(f"  engine processes   {r['engines']}, aborts {r['deaths']}   goal 0")
        print(f"  connections        {r['connections']} at most")
        ok &= bool(r["ok"]) and r["dialled"] <= GOAL_SECONDS and r["deaths"] == 0
    load = os.getloadavg()
    print(f"machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores"
          " (figures on a shared machine mean little above ~2)")
    print("result: " + ("within goals" if ok else "MISSED A GOAL"))
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
