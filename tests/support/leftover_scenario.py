"""Not collected on its own: tests/test_leftovers.py runs it in a child pytest and ends that pytest midway.

It does what a live-app fixture does (a database of its own, the `fleet-dashboard worker` in a process group of its
own), writes their names to LEFTOVER_REPORT, then waits to be ended from outside."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support import leftovers
from tests.support.server import ROOT, app_env, own_database


def test_started_then_ended(pg_server: str, tmp_path: Path) -> None:
    with own_database(pg_server, "fleet_leftover") as url, open(tmp_path / "worker.log", "wb") as log:
        worker = leftovers.popen([str(ROOT / ".venv/bin/fleet-dashboard"), "worker"], cwd=ROOT,
                                 env=app_env(url, port=0), stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        Path(os.environ["LEFTOVER_REPORT"]).write_text(f"{worker.pid} {make_url(url).database}")
        time.sleep(600)  # ended from outside: a signal, or pytest-timeout
