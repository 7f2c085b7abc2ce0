"""However a test process ends (SIGTERM, SIGKILL, pytest-timeout's thread method and its os._exit), the processes and
databases its fixtures started are gone soon after (tests/support/leftovers.py). A plain failure runs the fixtures'
finalizers; these three skipped them, and left `fleet-dashboard` processes and `fleet_*` databases behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from fleet_dashboard.core.db import libpq_url
from tests.support import leftovers
from tests.support.server import ROOT

SCENARIO = "tests/support/leftover_scenario.py"


def _database_exists(server_url: str, name: str) -> bool:
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


@pytest.mark.parametrize("end", ["sigterm", "sigkill", "timeout"])
def test_a_test_process_ended_any_way_leaves_no_process_nor_database(end, pg_server, tmp_path):
    report = tmp_path / "report"
    extra = ["--timeout=20", "--timeout-method=thread"] if end == "timeout" else []
    child = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, SCENARIO],
                             cwd=ROOT, env={**os.environ, "LEFTOVER_REPORT": str(report),
                                            "TEST_DATABASE_URL": pg_server},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    worker_pid = None
    try:
        deadline = time.monotonic() + 120
        while not report.exists() or not report.read_text():
            assert child.poll() is None, child.stdout.read().decode()
            assert time.monotonic() < deadline, "the scenario never started its worker"
            time.sleep(0.1)
        worker_pid, database = report.read_text().split()
        worker_pid = int(worker_pid)
        assert leftovers.is_running(worker_pid) and _database_exists(pg_server, database)
        if end in ("sigterm", "sigkill"):
            child.send_signal(signal.SIGTERM if end == "sigterm" else signal.SIGKILL)
        child.wait(timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (leftovers.is_running(worker_pid)
                                               or _database_exists(pg_server, database)):
            time.sleep(0.2)
        assert not leftovers.is_running(worker_pid), f"the worker outlived a test process ended by {end}"
        assert not _database_exists(pg_server, database), f"the database outlived a test process ended by {end}"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if worker_pid is not None and leftovers.is_running(worker_pid):
            os.killpg(worker_pid, signal.SIGKILL)
