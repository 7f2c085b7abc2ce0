"""Guard fixtures: an engine on the simulator with its worker, rules to set, rows and the network's log to read."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.notifications.wave import RetryPolicy
from fleet_dashboard.notifications.worker import Worker, WorkerConfig
from tests.notifications.conftest import org_tpl, pair, run, scalar, sim, wait_until  # noqa: F401

FAST = WorkerConfig(batch_size=50, poll_seconds=0.1, lease_seconds=10, reclaim_every_seconds=0.5,
                    send_timeout_seconds=5, retry=RetryPolicy(base_seconds=0.2, max_seconds=1))
PHONE = "+201001234567"


@contextlib.asynccontextmanager
async def running(*connected: uuid.UUID, config: WorkerConfig = FAST):
    """An engine owning the paired organisations on the simulator, and a worker sending for it."""
    from fleet_dashboard.whatsapp.engine.engine import Engine
    from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory

    engine = Engine(SimulatorFactory(), reconcile_seconds=0.3)
    await engine.start()
    stop = asyncio.Event()
    task = None
    try:
        await wait_until(lambda: all(engine.is_connected(o) for o in connected), what="sessions to resume")
        task = asyncio.create_task(Worker(engine, config=config).run(stop))
        yield engine
    finally:
        stop.set()
        if task is not None:
            await task
        await engine.stop()


def set_rules(org_id: uuid.UUID, **body: Any):
    """Change the organisation's sending rules as an owner would (the service audits it)."""
    from fleet_dashboard.deliverability import rules

    with session_scope() as session:
        return rules.set_rules(session=session, org_id=org_id, actor=SYSTEM, body=body)


def enqueue(org_id: uuid.UUID, names: list[str], phone: str = PHONE, **extra: Any) -> list[NotificationQueue]:
    with session_scope() as session:
        rows = queue.enqueue_many(session=session, org_id=org_id, actor=SYSTEM, items=[
            {"recipient": phone, "template_name": "greet", "variables": {"name": n}, **extra} for n in names])
        return [row for row, _ in rows]


def rows_of(org_id: uuid.UUID) -> dict[uuid.UUID, NotificationQueue]:
    with Session(get_engine()) as s:
        return {r.id: r for r in s.exec(select(NotificationQueue).where(NotificationQueue.org_id == org_id))}


def network(org_id: uuid.UUID, kind: str | None = None) -> list[tuple[str, str, str]]:
    """What the simulated network saw, oldest first: (kind, phone, text)."""
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT kind, recipient_phone, text FROM simulator_sent WHERE org_id = :o "
                                 "AND (CAST(:k AS text) IS NULL OR kind = :k) ORDER BY created_at, id"),
                            {"o": org_id, "k": kind})
        return [tuple(r) for r in rows]


def audit_types(org_id: uuid.UUID) -> list[str]:
    return [r[0] for r in scalar_rows("SELECT event_type FROM whatsapp_audit_logs WHERE org_id = :o "
                                      "ORDER BY created_at", o=org_id)]


def scalar_rows(sql: str, **params: Any) -> list[tuple]:
    with get_engine().connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]
