"""Status counts per organisation and day, read from counters instead of rescanning messages.

Database triggers (alembic 0008) append a delta in the same transaction as every insert, status change
or delete of a message or queue row. `rollup()` folds the deltas into `status_counts` (per organisation
and, under models.FLEET, fleet-wide); readers add the deltas not folded yet, so every count is exact.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from fleet_dashboard.notifications.models import QueueStatus
from fleet_dashboard.stats.models import FLEET, CountKind

# pg_try_advisory_xact_lock key: one rollup at a time ("fleet-counters").
ROLLUP_LOCK_KEY = 0x666C_6374_6E74

_ROLLUP_SQL = text("""
WITH moved AS (
    DELETE FROM status_count_deltas RETURNING kind, org_id, day, status, n
), summed AS (
    SELECT kind, org_id, day, status, sum(n) AS n FROM moved GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT kind, CAST(:fleet AS uuid), day, status, sum(n) FROM moved GROUP BY 1, 3, 4
), upsert AS (
    INSERT INTO status_counts AS c (kind, org_id, day, status, n)
    SELECT kind, org_id, day, status, n FROM summed WHERE n <> 0
    ON CONFLICT (kind, org_id, day, status) DO UPDATE SET n = c.n + EXCLUDED.n
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM upsert) AS upserted
""")


def rollup(*, conn: Connection) -> int:
    """Fold pending deltas into the counters; returns how many deltas moved (0 if another rollup runs)."""
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK_KEY}).scalar():
        return 0
    return int(conn.execute(_ROLLUP_SQL, {"fleet": FLEET}).one().moved)


_COUNTED_TABLES = {CountKind.message: "whatsapp_messages", CountKind.queue: "notification_queue"}


def rebuild(*, conn: Connection) -> None:
    """Count every row afresh (after a bulk load with triggers off); writers wait until the caller commits."""
    tables = ", ".join(_COUNTED_TABLES.values())
    conn.execute(text(f"LOCK TABLE {tables} IN SHARE MODE"))
    conn.execute(text("DELETE FROM status_count_deltas"))
    conn.execute(text("DELETE FROM status_counts"))
    for kind, table in _COUNTED_TABLES.items():
        conn.execute(text(f"""
            INSERT INTO status_counts (kind, org_id, day, status, n)
            SELECT :kind, org_id, (created_at AT TIME ZONE 'UTC')::date, status, count(*)
            FROM {table} GROUP BY 2, 3, 4"""), {"kind": kind.value})
    conn.execute(text("""
        INSERT INTO status_counts (kind, org_id, day, status, n)
        SELECT kind, :fleet, day, status, sum(n) FROM status_counts GROUP BY kind, day, status"""), {"fleet": FLEET})


def drop_zero_rows(*, conn: Connection) -> int:
    """Remove counters that fell to zero (their rows were purged or their organisation deleted)."""
    return conn.execute(text("DELETE FROM status_counts WHERE n = 0")).rowcount


# Both sources in one statement, so a concurrent rollup is seen entirely or not at all. Fleet-wide
# figures read the FLEET rows of status_counts and every organisation's deltas.
_COUNTS = """
SELECT {cols}, sum(n)::bigint AS n FROM (
    SELECT org_id, day, status, n FROM status_counts WHERE kind = :kind AND org_id = {counted_org} {days}
    UNION ALL
    SELECT org_id, day, status, n FROM status_count_deltas WHERE kind = :kind {delta_org} {days}
) c GROUP BY {cols}
"""


def _query(*, cols: str, fleet: bool, days: str = "") -> text:
    if fleet:
        return text(_COUNTS.format(cols=cols, counted_org="CAST(:fleet AS uuid)", delta_org="", days=days))
    return text(_COUNTS.format(cols=cols, counted_org="ANY(:orgs)", delta_org="AND org_id = ANY(:orgs)", days=days))


def org_totals(*, session: Session, kind: CountKind, org_id: uuid.UUID) -> dict[str, int]:
    """Rows of one organisation by status, every day together (e.g. the queue page's counts)."""
    rows = session.execute(_query(cols="status", fleet=False), {"kind": kind.value, "orgs": [org_id]})
    return {r.status: int(r.n) for r in rows if r.n}


def fleet_totals(*, session: Session, kind: CountKind, since: date | None = None) -> dict[str, int]:
    """Rows of every organisation by status (created on or after `since`, when given)."""
    rows = session.execute(_query(cols="status", fleet=True, days="AND day >= :since" if since else ""),
                           {"kind": kind.value, "fleet": FLEET, "since": since})
    return {r.status: int(r.n) for r in rows if r.n}


def fleet_daily(*, session: Session, kind: CountKind, since: date) -> dict[tuple[date, str], int]:
    """Rows of every organisation per (UTC day of creation, status) since a day."""
    rows = session.execute(_query(cols="day, status", fleet=True, days="AND day >= :since"),
                           {"kind": kind.value, "fleet": FLEET, "since": since})
    return {(r.day, r.status): int(r.n) for r in rows if r.n}


def queue_counts(*, session: Session, org_id: uuid.UUID) -> dict[str, int]:
    """How many notifications the organisation has in each status (every status present, 0 if none).

    Read from the status counters, so a million finished rows cost nothing here."""
    counts = {s.value: 0 for s in QueueStatus}
    counts.update(org_totals(session=session, kind=CountKind.queue, org_id=org_id))
    return counts
