"""Queue fixtures: an organisation with a one-variable template, simulator settings, paired sessions."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.messaging import templates
from tests.support.process_state import reset_process_state

SIM_ENV = {
    # Typing presence stays on (the product's default) but short, so the suite stays quick.
    "TYPING_MIN_SECONDS": "0.01",
    "TYPING_MAX_SECONDS": "0.05",
    "TYPING_JITTER_SECONDS": "0",
    "WHATSAPP_BACKEND": "simulator",
    "BUS_BACKEND": "postgres",
    "SIMULATOR_RECEIPT_DELAY_SECONDS": "0.1",
    "SEND_RATE_PER_MINUTE": "0",
}


@pytest.fixture
def org_tpl(db, make_org):
    """An organisation and its template 'greet' ("Hi {{name}}")."""
    org = make_org()
    tpl = templates.create(session=db, org_id=org.id, name="greet", message_template="Hi {{name}}", actor=SYSTEM)
    db.commit()
    return org, tpl


@pytest.fixture
def sim(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The simulator backend with fast receipts and no throttle; returns the env for child processes."""
    for key, value in SIM_ENV.items():
        monkeypatch.setenv(key, value)
    reset_process_state()
    yield {**SIM_ENV, "DATABASE_URL": database_url}
    monkeypatch.undo()
    reset_process_state()


def pair(db: Session, org_id: uuid.UUID, phone: str = "+201000000001") -> None:
    """An organisation whose phone was paired earlier: an engine resumes it without a QR."""
    from fleet_dashboard.whatsapp import sessions
    from fleet_dashboard.whatsapp.engine.simulator import jid_for

    row = sessions.get_or_create(session=db, org_id=org_id)
    row.enabled, row.whatsapp_id, row.phone_number = True, jid_for(phone), phone
    db.add(row)
    db.commit()


def run(coro_fn: Callable[[], Any], timeout: float = 60) -> Any:
    """Run an async test body on a fresh loop with the engine's big executor."""
    from fleet_dashboard.whatsapp.engine.runtime import use_big_executor

    async def main():
        use_big_executor(asyncio.get_running_loop())
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(main())


def scalar(sql: str, **params: Any) -> Any:
    """One value from the test database."""
    from fleet_dashboard.core.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(sql), params).scalar()


async def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll (off the loop) until the predicate holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
