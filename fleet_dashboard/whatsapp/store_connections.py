"""The neonize store's database connections: named per connect attempt so finished ones can be ended.

neonize opens a new PostgreSQL pool inside every connect() and never closes it. Giving each attempt its
own application_name lets us terminate exactly that attempt's backends once it is over, so open
connections stay at about one pool per live client however often sessions reconnect.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

# Backends of this process's neonize pools; the pid keeps other engine processes' clients out of reach.
APP_PREFIX = f"fwa-{os.getpid()}-"


def store_dsn(database_url: str, application_name: str) -> str:
    """The app's database as a lib/pq URL that names the connections of one connect attempt."""
    parts = urlsplit(database_url.replace("postgresql+psycopg://", "postgres://", 1)
                     .replace("postgresql://", "postgres://", 1))
    query = dict(parse_qsl(parts.query))
    query.setdefault("sslmode", "disable")
    query["application_name"] = application_name
    return urlunsplit(parts._replace(query=urlencode(query)))


def terminate(url: str, application_name: str) -> int:
    """End the backends of one finished connect attempt; returns how many there were."""
    return _terminate(url, "application_name = %s", application_name)


def terminate_strays(url: str, live_names: list[str]) -> int:
    """End this process's neonize backends that belong to no live client."""
    return _terminate(url, "application_name LIKE %s AND NOT application_name = ANY(%s)",
                      APP_PREFIX + "%", live_names)


def _terminate(url: str, where: str, *params) -> int:
    with psycopg.connect(url, autocommit=True, application_name="fleet-neonize-reaper") as conn:
        rows = conn.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            f"WHERE datname = current_database() AND {where}", params).fetchall()
    return len(rows)
