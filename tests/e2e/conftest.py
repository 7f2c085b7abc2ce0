"""The e2e harness: the real app in simulator mode as a subprocess, Debian Chromium, and strict error checks."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from fleet_dashboard import dbadmin
from tests.e2e.server import AppServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STARTUP_TIMEOUT = 420
# A line the server logs at ERROR level, or a traceback: either fails the test that was running.
SERVER_ERROR = re.compile(r"(\bERROR\b|Traceback \(most recent call last\))")

expect.set_options(timeout=10_000)


def _free_port() -> int:
    for port in range(3100 + os.getpid() % 50, 3200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 3100-3199")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian Chromium: playwright cannot download browsers on this network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def e2e_database(pg_server: str) -> Iterator[str]:
    """A migrated database of our own for the app server, so no other test's data or engine meets it."""
    name = f"fleet_e2e_{uuid.uuid4().hex[:10]}"
    url = dbadmin.create_database(pg_server, name)
    try:
        dbadmin.migrate(url)
        yield url
    finally:
        dbadmin.drop_database(pg_server, name)


@pytest.fixture(scope="package")
def app_server(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """`fleet-dashboard run` with the simulator backend, started once and stopped with its children."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("e2e") / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": e2e_database,
        "WHATSAPP_BACKEND": "simulator",
        "ENVIRONMENT": "test",
        "PORT": str(port),
        "SECRET_KEY": "e2e-" + uuid.uuid4().hex,
        "BUS_BACKEND": "postgres",
        "SIMULATOR_RECEIPT_DELAY_SECONDS": "0.3",
        "SIMULATOR_QR_ROTATE_SECONDS": "8",
        "SEND_JITTER_SECONDS": "0",
        "SEND_RATE_PER_MINUTE": "600",
        "RECONNECT_BASE_SECONDS": "0.5",
        "BACKEND_HOST": "127.0.0.1",
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
    }
    # The engine and queue worker run in their own process, as in a split deployment: every live
    # update the pages show has to cross PostgreSQL LISTEN/NOTIFY.
    web_env = {**env, "RUN_ENGINE": "false", "RUN_WORKER": "false"}
    procs: list[tuple[subprocess.Popen, object]] = []
    server = AppServer(base_url=f"http://127.0.0.1:{port}", log_path=log_path, database_url=e2e_database)
    try:
        for argv, proc_env, path in (
            (["worker"], env, log_path.with_name("worker.log")),
            (["run"], web_env, log_path),
        ):
            log_file = open(path, "wb")  # noqa: SIM115  (closed after the process stops)
            procs.append((subprocess.Popen([str(ROOT / ".venv/bin/fleet-dashboard"), *argv], cwd=ROOT,
                                           env=proc_env, stdout=log_file, stderr=subprocess.STDOUT,
                                           start_new_session=True), log_file))
        _wait_for_ping(server, procs[-1][0])
        yield server
    finally:
        for proc, log_file in reversed(procs):
            _stop(proc)
            log_file.close()
        server.close()


def _wait_for_ping(server: AppServer, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/ping", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the app did not answer /ping in {STARTUP_TIMEOUT}s:\n{server.log_tail()}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop our own process group: the CLI, reflex and its workers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.fixture
def browser_context_args(app_server: AppServer) -> dict:
    """Every page talks to our server, in Arabic, on a laptop-sized screen unless a test says otherwise."""
    return {"base_url": app_server.base_url, "locale": "ar-EG", "timezone_id": "Africa/Cairo",
            "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(autouse=True)
def strict_page(page: Page, app_server: AppServer) -> Iterator[list[str]]:
    """Fail on any console error, page error, off-site request, or server ERROR log during the test."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def check_request(request) -> None:
        url = request.url
        if not (url.startswith(app_server.base_url) or url.startswith(("data:", "blob:"))
                or url.startswith(app_server.base_url.replace("http", "ws", 1))):
            problems.append(f"off-site request: {url}")

    page.on("request", check_request)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    offset = app_server.log_size()
    yield problems
    new_lines = app_server.log_since(offset)
    bad = [line for line in new_lines.splitlines() if SERVER_ERROR.search(line)]
    assert not bad, "server logged errors:\n" + "\n".join(bad[:20]) + "\n---\n" + new_lines[-4000:]
    assert not problems, "browser problems:\n" + "\n".join(problems)
