"""Retention: delete rows older than each kind's setting, in small batches, one process at a time.

Each batch is its own short transaction that picks its rows with FOR UPDATE SKIP LOCKED, so it never
waits on a row a sender holds, and a sender never waits long on it. Rows still in flight (pending or
sending messages, pending or processing queue rows, webhook deliveries still owed) are never purged.
Every run leaves an audit row per organisation it touched and one fleet-wide row (org_id NULL) that
the metrics read.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.accounts.permissions import SYSTEM, Actor
from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging.models import LIVE_MESSAGE_STATUSES
from fleet_dashboard.notifications.models import LIVE_QUEUE_STATUSES
from fleet_dashboard.stats import counters

log = logging.getLogger(__name__)

# pg_try_advisory_lock key: one purge at a time across every process ("fleet-purge").
PURGE_LOCK_KEY = 0x666C_7075_7267
AUDIT_EVENT = "retention_purged"
# A batch that would wait this long for a lock gives up and is retried on the next run.
LOCK_TIMEOUT_MS = 200


def _not_in(values: tuple[str, ...]) -> str:
    # Literals, not parameters: the partial indexes' predicates can then be proven by the planner.
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


@dataclass(frozen=True)
class Kind:
    """One kind of row: its table, which rows are old enough, and how a batch finds them.

    `per_org` kinds are found through their (org_id, created_at, ...) index, a chunk of organisations at
    a time: a global created_at index would tempt the planner away from the keyset indexes of the
    history and audit pages."""

    table: str
    where: str
    order: str | None = None
    per_org: bool = False

    def batch_sql(self, *, orgs: bool) -> Any:
        where = (f"org_id = ANY(:orgs) AND created_at >= :lo AND created_at < :hi AND {self.where}" if orgs
                 else self.where)
        order = f"ORDER BY {self.order}" if self.order else ""
        return text(f"""
WITH doomed AS (
    SELECT id FROM {self.table} WHERE {where} {order} LIMIT :batch FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM {self.table} t USING doomed WHERE t.id = doomed.id RETURNING t.org_id
)
SELECT org_id, count(*) AS n FROM gone GROUP BY org_id
""")


# Purge order: queue rows before the messages they link to, the audit log last.
KINDS: dict[str, Kind] = {
    "queue": Kind("notification_queue", "COALESCE(completed_at, created_at) < :cutoff "
                  f"AND status NOT IN {_not_in(LIVE_QUEUE_STATUSES)}", order="COALESCE(completed_at, created_at)"),
    "messages": Kind("whatsapp_messages", f"created_at < :cutoff AND status NOT IN {_not_in(LIVE_MESSAGE_STATUSES)}",
                     per_org=True),
    # Files go with the last message or queue row that refers to them (a file still in use is never old).
    "media": Kind("whatsapp_media", "created_at < :cutoff "
                  "AND NOT EXISTS (SELECT 1 FROM whatsapp_messages m WHERE m.media_id = whatsapp_media.id) "
                  "AND NOT EXISTS (SELECT 1 FROM notification_queue q WHERE q.media_id = whatsapp_media.id)",
                  order="created_at"),
    # Customers' replies follow the messages' retention.
    "replies": Kind("whatsapp_inbound_messages", "created_at < :cutoff", per_org=True),
    "webhook_deliveries": Kind("webhook_deliveries", "created_at < :cutoff AND status <> 'pending'"),
    "simulator_log": Kind("simulator_sent", "created_at < :cutoff", order="created_at"),
    # Fleet-wide rows (org_id NULL, e.g. the purge's own) go in a last pass of their own.
    "audit": Kind("whatsapp_audit_logs", "created_at < :cutoff", per_org=True),
}
ORG_CHUNK = 500
PURGE_WINDOW = timedelta(days=1)
_NULL_ORG_AUDIT = text("""
WITH doomed AS (
    SELECT id FROM whatsapp_audit_logs WHERE org_id IS NULL AND created_at < :cutoff LIMIT :batch
    FOR UPDATE SKIP LOCKED
), gone AS (DELETE FROM whatsapp_audit_logs t USING doomed WHERE t.id = doomed.id RETURNING t.org_id)
SELECT org_id, count(*) AS n FROM gone GROUP BY org_id
""")


def retention_days() -> dict[str, int]:
    """Each kind's retention in days from the settings (0 = keep forever)."""
    s = get_settings()
    return {"queue": s.retention_queue_days, "messages": s.retention_messages_days,
            "media": s.retention_messages_days,
            "replies": s.retention_messages_days,
            "webhook_deliveries": s.retention_webhook_deliveries_days,
            "simulator_log": s.retention_simulator_log_days, "audit": s.retention_audit_days}


@dataclass
class PurgeResult:
    """What one run deleted, per kind and per organisation, and how its batches went."""

    deleted: dict[str, int] = field(default_factory=dict)
    by_org: dict[uuid.UUID | None, dict[str, int]] = field(default_factory=dict)
    batches: int = 0
    longest_batch_ms: float = 0.0
    longest_by_kind: dict[str, float] = field(default_factory=dict)
    skipped_batches: int = 0
    seconds: float = 0.0

    def add(self, kind: str, org_id: uuid.UUID | None, n: int) -> None:
        self.deleted[kind] = self.deleted.get(kind, 0) + n
        per_org = self.by_org.setdefault(org_id, {})
        per_org[kind] = per_org.get(kind, 0) + n


def _batches(conn: Connection, kind: str, statement: Any, params: dict[str, Any], batch: int,
             result: PurgeResult, pause: float, should_stop: Callable[[], bool]) -> bool:
    """Delete batch after batch until fewer than `batch` rows go; False when a batch gave up on a lock."""
    while not should_stop():
        started = time.perf_counter()
        try:
            with conn.begin():
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
                # Each batch is planned with its values: a cached generic plan may scan the whole table.
                conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
                rows = conn.execute(statement, {**params, "batch": batch}).all()
        except OperationalError as exc:  # lock_timeout: someone holds what we would wait for
            if "lock timeout" not in str(exc).lower():
                raise
            result.skipped_batches += 1
            log.warning("retention: a %s batch gave up waiting for a lock; the next run retries it", kind)
            return False
        result.batches += 1
        took = (time.perf_counter() - started) * 1000
        result.longest_batch_ms = max(result.longest_batch_ms, took)
        result.longest_by_kind[kind] = max(result.longest_by_kind.get(kind, 0.0), took)
        deleted = 0
        for r in rows:
            result.add(kind, r.org_id, int(r.n))
            deleted += int(r.n)
        if deleted < batch:
            return True
        if pause:
            time.sleep(pause)
    return True


def _purge_kind(conn: Connection, kind: str, cutoff: datetime, batch: int, result: PurgeResult,
                pause: float, should_stop: Callable[[], bool]) -> None:
    spec = KINDS[kind]
    if not spec.per_org:
        _batches(conn, kind, spec.batch_sql(orgs=False), {"cutoff": cutoff}, batch, result, pause, should_stop)
        return
    with conn.begin():
        org_ids = list(conn.execute(text("SELECT id FROM organizations ORDER BY id")).scalars())
    statement = spec.batch_sql(orgs=True)
    oldest = text(f"SELECT min(created_at) FROM {spec.table} WHERE org_id = ANY(:orgs) AND created_at < :cutoff")
    for i in range(0, len(org_ids), ORG_CHUNK):
        chunk = org_ids[i:i + ORG_CHUNK]
        with conn.begin():
            lo = conn.execute(oldest, {"orgs": chunk, "cutoff": cutoff}).scalar()
        # A day at a time: a batch's index scan then starts near its rows, not behind every row the
        # batches before it deleted (dead until vacuum, and read again by each scan).
        while lo is not None and lo < cutoff and not should_stop():
            hi = min(lo + PURGE_WINDOW, cutoff)
            _batches(conn, kind, statement, {"cutoff": cutoff, "orgs": chunk, "lo": lo, "hi": hi}, batch, result,
                     pause, should_stop)
            lo = hi
    if kind == "audit":
        _batches(conn, kind, _NULL_ORG_AUDIT, {"cutoff": cutoff}, batch, result, pause, should_stop)


def _audit(conn: Connection, result: PurgeResult, days: dict[str, int], actor: Actor) -> None:
    """The purge's rows, written after its batches (each its own transaction): who ran it (the upkeep loop, or the
    operator's `purge`) and what went, per organisation and fleet-wide."""
    kept = {k: d for k, d in days.items() if d > 0}
    rows = [{"id": uuid.uuid4(), "org_id": org_id, "event_type": AUDIT_EVENT, "actor_id": actor.user_id,
             "ip_address": actor.ip_address,
             "event_data": actor.audit_data(deleted=counts, retention_days=kept), "created_at": utcnow()}
            for org_id, counts in result.by_org.items() if org_id is not None and any(counts.values())]
    rows.append({"id": uuid.uuid4(), "org_id": None, "event_type": AUDIT_EVENT, "created_at": utcnow(),
                 "actor_id": actor.user_id, "ip_address": actor.ip_address,
                 "event_data": actor.audit_data(
                     deleted={k: result.deleted.get(k, 0) for k in KINDS}, retention_days=kept,
                     batches=result.batches, skipped_batches=result.skipped_batches,
                     longest_batch_ms=round(result.longest_batch_ms, 1),
                     longest_batch_ms_by_kind={k: round(v, 1) for k, v in result.longest_by_kind.items()},
                     seconds=round(result.seconds, 3))})
    with conn.begin():
        # Organisations deleted meanwhile have no audit log to write to.
        existing = {r[0] for r in conn.execute(text("SELECT id FROM organizations WHERE id = ANY(:ids)"),
                                                {"ids": [r["org_id"] for r in rows if r["org_id"]]})}
        conn.execute(WhatsAppAuditLog.__table__.insert(),
                     [r for r in rows if r["org_id"] is None or r["org_id"] in existing])


def purge(*, days: dict[str, int] | None = None, batch_size: int | None = None, pause_seconds: float = 0.01,
          now: datetime | None = None, should_stop: Callable[[], bool] = lambda: False,
          actor: Actor = SYSTEM) -> PurgeResult | None:
    """Delete what retention allows; None when another process is purging right now. `actor` is who ran it."""
    given = days or {}
    days = {**retention_days(), **given}
    days["replies"] = given.get("replies", days["messages"])  # replies live as long as messages
    batch = max(1, int(batch_size or get_settings().retention_batch_size))
    now = now or utcnow()
    with get_engine().connect() as conn:
        conn.commit()  # out of the implicit transaction: each batch below is its own
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PURGE_LOCK_KEY}).scalar():
            conn.rollback()
            return None
        conn.commit()
        try:
            result = PurgeResult()
            started = time.perf_counter()
            for kind in KINDS:
                if days.get(kind, 0) > 0:
                    _purge_kind(conn, kind, now - timedelta(days=days[kind]), batch, result, pause_seconds,
                                should_stop)
            with conn.begin():
                counters.rollup(conn=conn)
                counters.drop_zero_rows(conn=conn)
            result.seconds = time.perf_counter() - started
            _audit(conn, result, days, actor)
            log.info("retention purge: %s in %d batches (longest %.0f ms)", result.deleted or "nothing",
                     result.batches, result.longest_batch_ms)
            return result
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PURGE_LOCK_KEY})
            conn.commit()


_LAST_RUN_SQL = text("""
SELECT created_at, event_data FROM whatsapp_audit_logs
WHERE org_id IS NULL AND event_type = :type ORDER BY created_at DESC, id DESC LIMIT 1
""")


def last_run(*, conn: Connection) -> tuple[datetime, dict[str, Any]] | None:
    """When the last purge finished and what it recorded (one index probe)."""
    row = conn.execute(_LAST_RUN_SQL, {"type": AUDIT_EVENT}).first()
    return (row.created_at, row.event_data) if row else None


def is_due(*, conn: Connection, interval: timedelta, now: datetime | None = None) -> bool:
    """Whether the last purge, in any process, finished longer ago than `interval`."""
    last = last_run(conn=conn)
    return last is None or (now or utcnow()) - last[0] >= interval
