"""What a test process starts outside itself (process groups, databases) is undone however the process ends.

Fixtures undo it in their finalizers, which run on a failure or a pytest-timeout. Three ends skip them: SIGTERM
(`timeout`, a killed CI job) ends Python at once, so `install` turns it into a KeyboardInterrupt, after which pytest
tears its fixtures down; whatever a test left registered is undone at exit (`atexit`); and SIGKILL or `os._exit`
skip both, so a watchdog process, in a session of its own, waits for this process's pipe to close and then undoes
what the registry file still lists. Processes are recorded with their start time, so a reused pid is never killed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_lock = threading.Lock()
_registry: Path | None = None
_watchdog: subprocess.Popen | None = None


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/pid/stat), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def is_running(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    return _start_time(pid) is not None


def _note(line: str) -> None:
    if _registry is None:
        return
    with _lock, open(_registry, "a") as f:
        f.write(line + "\n")


def install() -> None:
    """Start this process's registry and watchdog, undo at exit, and let SIGTERM run the fixtures' finalizers."""
    global _registry, _watchdog
    if _registry is not None:
        return
    fd, path = tempfile.mkstemp(prefix=f"fleet-leftovers-{os.getpid()}-", suffix=".txt")
    os.close(fd)
    _registry = Path(path)
    _watchdog = subprocess.Popen([sys.executable, "-m", "tests.support.leftovers", str(_registry)], cwd=ROOT,
                                 stdin=subprocess.PIPE, start_new_session=True)
    atexit.register(undo_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupt)


def _interrupt(signum, frame) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise KeyboardInterrupt(f"signal {signum}")


def popen(args, **kwargs) -> subprocess.Popen:
    """subprocess.Popen, the child tracked (its process group too when started with start_new_session)."""
    proc = subprocess.Popen(args, **kwargs)
    track_process(proc, group=bool(kwargs.get("start_new_session")))
    return proc


def track_process(proc: subprocess.Popen, *, group: bool) -> None:
    """Undo this child (its whole process group when `group`: it was started with start_new_session)."""
    _note(f"+proc {proc.pid} {_start_time(proc.pid)} {int(group)}")


def forget_process(proc: subprocess.Popen) -> None:
    _note(f"-proc {proc.pid}")


def track_database(server_url: str, name: str) -> None:
    _note(f"+db {name} {server_url}")


def forget_database(name: str) -> None:
    _note(f"-db {name}")


def _pending(registry: Path) -> tuple[list[tuple[int, str, bool]], list[tuple[str, str]]]:
    """What the registry still lists: (pid, start time, group) and (database, server URL)."""
    procs: dict[int, tuple[str, bool]] = {}
    dbs: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError), open(registry) as f:
        for line in f:
            kind, key, *rest = line.split()
            if kind == "+proc":
                procs[int(key)] = (rest[0], rest[1] == "1")
            elif kind == "-proc":
                procs.pop(int(key), None)
            elif kind == "+db":
                dbs[key] = rest[0]
            elif kind == "-db":
                dbs.pop(key, None)
    return [(pid, start, group) for pid, (start, group) in procs.items()], list(dbs.items())


def _undo(registry: Path) -> list[str]:
    """Kill the listed processes still alive (the same ones: same start time), drop the listed databases."""
    done = []
    procs, dbs = _pending(registry)
    for pid, start, group in procs:
        if _start_time(pid) != start:
            continue
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig) if group else os.kill(pid, sig)
            for _ in range(100 if sig == signal.SIGTERM else 20):
                if _start_time(pid) != start:
                    break
                threading.Event().wait(0.1)
            if _start_time(pid) != start:
                break
        if group:  # the group's other members, which may outlive its leader
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        done.append(f"process {pid}")
    if dbs:
        from fleet_dashboard.core import dbadmin

        for name, server_url in dbs:
            with contextlib.suppress(Exception):
                dbadmin.drop_database(server_url, name)
                done.append(f"database {name}")
    return done


def undo_all() -> None:
    """What this process started and its fixtures did not undo (at exit): undone now, and the watchdog let go."""
    global _registry
    if _registry is None or os.getpid() != int(_registry.name.split("-")[2]):
        return  # not installed, or a forked child that inherited the module
    registry, _registry = _registry, None
    _undo(registry)
    registry.unlink(missing_ok=True)
    if _watchdog is not None and _watchdog.stdin is not None:
        _watchdog.stdin.close()  # the watchdog finds no registry and exits
        with contextlib.suppress(subprocess.TimeoutExpired):
            _watchdog.wait(timeout=10)


def _watch(registry: Path) -> None:
    """The watchdog: wait for the test process to end (its pipe closes), then undo what it left listed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    if registry.exists():
        for what in _undo(registry):
            print(f"tests/support/leftovers: the test process {registry.name.split('-')[2]} ended without "
                  f"undoing {what}; undone", file=sys.stderr)
        registry.unlink(missing_ok=True)


if __name__ == "__main__":
    _watch(Path(sys.argv[1]))
