"""A worker process killed with SIGKILL mid-batch: after a restart every notification ends, none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.messaging import templates
from fleet_dashboard.notifications import queue
from tests.notifications.conftest import pair, scalar
from tests.support import leftovers

WORKER = ("import asyncio, logging\n"
          "from fleet_dashboard.notifications.worker import WorkerConfig\n"
          "from fleet_dashboard.whatsapp.engine.runtime import run_engine_forever\n"
          "logging.basicConfig(level=logging.WARNING)\n"
          "asyncio.run(run_engine_forever(with_worker=True, worker_config=WorkerConfig(batch_size=50,"
          " poll_seconds=0.1, lease_seconds=3, reclaim_every_seconds=0.5)))\n")
ORGS, PER_ORG = 8, 100
TOTAL = ORGS * PER_ORG


def _start(env: dict[str, str], log_path: str) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it for its life
    return leftovers.popen([sys.executable, "-c", WORKER], env={**os.environ, **env}, stdout=log,
                           stderr=subprocess.STDOUT)


def _count(status: str) -> int:
    return scalar("SELECT count(*) FROM notification_queue WHERE status = :s", s=status)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_inside_a_send(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL the worker the moment a message is marked sending, i.e. inside the send call."""
    from fleet_dashboard.core.db import get_engine

    deadline = time.monotonic() + timeout
    with get_engine().connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        probe = text("SELECT 1 FROM whatsapp_messages WHERE status = 'sending' LIMIT 1")
        while time.monotonic() < deadline and conn.execute(probe).first() is None:
            pass
    os.kill(pid, signal.SIGKILL)


def test_sigkill_mid_batch_then_restart_ends_every_notification_without_duplicates(sim, db, make_org, tmp_path):
    for i in range(ORGS):
        org = make_org(name=f"Crash {i}")
        templates.create(session=db, org_id=org.id, name="greet", message_template="Hi {{name}}", actor=SYSTEM)
        db.commit()
        pair(db, org.id, f"+20100000002{i}")
        queue.enqueue_many(session=db, org_id=org.id, items=[
            {"recipient": "+201001234567", "template_name": "greet", "variables": {"name": f"{i}-{n}"}}
            for n in range(PER_ORG)], actor=SYSTEM)
        db.commit()
    # Ten sends a second per organisation: the kill lands while batches are claimed and in flight.
    env = {**sim, "SEND_RATE_PER_MINUTE": "600", "SEND_JITTER_SECONDS": "0"}
    log_path = str(tmp_path / "worker.log")
    first = _start(env, log_path)
    try:
        _wait(lambda: _count("completed") >= 150, 60, "the first worker to send")
        _kill_inside_a_send(first.pid)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    in_flight = _count("processing")
    inside_send = scalar("SELECT count(*) FROM whatsapp_messages WHERE status = 'sending'")
    assert in_flight > 0, "the kill should catch claimed rows"
    assert _count("completed") < TOTAL

    second = _start(env, log_path)
    try:
        _wait(lambda: _count("completed") + _count("unknown") == TOTAL, 90, "every notification to end")
    finally:
        second.terminate()
        assert second.wait(20) == 0, Path(log_path).read_text()[-3000:]

    completed, unknown = _count("completed"), _count("unknown")
    print(f"in flight at kill {in_flight}, inside a send {inside_send}, completed {completed}, unknown {unknown}")
    assert completed + unknown == TOTAL and _count("pending") == _count("processing") == _count("failed") == 0
    # Nothing went out twice; every completed row went out exactly once; unknown ones at most once. (The network's
    # log also holds the typing presence and the look-ups before the messages: only messages count here.)
    assert scalar("SELECT count(*) - count(DISTINCT text) FROM simulator_sent WHERE kind = 'message'") == 0
    assert scalar("""SELECT count(*) FROM notification_queue q JOIN simulator_sent s
                     ON s.whatsapp_message_id = q.whatsapp_message_id WHERE q.status = 'completed'""") == completed
    assert completed <= scalar("SELECT count(*) FROM simulator_sent WHERE kind = 'message'") <= TOTAL
    # Exactly the sends the kill interrupted are parked as unknown; the rest of the batch was retried.
    assert unknown == inside_send <= ORGS
    assert scalar("SELECT count(*) FROM notification_queue WHERE status = 'unknown' "
                  "AND (error_message NOT LIKE '%may have the message%' OR error_code <> 'outcome_unknown')") == 0
