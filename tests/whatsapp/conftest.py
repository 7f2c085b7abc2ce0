"""Engine test helpers: fast simulator timings, an engine on a real database, polling of rows."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.whatsapp.models import WhatsAppSession
from tests.support import leftovers
from tests.support.process_state import reset_process_state

SIMULATOR_TOKEN = "simulator-token-for-the-engine-suite"
FAST = {
    # Typing presence stays on (the product's default) but short, so the suite stays quick.
    "TYPING_MIN_SECONDS": "0.01",
    "TYPING_MAX_SECONDS": "0.05",
    "TYPING_JITTER_SECONDS": "0",
    "WHATSAPP_BACKEND": "simulator",
    "SIMULATOR_TOKEN": SIMULATOR_TOKEN,
    "BUS_BACKEND": "postgres",
    "SIMULATOR_QR_ROTATE_SECONDS": "0.4",
    "SIMULATOR_RECEIPT_DELAY_SECONDS": "0.1",
    "RECONNECT_BASE_SECONDS": "0.2",
    "RECONNECT_MAX_SECONDS": "0.8",
    "RECONNECT_MAX_FAILURES": "4",
    "SEND_RATE_PER_MINUTE": "0",
}


@pytest.fixture
def sim_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Simulator backend with timings in tenths of a second."""
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    reset_process_state()
    yield {**FAST, "DATABASE_URL": database_url}
    monkeypatch.undo()
    reset_process_state()


@pytest.fixture
def neonize_connecting(sim_env, db: Session, make_org) -> tuple[Any, Any]:
    """An organisation whose Connect was pressed, and a real-library factory for its engine that never dials
    (the tests feed its clients what the Go side would send)."""
    from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory

    org = make_org()
    connect(db, org.id)
    return org, NeonizeFactory(dial=False)


def run(coro_fn: Callable[[], Any], timeout: float = 60) -> Any:
    """Run an async test body on a fresh loop with the engine's big executor."""
    from fleet_dashboard.whatsapp.engine.runtime import use_big_executor

    async def main():
        use_big_executor(asyncio.get_running_loop())
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(main())


@contextlib.asynccontextmanager
async def running_engine(factory: Any) -> AsyncIterator[Any]:
    """An engine on `factory` (simulator or real library) for the test's organisations, stopped afterwards."""
    from fleet_dashboard.whatsapp.engine.engine import Engine

    engine = Engine(factory, reconcile_seconds=0.3)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


def load_row(org_id: uuid.UUID) -> WhatsAppSession | None:
    from fleet_dashboard.core.db import get_engine

    with Session(get_engine()) as s:
        return s.exec(select(WhatsAppSession).where(WhatsAppSession.org_id == org_id)).first()


def audit_types(org_id: uuid.UUID) -> list[str]:
    """The organisation's audit event types, oldest first."""
    from fleet_dashboard.core.db import get_engine

    with Session(get_engine()) as s:
        rows = s.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org_id)
                      .order_by(WhatsAppAuditLog.created_at))
        return [r.event_type for r in rows]


def audit_rows(org_id: uuid.UUID, event_type: str) -> list[WhatsAppAuditLog]:
    from fleet_dashboard.core.db import get_engine

    with Session(get_engine()) as s:
        return list(s.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org_id,
                                                          WhatsAppAuditLog.event_type == event_type)
                           .order_by(WhatsAppAuditLog.created_at)))


async def wait_row(org_id: uuid.UUID, predicate: Callable[[WhatsAppSession], bool],
                   timeout: float = 10.0) -> WhatsAppSession:
    """Poll the session row until the predicate holds; fail with the last row seen."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = await asyncio.to_thread(load_row, org_id)
        if row is not None and predicate(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"session row never matched; last seen: {row and row.model_dump()}")


async def scan(org_id: uuid.UUID, phone: str, name: str = "") -> WhatsAppSession:
    """A person scans the simulator's QR with their phone: the row once the session is connected."""
    from fleet_dashboard.api.routes.simulator import command

    await wait_row(org_id, lambda r: r.status == "qr_pending")
    await command(org_id, "scan", {"phone": phone, "name": name})
    return await wait_row(org_id, lambda r: r.status == "connected")


def wait_row_sync(org_id: uuid.UUID, predicate: Callable[[WhatsAppSession], bool],
                  timeout: float = 10.0) -> WhatsAppSession:
    """The same, for tests that drive other processes."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = load_row(org_id)
        if row is not None and predicate(row):
            return row
        time.sleep(0.1)
    raise AssertionError(f"session row never matched; last seen: {row and row.model_dump()}")


def ask(db: Session, org_id: uuid.UUID, request: Callable[..., Any], actor_id: uuid.UUID | None = None) -> None:
    """What a button of the connect page does: one of services/sessions' request_* calls, committed."""
    from fleet_dashboard.accounts.permissions import SYSTEM, Actor

    actor = Actor("owner", org_id, actor_id) if actor_id else SYSTEM
    request(session=db, org_id=org_id, actor=actor)
    db.commit()


def connect(db: Session, org_id: uuid.UUID, actor_id: uuid.UUID | None = None) -> None:
    """What the Connect button does."""
    from fleet_dashboard.whatsapp import sessions

    ask(db, org_id, sessions.request_connect, actor_id)


def paired(db: Session, org_id: uuid.UUID, device: str, phone: str | None = None) -> None:
    """A session whose device (and number, when given) was paired before, so a connect resumes it without a QR."""
    from fleet_dashboard.whatsapp import sessions

    row = sessions.get_or_create(session=db, org_id=org_id)
    row.whatsapp_id = device
    if phone is not None:
        row.phone_number = phone
    db.add(row)
    db.commit()


def enabled_fleet(db: Session, orgs: list[Any], phone: Callable[[int], str]) -> list[uuid.UUID]:
    """Organisations paired before (device and number `phone(k)`) and enabled: what engines take at start."""
    from fleet_dashboard.whatsapp import sessions
    from fleet_dashboard.whatsapp.engine.simulator import jid_for

    for k, org in enumerate(orgs):
        row = sessions.get_or_create(session=db, org_id=org.id)
        row.whatsapp_id, row.phone_number, row.enabled = jid_for(phone(k)), phone(k), True
        db.add(row)
    db.commit()
    return [org.id for org in orgs]


def spawn(args: list[str], env: dict[str, str], log_path) -> Any:
    """Start a child process of this project with the test's settings, output to a log file."""
    import os
    import subprocess
    import sys

    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process by the caller
    proc = leftovers.popen([sys.executable, *args], env=full_env, stdout=log, stderr=subprocess.STDOUT,
                           cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    proc.log_path = log_path
    return proc


def stop_process(proc, sig=None, timeout: float = 20.0) -> int:
    """Signal a child (SIGTERM by default) and wait for it; kill it if it does not exit."""
    import signal
    import subprocess

    if proc.poll() is None:
        proc.send_signal(sig or signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def known_on_whatsapp(org_id: uuid.UUID, phone: str) -> None:
    """The look-up cache already says this number is on WhatsApp (a send to it asks nothing first)."""
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.deliverability import contacts

    with session_scope() as session:
        contacts.record(session=session, answers=[(org_id, contacts.Answer(phone, True))])
