"""Shared fixtures: a real PostgreSQL database per test run, created, migrated and dropped here."""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard.core import dbadmin
from fleet_dashboard.core.db import EmbeddedPostgres
from tests.support import databases, frontend, leftovers, schedule
from tests.support.mail import smtp_env, smtp_server
from tests.support.process_state import reset_database_caches as reset_caches  # noqa: F401  (tests import it here)
from tests.support.server import AppServer, free_port, own_database, running_app
from tests.support.world import SECRET

# Test receivers listen on 127.0.0.1; the guard against internal webhook URLs has its own tests.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def pytest_configure(config: pytest.Config) -> None:
    schedule.name_live_ids_file(config)
    leftovers.install()
    databases.start_run(os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread for the
    rest of the session, and the engine and queue tests start their own with asyncio.run(). The other users
    of the live app just before them, so it runs only as long as it is needed; `make test` shares these live
    tests out by its own rules (tests/support/schedule.py)."""
    items.sort(key=lambda item: 2 if schedule.is_browser_test(item.nodeid) else int("live_app" in item.fixturenames))
    schedule.write_live_ids(config, [item for item in items if "live_app" in item.fixturenames])


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: called only when it runs
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`-n 2` (make test): ordinary modules first, then the live app's socket modules, then its browser ones."""
    if config.getvalue("dist") != "each":
        return schedule.LiveApart(config, log)
    return None


# Fixtures that start the app with `serve`, which needs the frontend built (tests/support/frontend.py).
LIVE_FIXTURES = {"live_app", "real_app", "topology"}


# The suites whose tests start a live app: an xdist run that includes one builds the frontend from its start.
LIVE_SUITES = ("e2e", "security", "real", "topology", "reliability")


def pytest_sessionstart(session: pytest.Session) -> None:
    """In the controller of an xdist run (`make test`): when the run includes a suite that starts a live app, build
    the frontend now, while the workers start and collect; a worker's live app waits for this build (the build
    directory's lock) instead of starting it after its own collection. The controller collects nothing, so it
    judges by the run's paths."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if _includes_a_live_suite(config):
        frontend.start_prebuild()


def _includes_a_live_suite(config: pytest.Config) -> bool:
    root = Path(str(config.rootpath))
    ignored = {Path(p).resolve() for p in config.getoption("ignore") or ()}
    suites = [s for s in (root / "tests" / name for name in LIVE_SUITES) if s.resolve() not in ignored]
    args = config.args or [str(root / p) for p in config.getini("testpaths")] or [str(config.invocation_params.dir)]
    for arg in args:
        path = (config.invocation_params.dir / arg.split("::", 1)[0]).resolve()
        if any(path == suite or path in suite.parents or suite in path.parents for suite in suites):
            return True
    return False


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist: when any test will need a live app, build the frontend now, beside the tests that need none
    (an xdist worker leaves it to the controller, pytest_sessionstart)."""
    if hasattr(session.config, "workerinput"):
        return
    if any(LIVE_FIXTURES & set(getattr(item, "fixturenames", ())) for item in session.items):
        frontend.start_prebuild()


def pytest_sessionfinish(session: pytest.Session) -> None:
    frontend.cancel()
    if not hasattr(session.config, "workerinput"):  # the run's first process: its workers are done by now
        server = os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER
        if dbadmin.is_reachable(server):
            databases.end_run(server)


class _HashOncePerPassword:
    """The product's argon2 hasher, but each password is hashed once per process: tests create hundreds of people
    with the same few passwords, and one hash costs about 0.2 s of CPU on purpose. Each hash is still a real
    argon2id hash of its password with the product's parameters, and every check still runs argon2's verify."""

    def __init__(self, hasher):
        self._hasher = hasher
        self._hashes: dict[str | bytes, str] = {}
        self._lock = threading.Lock()

    def hash(self, password: str | bytes, **kwargs) -> str:
        if kwargs:
            return self._hasher.hash(password, **kwargs)
        with self._lock:
            if password not in self._hashes:
                self._hashes[password] = self._hasher.hash(password)
            return self._hashes[password]

    def __getattr__(self, name: str):
        return getattr(self._hasher, name)


@pytest.fixture(scope="session", autouse=True)
def _one_hash_per_password() -> Iterator[None]:
    from fleet_dashboard.accounts import passwords

    real = passwords._hasher
    passwords._hasher = _HashOncePerPassword(real)
    yield
    passwords._hasher = real


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


@pytest.fixture(scope="session")
def live_app(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app in simulator mode (`serve` on the run's frontend build, and a split worker) on a database of its
    own, signing sessions with a known key: one per test process, for every suite that drives it (e2e, security).
    Tests share it, so none may assume it is alone in its database or its rate limits.

    Its e-mail goes to a real SMTP server this fixture starts (`server.mail` keeps what arrived), and its alert
    sweeper looks every second, so a test sees an alert's e-mail within seconds."""
    with own_database(pg_server, "fleet_live") as url, smtp_server() as (mail, smtp_port):
        log_path = tmp_path_factory.mktemp("live") / "server.log"
        env = {"SECRET_KEY": SECRET, "ALERT_CHECK_SECONDS": "1",
               **smtp_env(smtp_port, sender="Fleet <alerts@fleet.local>")}
        with running_app(url, port=free_port(3100, 3300), log_path=log_path, env=env) as server:
            server.mail = mail
            yield server


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """A fresh, migrated database for this run (a copy of the migrated template), set as DATABASE_URL, dropped at
    the end."""
    name = f"fleet_test_{uuid.uuid4().hex[:12]}"
    url = databases.create_migrated(pg_server, name)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    reset_caches()
    try:
        yield url
    finally:
        reset_caches()
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        databases.drop(pg_server, name)


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
