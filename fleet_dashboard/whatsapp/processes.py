"""`fleet-dashboard run` keeps the engine processes alive: enough of them for the sessions that should be up
(ENGINE_SHARD_SIZE organisations each), and a dead one restarted with backoff, its sessions marked down
meanwhile. This module never imports the WhatsApp library; only the children load it."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from fleet_dashboard.core.backoff import backoff_delay
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.whatsapp import start_marker
from fleet_dashboard.whatsapp.engines import blame_start, engine_candidates, mark_crashed, running_pids

log = logging.getLogger(__name__)
RECYCLE_EXIT_CODE = 75  # whatsapp.engine.runtime.RECYCLE_EXIT_CODE (not imported: that module loads the engine)
HEALTHY_AFTER_SECONDS = 60.0  # an engine that ran this long starts its restart backoff afresh
SCALE_EVERY_SECONDS = 5.0
STOP_SECONDS = 20.0


@dataclass
class Slot:
    """One engine process place: the running child, and when to start the next one after a death."""

    index: int
    proc: subprocess.Popen | ForkedChild | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start_at: float = 0.0
    exits: list[int] = field(default_factory=list)


def _candidate_count() -> int:
    with session_scope() as session:
        return len(engine_candidates(session=session))


def _mark_crashed(engine_id: str, reason: str, starting: list | None = None) -> int:
    """A dead engine's sessions are down; those whose start was inside the library count that death (quarantine)."""
    with session_scope() as session:
        marked = mark_crashed(session=session, engine_id=engine_id, reason=reason)
        parked = blame_start(session=session, org_ids=list(starting or []), engine_id=engine_id)
    for org_id in parked:
        log.error("organisation %s parked: engines died twice in a row during its start (engine_crash_loop)",
                  org_id)
    return marked


class ForkedChild:
    """An engine process forked from `run` (which has the engine's modules loaded already), with what
    EngineProcesses uses of subprocess.Popen: 21 fresh interpreters each importing them for 1.5-2 s of CPU were
    most of a 1,000-organisation cold start on two cores."""

    def __init__(self, entry: Callable[[], int], env: dict[str, str]):
        sys.stdout.flush()
        sys.stderr.flush()
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:
            _become_engine(entry, env)  # never returns

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL  # reaped elsewhere: gone, and how is unknown
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"engine pid {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _become_engine(entry: Callable[[], int], env: dict[str, str]) -> None:
    """In the forked child: take the engine's environment, drop what the parent cached (its pooled connections
    stay the parent's: nothing is closed on them), run `entry`, and leave without the parent's exit handlers
    (the embedded server's would stop PostgreSQL)."""
    code = 1
    try:
        random.seed()  # else every engine draws the same order of free organisations
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(env)
        from fleet_dashboard.core import db, events
        from fleet_dashboard.core.settings import get_settings

        if db.get_engine.cache_info().currsize:
            db.get_engine().dispose(close=False)
        db.get_engine.cache_clear()
        events.get_bus.cache_clear()
        get_settings.cache_clear()
        code = entry()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def engine_command() -> list[str]:
    """The child's command line: this interpreter, the engine's own entry (`fleet-dashboard engine` without
    loading the rest of the command line: a third less CPU per child when a fleet's shards start at once)."""
    return [sys.executable, "-m", "fleet_dashboard.whatsapp.engine"]


class EngineProcesses:
    """Starts, watches and restarts `fleet-dashboard engine` children; call `poll()` often, `stop()` at the end."""

    def __init__(self, *, env: dict[str, str], minimum: int, maximum: int, shard_size: int, spare: int = 0,
                 restart_base: float = 1.0, restart_max: float = 30.0,
                 count_candidates: Callable[[], int] = _candidate_count,
                 mark_crashed: Callable[..., int] = _mark_crashed, command: list[str] | None = None,
                 marker_dir: str | None = None, entry: Callable[[], int] | None = None):
        """`entry`: each engine is a fork of this process running it (ForkedChild); else `command` is started."""
        self.env = env
        self.minimum, self.maximum, self.shard_size = minimum, max(minimum, maximum), shard_size
        self.spare = spare
        self.restart_base, self.restart_max = restart_base, restart_max
        self.count_candidates = count_candidates
        self.mark_crashed = mark_crashed
        self.command = command or engine_command()
        self.entry = entry
        self.slots: list[Slot] = [Slot(i) for i in range(min(self.maximum, minimum + spare))]
        self._last_scale = float("-inf")
        self.restarts_total = 0
        # Each child keeps the list of starts it has inside the library in a file of its slot (start_marker.py).
        self.marker_dir = marker_dir or tempfile.mkdtemp(prefix="fleet-engines-")

    def pids(self) -> list[int]:
        """The running children's process ids."""
        return [s.proc.pid for s in self.slots if s.proc is not None and s.proc.poll() is None]

    def wanted(self, candidates: int) -> int:
        """Processes needed so every session that should be up has an engine with room for it, plus spares: when
        one dies, the others have room to take its sessions over at once, before it is even restarted."""
        return min(self.maximum, max(self.minimum, math.ceil(candidates / self.shard_size)) + self.spare)

    def all_up(self) -> bool:
        """Every engine process wanted so far is running and has written its first heartbeat."""
        pids = self.pids()
        if not pids or len(pids) < len(self.slots):
            return False
        try:
            with session_scope() as session:
                return running_pids(session=session, hostname=socket.gethostname(), pids=pids) == set(pids)
        except Exception:  # the database may be briefly away
            return False

    def poll(self, now: float | None = None) -> None:
        """Notice deaths, start what is due, and add processes when the sessions outgrow them."""
        now = time.monotonic() if now is None else now
        if now - self._last_scale >= SCALE_EVERY_SECONDS:
            self._last_scale = now
            try:
                wanted = self.wanted(self.count_candidates())
            except Exception as exc:  # the database may be briefly away; try again later
                log.warning("could not count the sessions engines must hold: %s", exc)
                wanted = len(self.slots)
            while len(self.slots) < wanted:
                log.info("starting engine process %d for the sessions that should be up", len(self.slots) + 1)
                self.slots.append(Slot(len(self.slots)))
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is not None:
                self._died(slot, now)
            if slot.proc is None and now >= slot.next_start_at:
                self._start(slot, now)

    def marker(self, slot: Slot) -> str:
        return os.path.join(self.marker_dir, f"slot-{slot.index}.starting")

    def _start(self, slot: Slot, now: float) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.marker(slot))  # what the last child had inside the library was counted at its death
        env = {**self.env, "PYTHONUNBUFFERED": "1", "FLEET_ENGINE_SLOT": str(slot.index),
               start_marker.ENV: self.marker(slot)}
        slot.proc = ForkedChild(self.entry, env) if self.entry is not None else subprocess.Popen(self.command, env=env)
        slot.started_at = now
        log.info("engine process %d started (pid %d)", slot.index, slot.proc.pid)

    def _died(self, slot: Slot, now: float) -> None:
        proc, slot.proc = slot.proc, None
        code = proc.returncode
        slot.exits.append(code)
        engine_id = f"{socket.gethostname()}:{proc.pid}"
        how = f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"code {code}"
        starting = start_marker.read(self.marker(slot)) if code != 0 and code != RECYCLE_EXIT_CODE else []
        try:
            marked = self.mark_crashed(engine_id, f"the engine process stopped unexpectedly ({how})", starting)
        except Exception as exc:
            log.warning("could not mark the sessions of engine %s as down: %s", engine_id, exc)
            marked = 0
        if now - slot.started_at >= HEALTHY_AFTER_SECONDS:
            slot.restarts = 0
        if code == RECYCLE_EXIT_CODE:
            delay = 0.0
        else:
            slot.restarts += 1
            delay = backoff_delay(slot.restarts, base=self.restart_base, cap=self.restart_max)
        self.restarts_total += 1
        slot.next_start_at = now + delay
        log.error("engine process %d (pid %d) exited with %s; %d sessions marked down; restarting in %.1f s",
                  slot.index, proc.pid, how, marked, delay)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM every child (each closes its sockets and releases its locks), then wait; kill stragglers."""
        procs = [s.proc for s in self.slots if s.proc is not None and s.proc.poll() is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("engine pid %d did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait(5)
        for slot in self.slots:
            slot.proc = None


def from_settings(env: dict[str, str] | None = None, entry: Callable[[], int] | None = None) -> EngineProcesses | None:
    """The engine processes `run` should keep, or None when RUN_ENGINE=false (engines run elsewhere); with
    `entry`, forks of this process that run it."""
    settings = get_settings()
    if not settings.run_engine or settings.engine_processes == 0:
        return None
    return EngineProcesses(env=dict(env or os.environ), minimum=settings.engine_processes,
                           maximum=settings.engine_max_processes, shard_size=settings.engine_shard_size,
                           spare=settings.engine_spare_processes,
                           restart_base=settings.engine_restart_base_seconds,
                           restart_max=settings.engine_restart_max_seconds, entry=entry)
