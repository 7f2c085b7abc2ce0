"""Migrated databases for the tests, copied from one template instead of each running every migration.

Running the migrations costs seconds of CPU per database, and a run makes several (one per xdist worker, one per
live app). The first to need one migrates a template on the server, named by a hash of alembic/, and every
migrated database of the run is `CREATE DATABASE ... TEMPLATE` of it: a file copy inside PostgreSQL. A template
is published under its final name only once migrated (a crashed run leaves no half-built one). It belongs to its run
(RUN_ENV names the run, set by the first pytest process and inherited by xdist's workers and the apps they start),
and the run drops it at its end: a test run never uses a database it did not create. The migrations themselves are
still tested from an empty database (tests/core/test_migrations.py)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

# Every table on the metadata, as in the app's processes: relations between models of different packages resolve
# only once all are imported (running the migrations in this process used to do it, through alembic's env.py).
import fleet_dashboard.models  # noqa: F401
from fleet_dashboard.core import dbadmin
from fleet_dashboard.core.db import libpq_url
from tests.support import leftovers

ROOT = Path(__file__).resolve().parents[2]
RUN_ENV = "FLEET_TEST_RUN"
# Any fixed key: the processes of one run (and of other runs on the same server) take turns building a template.
_LOCK_KEY = 0x466C_5450  # "FlTP"
# Whether this process named the run (and so owns its template): not its xdist workers, nor a pytest it starts.
_named_here = False


def schema_digest() -> str:
    """A hash of what the migrations are made of: every file under alembic/, and alembic.ini."""
    h = hashlib.sha256()
    paths = [ROOT / "alembic.ini", *sorted((ROOT / "alembic").rglob("*"))]
    for path in paths:
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def start_run(server_url: str) -> None:
    """Name this run (the first pytest process calls it; its workers inherit the name). The first process owns the
    run's template on the server: dropped at its end (end_run), or however it ends (tests/support/leftovers.py)."""
    global _named_here
    if RUN_ENV not in os.environ:
        os.environ[RUN_ENV] = uuid.uuid4().hex[:10]
        _named_here = True
        leftovers.track_database(server_url, _template_name())


def _template_name() -> str:
    return f"fleet_tmpl_{os.environ[RUN_ENV]}_{schema_digest()}"


def template(server_url: str) -> str:
    """The name of this run's migrated template database on this server, built now if not built yet."""
    name = _template_name()
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        if _exists(conn, name):
            return name
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            if not _exists(conn, name):
                building = f"fleet_tmpb_{uuid.uuid4().hex[:10]}"
                url = create(server_url, building)
                try:
                    dbadmin.migrate(url)
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building),
                                                                                 sql.Identifier(name)))
                except BaseException:
                    drop(server_url, building)
                    raise
                leftovers.forget_database(building)  # renamed: the template is the run's (end_run)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return name


def create_migrated(server_url: str, dbname: str) -> str:
    """A new database at the migrations' head, copied from the run's template; its URL. Outside a test run (a
    bench starting an app), nothing would drop a template, so the database is migrated in place."""
    if RUN_ENV not in os.environ:
        url = dbadmin.create_database(server_url, dbname)
        dbadmin.migrate(url)
        return url
    source = template(server_url)
    leftovers.track_database(server_url, dbname)
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(dbname),
                                                                     sql.Identifier(source)))
    return dbadmin.with_database(server_url, dbname)


def create(server_url: str, dbname: str) -> str:
    """An empty database, dropped however this test process ends (tests/support/leftovers.py); its URL."""
    leftovers.track_database(server_url, dbname)
    return dbadmin.create_database(server_url, dbname)


def drop(server_url: str, dbname: str) -> None:
    """Drop a database this process created, and stop tracking it."""
    dbadmin.drop_database(server_url, dbname)
    leftovers.forget_database(dbname)


def end_run(server_url: str) -> None:
    """Drop this run's template on the server, if one was built there (by the process that named the run)."""
    if not _named_here:
        return
    name = _template_name()
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        if _exists(conn, name):
            dbadmin.drop_database(server_url, name)
    leftovers.forget_database(name)
