"""`run` starts the web process (whose first start builds the frontend: minutes of CPU that take no part in
connecting or sending) only once every engine process is up, so a fleet's cold start does not share the two
cores with the build."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from fleet_dashboard.cli.supervise import Web, keep_alive
from fleet_dashboard.whatsapp.processes import EngineProcesses

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_runs_first_web_start_waits_until_every_engine_is_up(sim_env, tmp_path: Path):
    fleet = EngineProcesses(env={**os.environ, **sim_env}, minimum=2, maximum=2, shard_size=50,
                            marker_dir=str(tmp_path))
    web = Web(SLEEPER, cwd=tmp_path, env=dict(os.environ), ping_url="http://127.0.0.1:9/ping")
    seen: dict[str, bool] = {}

    def watch() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and web.proc is None:
            seen.setdefault("engines_up_before_web", fleet.all_up())
            time.sleep(0.05)
        seen["web_started"] = web.proc is not None
        seen["engines_up_when_web_started"] = fleet.all_up()
        os.kill(os.getpid(), signal.SIGTERM)  # keep_alive's own way out

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert keep_alive(web, engines=fleet, web_after_engines=True) == 0
    watcher.join(10)
    assert fleet.pids() == [] and web.proc is None  # both stopped on the way out
    assert seen == {"engines_up_before_web": False, "web_started": True, "engines_up_when_web_started": True}
