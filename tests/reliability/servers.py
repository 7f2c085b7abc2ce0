"""Private PostgreSQL and Redis servers for the drills: ours to stop, kill, freeze and restart.

The machine's shared PostgreSQL (127.0.0.1:5432) and Redis (6379) serve every other test run: a drill never
touches them. Each server here listens on a private port and a private socket directory, and is stopped with
its directory removed when the drill ends."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from tests.support import leftovers


def _pg_bin() -> Path:
    """The Debian PostgreSQL binaries (the newest installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return Path(found[-1]).parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temp dir), on 127.0.0.1:<port> and a socket in that dir."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.data = root / "data"
        self.port = port
        self.bin = _pg_bin()
        # initdb refuses root: run the server as the postgres system user when we are root.
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\nmax_connections = 200\n"
                       "shared_buffers = 64MB\nlog_min_messages = warning\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash as far as clients can tell: every connection dies at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def processes(self) -> list[psutil.Process]:
        """The postmaster and every backend of this cluster."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return []
        with contextlib.suppress(psutil.Error, ValueError):
            master = psutil.Process(int(pid_file.read_text().split()[0]))
            return [master, *master.children(recursive=True)]
        return []

    def freeze(self) -> None:
        """SIGSTOP the whole cluster: connections stay open, nothing answers (a hung host, a stalled disk)."""
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGCONT)

    def destroy(self) -> None:
        self.thaw()
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh cluster, started; stopped and removed at the end."""
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="fdrel", dir="/tmp")), free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


class PrivateRedis:
    """A redis-server of our own on a private port, no persistence."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.port = port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = leftovers.popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--dir", str(self.root)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    root = Path(tempfile.mkdtemp(prefix="fdredis", dir="/tmp"))
    server = PrivateRedis(root, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
