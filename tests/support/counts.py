"""The status counters must equal a fresh count of the rows, per organisation, day and status."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from fleet_dashboard.stats.models import FLEET

_TRUTH = """
SELECT 'message' AS kind, org_id, (created_at AT TIME ZONE 'UTC')::date AS day, status, count(*) AS n
FROM whatsapp_messages GROUP BY 2, 3, 4
UNION ALL
SELECT 'queue', org_id, (created_at AT TIME ZONE 'UTC')::date, status, count(*)
FROM notification_queue GROUP BY 2, 3, 4
"""
_COUNTED = """
SELECT kind, org_id, day, status, sum(n) AS n FROM (
    SELECT kind, org_id, day, status, n FROM status_counts WHERE org_id <> :fleet
    UNION ALL SELECT kind, org_id, day, status, n FROM status_count_deltas
) c GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
"""
_FLEET = """
SELECT kind, day, status, sum(n) AS n FROM (
    SELECT kind, day, status, n FROM status_counts WHERE org_id = :fleet
    UNION ALL SELECT kind, day, status, n FROM status_count_deltas
) c GROUP BY 1, 2, 3 HAVING sum(n) <> 0
"""


def _rows(conn: Connection, sql: str) -> dict[tuple, int]:
    return {tuple(r[:-1]): int(r[-1]) for r in conn.execute(text(sql), {"fleet": FLEET})}


def counters_mismatch(conn: Connection) -> str | None:
    """What differs between the counters and the rows, or None when they agree."""
    truth = _rows(conn, _TRUTH)
    counted = _rows(conn, _COUNTED)
    fleet_truth: dict[tuple, int] = {}
    for (kind, _org, day, status), n in truth.items():
        fleet_truth[(kind, day, status)] = fleet_truth.get((kind, day, status), 0) + n
    fleet = _rows(conn, _FLEET)
    problems = []
    if counted != truth:
        keys = set(counted) | set(truth)
        problems += [f"{k}: counted {counted.get(k, 0)}, rows {truth.get(k, 0)}" for k in sorted(keys, key=str)
                     if counted.get(k, 0) != truth.get(k, 0)]
    if fleet != fleet_truth:
        keys = set(fleet) | set(fleet_truth)
        problems += [f"fleet {k}: counted {fleet.get(k, 0)}, rows {fleet_truth.get(k, 0)}"
                     for k in sorted(keys, key=str) if fleet.get(k, 0) != fleet_truth.get(k, 0)]
    return "\n".join(problems[:20]) or None
