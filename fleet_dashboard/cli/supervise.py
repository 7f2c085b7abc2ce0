"""The one child-supervision loop of `run` and `serve`: the web process, the engine processes and the embedded
PostgreSQL are kept alive until SIGTERM or Ctrl-C.

- The web process (Reflex) is restarted with capped backoff when it dies after having served; one that dies
  before it ever answered /ping is a configuration or build problem, and ends the command with its exit code.
- Engines are `whatsapp.processes.EngineProcesses` (they restart themselves there; `poll()` is called here).
- The embedded PostgreSQL, when it dies, is started again on the same data directory and socket; every process
  reconnects to it by itself (the bus, the pools, the engines' leases).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from fleet_dashboard.core.backoff import backoff_delay

log = logging.getLogger("fleet_dashboard.cli")
TICK_SECONDS = 0.5
STOP_SECONDS = 20.0
# A web process that served this long starts its restart backoff afresh.
HEALTHY_AFTER_SECONDS = 60.0
# `run`'s first web start (the frontend build) waits at most this long for the engines to be up.
WEB_AFTER_ENGINES_SECONDS = 30.0


class Web:
    """The web child: started in our process group, its descendants remembered so none outlives it."""

    def __init__(self, command: list[str], *, cwd: Path, env: dict[str, str], ping_url: str,
                 restart_command: list[str] | None = None, restart_base: float = 1.0, restart_max: float = 30.0):
        self.command, self.cwd, self.env, self.ping_url = command, cwd, env, ping_url
        # `run` builds the frontend on its first start only: a restart serves that build (`serve`'s backend).
        self.restart_command = restart_command or command
        self.restart_base, self.restart_max = restart_base, restart_max
        self.proc: subprocess.Popen | None = None
        self.served = False  # answered /ping at least once, in any life
        self.restarts = 0
        self.started_at = 0.0
        self.next_start_at = 0.0
        self._family: dict[int, float] = {}  # pid -> create time of its descendants
        self._last_look = 0.0

    def start(self, now: float) -> None:
        command = self.restart_command if self.served else self.command
        self.proc = subprocess.Popen(command, cwd=self.cwd, env=self.env)
        self.started_at = now
        log.info("web process started (pid %d)", self.proc.pid)

    def _look(self, now: float) -> None:
        """Note the web process's descendants (granian workers...) and whether it answers yet."""
        if now - self._last_look < 2.0 or self.proc is None:
            return
        self._last_look = now
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self._family[child.pid] = child.create_time()
        if not self.served:
            with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(self.ping_url, timeout=1) as answer:
                self.served = answer.status == 200

    def _reap_family(self) -> None:
        """Kill what the dead web process left behind (a worker still holding the port would block the restart)."""
        for pid, created in self._family.items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if proc.create_time() == created:
                    proc.kill()
        self._family.clear()

    def poll(self, now: float) -> int | None:
        """Notice a death and restart when due; returns an exit code when the command should end."""
        if self.proc is None:
            if now >= self.next_start_at:
                self.start(now)
            return None
        code = self.proc.poll()
        if code is None:
            self._look(now)
            return None
        self.proc = None
        self._reap_family()
        if not self.served:
            log.error("the web process exited with %s before it ever answered; stopping", code)
            return code or 1
        if now - self.started_at >= HEALTHY_AFTER_SECONDS:
            self.restarts = 0
        self.restarts += 1
        delay = backoff_delay(self.restarts, base=self.restart_base, cap=self.restart_max)
        self.next_start_at = now + delay
        log.error("the web process exited with %s; restarting it in %.1f s", code, delay)
        return None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._look(float("inf"))
        self._reap_family()
        return proc.returncode


def keep_alive(web: Web, *, engines: Any = None, database: Any = None, web_after_engines: bool = False) -> int:
    """Supervise until SIGTERM or Ctrl-C (0), or until the web process fails its first start (its code).

    `web_after_engines` (`run`, whose first web start builds the frontend): that start waits until every engine
    process is up (WEB_AFTER_ENGINES_SECONDS at most). The build is minutes of CPU that takes no part in
    connecting or sending; started beside a fleet's engine processes it slowed their cold start."""
    stopping: list[bool] = []
    web_not_before = time.monotonic() + WEB_AFTER_ENGINES_SECONDS if web_after_engines and engines else 0.0
    # SIGTERM (docker stop, systemd): the web server exits first, then the engines; the caller stops PostgreSQL.
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    db_failures, db_next_try = 0, 0.0
    try:
        while not stopping:
            try:
                now = time.monotonic()
                if database is not None and now >= db_next_try:
                    try:
                        if database.ensure_running():
                            db_failures = 0
                    except Exception as exc:  # e.g. the dead server's backends still hold its memory
                        db_failures += 1
                        db_next_try = now + backoff_delay(db_failures, base=0.5, cap=5.0)
                        log.error("embedded PostgreSQL could not be started again (%s); retrying", exc)
                if engines is not None:
                    engines.poll()
                if web_not_before and (now >= web_not_before or engines.all_up()):
                    web_not_before = 0.0
                    log.info("engine processes up; starting the web process")
                code = web.poll(now) if not web_not_before else None
                if code is not None:
                    return code
                time.sleep(TICK_SECONDS)
            except KeyboardInterrupt:
                stopping.append(True)
        return 0
    finally:
        web.stop()
        if engines is not None:
            engines.stop()
        signal.signal(signal.SIGTERM, previous)
