"""The worker when its database connection fails mid-drain: claims go back as soon as the database answers
(not when their leases run out), outcomes of sends that happened are kept and written, nothing is sent twice."""

from __future__ import annotations

import asyncio
import threading
import time

import psycopg
import pytest
from sqlalchemy import create_engine, event, text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.backoff import RetryPolicy
from fleet_dashboard.core.db import database_url, get_engine
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.worker import Worker, WorkerConfig
from fleet_dashboard.whatsapp.engine.engine import Engine
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
from tests.notifications.conftest import pair, run, scalar, wait_until
from tests.support.process_state import reset_process_state

WORKER_APP = "fleet-worker-under-test"
# A long lease: what comes back within seconds came back because it was handed back, not because it expired.
LONG_LEASE = WorkerConfig(batch_size=50, poll_seconds=0.1, lease_seconds=120, reclaim_every_seconds=0.5,
                          send_timeout_seconds=5, retry=RetryPolicy(base_seconds=0.2, max_seconds=1))


class Outage:
    """The worker's own connections to a real PostgreSQL: cut, and refused while `away` (as during a restart)."""

    def __init__(self) -> None:
        self.away = threading.Event()
        self.engine = create_engine(database_url(), pool_size=2, max_overflow=2,
                                    connect_args={"application_name": WORKER_APP})

        @event.listens_for(self.engine, "do_connect")
        def refuse(*_args, **_kwargs):
            if self.away.is_set():
                raise psycopg.OperationalError("connection refused (the database is away)")

    def begin(self) -> None:
        self.away.set()
        with get_engine().begin() as conn:  # what a server restart does to the connections it had
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :a"),
                         {"a": WORKER_APP})

    def end(self) -> None:
        self.away.clear()


@pytest.fixture
def paced(sim, monkeypatch):
    """Two sends a second per organisation, so the worker holds a backlog of claimed rows."""
    monkeypatch.setenv("SEND_RATE_PER_MINUTE", "120")
    reset_process_state()
    yield
    reset_process_state()


def _held_since(before) -> int:
    """Rows still held by a claim made before `before` (a claim stamps last_attempt_at)."""
    return scalar("SELECT count(*) FROM notification_queue WHERE status = 'processing' AND last_attempt_at < :t",
                  t=before)


def test_claims_come_back_when_the_database_answers_and_each_is_sent_once(paced, db, org_tpl):
    org, _ = org_tpl
    pair(db, org.id)
    items = [{"recipient": "+201001234567", "template_name": "greet", "variables": {"name": f"n{i}"}}
             for i in range(16)]
    queue.enqueue_many(session=db, org_id=org.id, items=items, actor=SYSTEM)
    db.commit()
    outage = Outage()

    async def body():
        engine = Engine(SimulatorFactory(), reconcile_seconds=0.3)
        await engine.start()
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(engine, config=LONG_LEASE, db_engine=outage.engine).run(stop))
        try:
            await wait_until(lambda: scalar("SELECT count(*) FROM simulator_sent WHERE kind = 'message'") >= 3,
                             what="the first sends")
            began = await asyncio.to_thread(scalar, "SELECT now()")
            assert await asyncio.to_thread(_held_since, began) > 3  # a backlog claimed, under a 120 s lease
            outage.begin()
            await asyncio.sleep(3)
            outage.end()
            back = time.monotonic()
            await wait_until(lambda: _held_since(began) == 0, timeout=5, what="the claims handed back")
            handed_back_in = time.monotonic() - back
            await wait_until(lambda: scalar("SELECT count(*) FROM notification_queue WHERE status = 'completed'")
                             == 16, timeout=30, what="every notification sent")
            return handed_back_in
        finally:
            stop.set()
            await worker
            await engine.stop()
            outage.engine.dispose()

    handed_back_in = run(body)
    print(f"claims handed back {handed_back_in:.1f} s after the database answered again")
    assert handed_back_in < 5
    # The network's log holds the typing presence and the look-ups too: only its messages count here.
    sent = scalar("SELECT count(*) FROM simulator_sent WHERE kind = 'message'")
    distinct = scalar("SELECT count(DISTINCT text) FROM simulator_sent WHERE kind = 'message'")
    assert (sent, distinct) == (16, 16)
    assert scalar("SELECT count(*) FROM whatsapp_messages WHERE status NOT IN ('sent', 'delivered', 'read')") == 0
