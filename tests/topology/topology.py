"""The production topology on this machine: PostgreSQL, a Redis database of our own, several Reflex web workers
with RUN_ENGINE=false, and two `fleet-dashboard engine` processes; every process is ours and stopped at the end."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

from tests.support import frontend, leftovers
from tests.support.server import ROOT, AppServer, _wait_for_ping, app_env, stop_group

REDIS_SERVER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM_KEY = "fleet-dashboard:topology-test"
# Reflex's token manager keeps one record per open tab's socket: which worker (instance) holds it.
SOCKET_RECORD_PREFIX = "token_manager_socket_record_"
WEB_WORKERS = 3
LEASE_SECONDS = 8.0
# A small API limit, so that going past it takes a few dozen requests.
SESSIONS_LIMIT = 12


@contextmanager
def own_redis_db() -> Iterator[str]:
    """A Redis database nobody uses (empty, then claimed with SET NX), flushed and given back at the end."""
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{db}")
        try:
            if client.dbsize() == 0 and client.set(CLAIM_KEY, str(os.getpid()), nx=True):
                break
        except Exception:
            client.close()
            raise
        client.close()
    else:
        raise RuntimeError("no empty Redis database to use for the topology test")
    try:
        yield f"{REDIS_SERVER}/{db}"
    finally:
        # Everything in it is ours: it was empty when we claimed it.
        with contextlib.suppress(Exception):
            client.flushdb()
        client.close()


@dataclass
class Topology:
    """The running processes and what the test needs to observe them."""

    server: AppServer
    port: int
    redis_url: str
    web: subprocess.Popen
    engines: list[subprocess.Popen]
    env: dict[str, str] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)

    def add_engine(self, name: str) -> subprocess.Popen:
        """One more `fleet-dashboard engine`, stopped with the rest at the end."""
        path = self.logs[0].with_name(f"engine-{name}.log")
        self.logs.append(path)
        proc = start_engine(self.env, path)
        self.engines.append(proc)
        return proc

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def socket_owners(self) -> dict[str, str]:
        """client token -> the Reflex instance (one per web worker) holding that tab's socket, from Redis."""
        owners = {}
        with self.redis() as client:
            for key in client.scan_iter(match=f"{SOCKET_RECORD_PREFIX}*"):
                data = client.get(key)
                if data is not None:
                    owners[key.decode().removeprefix(SOCKET_RECORD_PREFIX)] = pickle.loads(data).instance_id
        return owners

    def web_pids(self) -> set[int]:
        """Every process of the web tier: `fleet-dashboard run`, reflex and its workers."""
        root = psutil.Process(self.web.pid)
        return {root.pid, *(p.pid for p in root.children(recursive=True))}

    def server_side_pid(self, client_port: int) -> int | None:
        """The web process holding the server end of our TCP connection from `client_port`."""
        for pid in self.web_pids():
            with contextlib.suppress(psutil.Error):
                for conn in psutil.Process(pid).net_connections(kind="tcp"):
                    if (conn.laddr and conn.laddr.port == self.port and conn.raddr
                            and conn.raddr.port == client_port):
                        return pid
        return None

    def log_tails(self, chars: int = 3000) -> str:
        out = []
        for path in self.logs:
            text = path.read_text("utf-8", "replace") if path.exists() else ""
            out.append(f"==== {path.name} ====\n{text[-chars:]}")
        return "\n".join(out)


def start_engine(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log_file = open(log_path, "ab")  # noqa: SIM115  (the child keeps its own copy of the descriptor)
    try:
        return leftovers.popen([str(ROOT / ".venv/bin/fleet-dashboard"), "engine"], cwd=ROOT, env=env,
                               stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log_file.close()


@contextmanager
def running_topology(database_url: str, *, port: int, log_dir: Path, redis_url: str | None = None,
                     env: dict[str, str] | None = None) -> Iterator[Topology]:
    """Two engines, then the web tier; all stopped (process groups we started) when the block exits.

    `redis_url`: a Redis of the caller's own (a drill restarts it); else an empty database of the shared one."""
    with (contextlib.nullcontext(redis_url) if redis_url else own_redis_db()) as redis_url:
        env = {**app_env(database_url, port), "REDIS_URL": redis_url,
               "RATE_LIMIT_PREFIX": f"topology-{uuid.uuid4().hex[:8]}",
               "RATE_LIMIT_SESSIONS": f"{SESSIONS_LIMIT}/minute",
               "ENGINE_LEASE_SECONDS": str(LEASE_SECONDS), **(env or {})}
        env.pop("REFLEX_REDIS_URL", None)  # REDIS_URL alone must be enough
        web_dir = frontend.web_dir_for(port, log_dir / "web")  # the run's frontend build, for this port
        web_env = {**env, "RUN_ENGINE": "false", "RUN_WORKER": "false", "WEB_WORKERS": str(WEB_WORKERS),
                   "REFLEX_WEB_WORKDIR": str(web_dir)}
        logs = [log_dir / "engine-a.log", log_dir / "engine-b.log", log_dir / "web.log"]
        procs: list[subprocess.Popen] = []
        engines: list[subprocess.Popen] = []
        server = AppServer(base_url=f"http://127.0.0.1:{port}", log_path=logs[2], database_url=database_url)
        try:
            procs.append(start_engine(env, logs[0]))
            procs.append(start_engine(env, logs[1]))
            log_file = open(logs[2], "wb")  # noqa: SIM115
            try:
                web = leftovers.popen([str(ROOT / ".venv/bin/fleet-dashboard"), "serve", "--no-migrate"], cwd=ROOT,
                                      env=web_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            finally:
                log_file.close()
            procs.append(web)
            _wait_for_ping(server, web)
            server.run_process = web
            engines = procs[:2]
            yield Topology(server=server, port=port, redis_url=redis_url, web=web, engines=engines, env=env,
                           logs=logs)
        finally:
            for proc in reversed(procs + engines[2:]):
                stop_group(proc)
            server.close()
            shutil.rmtree(web_dir, ignore_errors=True)


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll until `predicate()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
