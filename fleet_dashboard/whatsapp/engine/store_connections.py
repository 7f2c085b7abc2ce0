"""The neonize store's database connections: named per connect attempt so finished ones can be ended.

neonize opens a new PostgreSQL pool inside every connect() and never closes it. Giving each attempt its
own application_name lets us terminate exactly that attempt's backends once it is over, so open
connections stay at about one pool per live client however often sessions reconnect.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

# Backends of this process's neonize pools; the pid keeps other engine processes' clients out of reach.
APP_PREFIX = f"fwa-{os.getpid()}-"


def _is_local(host: str) -> bool:
    """A unix socket directory or a loopback address: traffic that never leaves the machine."""
    if not host or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def store_dsn(database_url: str, application_name: str, *, idle_seconds: int | None = None) -> str:
    """The app's database as a lib/pq URL that names the connections of one connect attempt.

    The store holds WhatsApp identity keys. lib/pq has no "prefer": without an sslmode in the URL,
    a remote server must speak TLS ("require"); only a local server may go without ("disable").
    `idle_seconds` makes the server close the pool's idle connections (neonize's pools never shrink;
    lib/pq reconnects transparently on the next query)."""
    parts = urlsplit(database_url.replace("postgresql+psycopg://", "postgres://", 1)
                     .replace("postgresql://", "postgres://", 1))
    query = dict(parse_qsl(parts.query))
    if "sslmode" not in query:
        host = query.get("host") or parts.hostname or ""
        query["sslmode"] = "disable" if _is_local(host) else "require"
    elif query["sslmode"] in ("prefer", "allow"):
        query["sslmode"] = "disable" if _is_local(query.get("host") or parts.hostname or "") else "require"
    query["application_name"] = application_name
    if idle_seconds:
        query["idle_session_timeout"] = str(int(idle_seconds * 1000))
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


def device_exists(url: str, jid: str) -> bool:
    """Whether whatsmeow still stores this device; resuming a missing one crashes the library."""
    with psycopg.connect(url, autocommit=True, application_name="fleet-neonize-store") as conn:
        if conn.execute("SELECT to_regclass('whatsmeow_device') IS NOT NULL").fetchone()[0] is not True:
            return False
        return conn.execute("SELECT EXISTS (SELECT 1 FROM whatsmeow_device WHERE jid = %s)", (jid,)).fetchone()[0]


def forget_device(url: str, jid: str) -> bool:
    """Delete a device and (by whatsmeow's cascades) its keys; True if there was one."""
    with psycopg.connect(url, autocommit=True, application_name="fleet-neonize-store") as conn:
        if conn.execute("SELECT to_regclass('whatsmeow_device') IS NOT NULL").fetchone()[0] is not True:
            return False
        return conn.execute("DELETE FROM whatsmeow_device WHERE jid = %s", (jid,)).rowcount > 0
