"""Shared fixtures: a real PostgreSQL database per test run, created, migrated and dropped here."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.core import dbadmin
from fleet_dashboard.core.db import EmbeddedPostgres

# Test receivers listen on 127.0.0.1; the guard against internal webhook URLs has its own tests.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread for the
    rest of the session, and the engine and queue tests start their own with asyncio.run()."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/e2e/"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A server URL: TEST_DATABASE_URL when reachable, else an embedded server in a temp dir."""
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER
    if dbadmin.is_reachable(url):
        yield url
        return
    # Short path: the server's unix socket lives in its data dir.
    data_dir = tempfile.mkdtemp(prefix="fdpg", dir="/tmp")
    server = EmbeddedPostgres(data_dir)
    uri = server.start()
    try:
        yield uri
    finally:
        server.stop()


def reset_caches() -> None:
    """Forget the cached settings and engine so a changed DATABASE_URL takes effect."""
    from fleet_dashboard.core.db import get_engine
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """A fresh, migrated database for this run, set as DATABASE_URL, dropped at the end."""
    name = f"fleet_test_{uuid.uuid4().hex[:12]}"
    url = dbadmin.create_database(pg_server, name)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    reset_caches()
    try:
        dbadmin.migrate(url)
        yield url
    finally:
        reset_caches()
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        dbadmin.drop_database(pg_server, name)


def wipe(session: Session) -> None:
    """Remove every tenant row; system templates and the schema stay."""
    session.execute(text("DELETE FROM organizations"))
    session.execute(text("DELETE FROM users"))
    session.execute(text("DELETE FROM whatsapp_audit_logs"))
    session.execute(text("DELETE FROM whatsapp_engines"))
    session.execute(text("UPDATE whatsapp_templates SET usage_count = 0, last_used_at = NULL"))
    session.commit()


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """A session on a wiped database."""
    from fleet_dashboard.core.db import get_engine

    with Session(get_engine(), expire_on_commit=False) as session:
        wipe(session)
        yield session
        session.rollback()
    # Whatever the test did to messages and queue rows, the status counters followed (alembic 0008).
    from tests.support.counts import counters_mismatch

    # One snapshot for rows and counters: a receipt committing between two reads is not a drift.
    with get_engine().connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        mismatch = counters_mismatch(conn)
    assert mismatch is None, f"status counters drifted from the rows:\n{mismatch}"


@pytest.fixture
def make_org(db: Session):
    """Create an organisation and commit it."""
    from fleet_dashboard.accounts import orgs

    def _make(name: str = "Acme Fleet", slug: str | None = None):
        org = orgs.create_org(session=db, name=name, slug=slug or f"org-{uuid.uuid4().hex[:8]}")
        db.commit()
        return org

    return _make


@pytest.fixture
def make_user(db: Session):
    """Create a user with a known password and commit it."""
    from fleet_dashboard.accounts import users

    def _make(role: str = "owner", org=None, email: str | None = None, password: str = "correct-horse-1"):
        user = users.create_user(
            session=db, email=email or f"u{uuid.uuid4().hex[:8]}@example.com", password=password, role=role,
            org_id=org.id if org is not None else None,
        )
        db.commit()
        return user

    return _make
