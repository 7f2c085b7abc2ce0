"""The web process SIGKILLed under `fleet-dashboard run`: run restarts it (with backoff, on the frontend its first
start built), the open tabs reconnect and rehydrate by themselves, and sending never stopped."""

from __future__ import annotations

import os
import signal
import time

import httpx
import psutil
from playwright.sync_api import Browser

from tests.reliability.conftest import app_on
from tests.reliability.drill import wait_until


def _web_process(run_pid: int) -> psutil.Process:
    """`run`'s child that serves the web (Reflex), not an engine."""
    for child in psutil.Process(run_pid).children():
        cmdline = " ".join(child.cmdline())
        if "reflex" in cmdline or "cli.serve" in cmdline:
            return child
    raise AssertionError("no web process under run")


def _pings(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ping", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_web_process_killed_under_run(postgres, browser: Browser, tmp_path) -> None:
    with app_on(postgres, tmp_path, command="run") as drill:
        drill.connected_orgs(2)
        tabs = drill.open_tabs(browser)
        try:
            total = drill.enqueue(20)
            wait_until(lambda: drill.sent_count() >= 5, 60, "the drain under way")
            web = _web_process(drill.server.run_process.pid)
            print(f"\n   SIGKILL to the web process (pid {web.pid})")
            offset = drill.server.log_size()
            os.kill(web.pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_until(lambda: not _pings(drill.server.base_url), 10, "the web process gone")
            # A Python process's start is the machine's (seconds when busy): what is ours is that run restarts it
            # after its backoff, and that everything works within 10 s of its return.
            wait_until(lambda: _pings(drill.server.base_url), 120, "the web process back", interval=0.2)
            back = time.monotonic()
            print(f"   web answers again {back - killed:.1f} s after the kill")
            assert "the web process exited with -9; restarting it in" in drill.server.log_since(offset)
            drill.check_live_paths(tabs, back)
            drill.wait_drained(total, 120)
            drill.assert_each_sent_once(total)
        finally:
            tabs.close()
