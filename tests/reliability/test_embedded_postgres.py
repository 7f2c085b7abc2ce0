"""The embedded PostgreSQL under `fleet-dashboard run` (no DATABASE_URL, as `make run` starts it) killed mid-drain,
with the incident's load (200 notifications for five organisations): run starts it again on the same data and
socket, and everything reconnects."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from playwright.sync_api import Browser

from tests.reliability.conftest import DRILL_ENV
from tests.reliability.drill import RECOVERY_SECONDS, Drill, utc_now, wait_until
from tests.support import leftovers
from tests.support.server import ROOT, AppServer, _wait_for_ping, app_env, free_port, stop_group


def _postmaster(data_dir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        if psutil.pid_exists(pid):
            return pid
    return None


@contextmanager
def embedded_run(log_dir: Path) -> Iterator[tuple[Drill, Path]]:
    """`fleet-dashboard run` with no DATABASE_URL: its own embedded server, in a data dir of ours."""
    root = Path(tempfile.mkdtemp(prefix="fdemb", dir="/tmp"))  # short: the socket lives in the data dir
    data_dir = root / "pg"
    port = free_port(3700, 3800)
    env = {**app_env("", port), **DRILL_ENV, "EMBEDDED_PG_DIR": str(data_dir)}
    env.pop("DATABASE_URL")
    log_path = log_dir / "run.log"
    server = AppServer(base_url=f"http://127.0.0.1:{port}", log_path=log_path,
                       database_url=f"postgresql://postgres@/postgres?host={data_dir}")
    with open(log_path, "wb") as log_file:
        proc = leftovers.popen([str(ROOT / ".venv/bin/fleet-dashboard"), "run"], cwd=ROOT, env=env,
                               stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_ping(server, proc)
        server.run_process = proc
        yield Drill(server), data_dir
    finally:
        stop_group(proc)
        server.close()
        pid = _postmaster(data_dir)
        if pid is not None:  # run stops it on the way out; never leave one behind
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def test_embedded_postgres_killed_under_run(browser: Browser, tmp_path) -> None:
    with embedded_run(tmp_path) as (drill, data_dir):
        drill.connected_orgs(5)
        tabs = drill.open_tabs(browser)
        try:
            total = drill.enqueue(40)
            wait_until(lambda: drill.sent_count() >= 40, 60, "the drain under way")
            pid = _postmaster(data_dir)
            assert pid is not None
            print(f"\n   {drill.sent_count()} of {total} sent; SIGKILL to the embedded PostgreSQL (pid {pid})")
            offset = drill.server.log_size()
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            # How long PostgreSQL's own crash recovery takes is the machine's (seconds when busy): what is ours is
            # that run notices and starts it, and that everything works within 10 s of its return.
            wait_until(lambda: (p := _postmaster(data_dir)) is not None and p != pid and drill.sql("SELECT 1"),
                       60, "run to start PostgreSQL again", interval=0.2)
            back, back_at = time.monotonic(), utc_now()
            print(f"   run had PostgreSQL back {back - killed:.1f} s after the kill")
            drill.check_live_paths(tabs, back)
            # run logs it once pg_ctl returns, which can be just after the server first answers.
            wait_until(lambda: "embedded PostgreSQL was down; started it again" in drill.server.log_since(offset),
                       30, "run's log to say it started PostgreSQL again", interval=0.2)
            wait_until(lambda: drill.first_send_after(back_at) is not None, RECOVERY_SECONDS, "a send after the return")
            first = drill.first_send_after(back_at)
            print(f"   first send {first:.1f} s after PostgreSQL was back")
            assert first <= RECOVERY_SECONDS
            drill.wait_drained(total, 120)
            drill.assert_each_sent_once(total)
        finally:
            tabs.close()
