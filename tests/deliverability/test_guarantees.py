"""The queue's guarantees with every guard on: rows held by quiet hours, the daily cap and a pause survive worker
restarts (a clean stop and a SIGKILL), nothing held is failed or sent early, and once released every row goes
out exactly once: 0 lost, 0 duplicated, nothing stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from fleet_dashboard.accounts import localtime
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import pauses
from fleet_dashboard.messaging import templates
from tests.deliverability.conftest import enqueue, pair, scalar_rows, set_rules
from tests.notifications.conftest import scalar
from tests.support import leftovers

WORKER = ("import asyncio, logging\n"
          "from fleet_dashboard.notifications.worker import WorkerConfig\n"
          "from fleet_dashboard.whatsapp.engine.runtime import run_engine_forever\n"
          "logging.basicConfig(level=logging.WARNING)\n"
          "asyncio.run(run_engine_forever(with_worker=True, worker_config=WorkerConfig(batch_size=40,"
          " poll_seconds=0.1, lease_seconds=3, reclaim_every_seconds=0.5)))\n")
PER_ORG = 40


def _start(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it for its life
    return leftovers.popen([sys.executable, "-c", WORKER], env={**os.environ, **env}, stdout=log,
                           stderr=subprocess.STDOUT)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _count(org_id, status: str, wait: str | None = None) -> int:
    if wait is None:
        return scalar("SELECT count(*) FROM notification_queue WHERE org_id = :o AND status = :s", o=org_id, s=status)
    return scalar("SELECT count(*) FROM notification_queue WHERE org_id = :o AND status = :s AND wait_reason = :w",
                  o=org_id, s=status, w=wait)


def _sent(org_id) -> int:
    return scalar("SELECT count(*) FROM simulator_sent WHERE org_id = :o AND kind = 'message'", o=org_id)


def _stop(proc: subprocess.Popen, log_path: Path) -> None:
    proc.terminate()
    assert proc.wait(20) == 0, log_path.read_text()[-3000:]


def test_held_rows_survive_restarts_and_every_row_goes_out_exactly_once(sim, db, make_org, tmp_path):
    orgs = {}
    for i, name in enumerate(("quiet", "capped", "paused", "open")):
        org = make_org(name=f"Guarded {name}")
        templates.create(session=db, org_id=org.id, name="greet", message_template="Hi {{name}}", actor=SYSTEM)
        db.commit()
        pair(db, org.id, f"+20100000030{i}")
        orgs[name] = org
    now = localtime.to_local(utcnow(), localtime.zone_of(orgs["quiet"])).local
    set_rules(orgs["quiet"].id, quiet_hours={"start": (now - timedelta(hours=1)).strftime("%H:%M"),
                                             "end": (now + timedelta(hours=1)).strftime("%H:%M")})
    set_rules(orgs["capped"].id, daily_cap=5, warmup=False)
    with session_scope() as s:
        pauses.pause(session=s, org_id=orgs["paused"].id, reason="sends_failing", detail="3 failed in a row")
    for name, org in orgs.items():
        enqueue(org.id, [f"{name}-{n}" for n in range(PER_ORG)], phone=f"+2010055{list(orgs).index(name):05d}")
    total = PER_ORG * len(orgs)
    env = {**sim, "SEND_RATE_PER_MINUTE": "1200", "SEND_JITTER_SECONDS": "0"}
    log_path = tmp_path / "worker.log"

    first = _start(env, log_path)
    try:
        _wait(lambda: _count(orgs["open"].id, "completed") == PER_ORG and _count(orgs["capped"].id, "completed") == 5
              and _count(orgs["capped"].id, "pending", "daily_cap") == PER_ORG - 5
              and _count(orgs["paused"].id, "pending", "paused") == PER_ORG, 90, "the guards to hold their rows")
    finally:
        _stop(first, log_path)
    assert _count(orgs["quiet"].id, "pending", "quiet_hours") == PER_ORG
    assert _sent(orgs["quiet"].id) == _sent(orgs["paused"].id) == 0 and _sent(orgs["capped"].id) == 5

    # A second worker keeps holding them: nothing sent early, nothing failed, nothing left processing.
    second = _start(env, log_path)
    try:
        time.sleep(3)
        assert (_count(orgs["quiet"].id, "pending", "quiet_hours"), _count(orgs["paused"].id, "pending", "paused"),
                _count(orgs["capped"].id, "pending", "daily_cap")) == (PER_ORG, PER_ORG, PER_ORG - 5)
        # The danger ends, the rules change: every held row goes, and a SIGKILL lands among the sends.
        set_rules(orgs["quiet"].id, quiet_hours=None)
        set_rules(orgs["capped"].id, daily_cap=1000)
        with session_scope() as s:
            pauses.resume(session=s, org_id=orgs["paused"].id, actor=SYSTEM)
        _wait(lambda: scalar("SELECT count(*) FROM notification_queue WHERE status = 'completed'") >= total // 2,
              60, "sends after the release")
    finally:
        if second.poll() is None:
            os.kill(second.pid, signal.SIGKILL)
        second.wait(10)
    inside_send = scalar("SELECT count(*) FROM whatsapp_messages WHERE status = 'sending'")

    third = _start(env, log_path)
    try:
        _wait(lambda: scalar("SELECT count(*) FROM notification_queue WHERE status IN ('completed', 'unknown')")
              == total, 120, "every row to end")
    finally:
        _stop(third, log_path)

    statuses = dict(scalar_rows("SELECT status, count(*) FROM notification_queue GROUP BY status"))
    unknown = statuses.get("unknown", 0)
    assert statuses.get("completed", 0) + unknown == total and set(statuses) <= {"completed", "unknown"}
    # 0 duplicated: every message text reached the network at most once, every completed row exactly once.
    assert scalar("SELECT count(*) - count(DISTINCT text) FROM simulator_sent WHERE kind = 'message'") == 0
    assert scalar("""SELECT count(*) FROM notification_queue q JOIN simulator_sent s
                     ON s.whatsapp_message_id = q.whatsapp_message_id WHERE q.status = 'completed'""") \
        == statuses["completed"]
    # Only sends the kill interrupted are left for a person to check (never resent by themselves).
    assert unknown <= inside_send
    assert scalar("SELECT count(*) FROM notification_queue WHERE wait_reason IS NOT NULL") == 0
