"""Prometheus metrics: fleet-wide totals read from the database at scrape time, plus process/python metrics.

Labels are low-cardinality on purpose: only `status` (and `kind` for retention). No organisation ids,
phone numbers or template names ever become labels; per-organisation
detail belongs in the dashboard, not in a time series.
Every known status is always exported (0 when absent), so series do not appear and vanish.

The HTTP route is `GET /api/metrics` (api/app.py); this module knows nothing about HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import lru_cache

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.messaging.models import MessageStatus
from fleet_dashboard.notifications.models import QueueStatus
from fleet_dashboard.stats import retention
from fleet_dashboard.stats.loop_lag import LoopLagCollector
from fleet_dashboard.stats.models import FLEET, CountKind
from fleet_dashboard.whatsapp.models import SessionReason, SessionStatus

log = logging.getLogger(__name__)

# The database side of a scrape is bounded twice: in PostgreSQL, and for the HTTP caller.
STATEMENT_TIMEOUT_MS = 5000
SCRAPE_TIMEOUT_SECONDS = 10.0

# One round trip, every part bounded: sessions and organisations are one row per organisation; queue
# and message counts come from the status counters' fleet-wide rows (stats/counters.py) plus the
# deltas not rolled up yet; the oldest due row is one probe of ix_notification_queue_due; the
# retention figures are the last purge's audit row. Nothing here reads the message or queue history.
_COUNTED = """
SELECT '{family}', status, sum(n)::float8 FROM (
    SELECT status, n FROM status_counts WHERE kind = '{kind}' AND org_id = :fleet {days}
    UNION ALL
    SELECT status, n FROM status_count_deltas WHERE kind = '{kind}' {days}
) c GROUP BY status
"""
_LAST_PURGE = """(SELECT created_at, event_data FROM whatsapp_audit_logs
    WHERE org_id IS NULL AND event_type = :purge ORDER BY created_at DESC, id DESC LIMIT 1)"""
_QUERY = text(f"""
SELECT 'sessions' AS family, status, count(*)::float8 AS value
  FROM whatsapp_sessions GROUP BY status
UNION ALL
SELECT 'sessions_enabled', NULL, count(*)::float8 FROM whatsapp_sessions WHERE enabled
UNION ALL
{_COUNTED.format(family="queue", kind=CountKind.queue.value, days="")}
UNION ALL
SELECT 'queue_oldest_due', NULL,
       COALESCE(EXTRACT(EPOCH FROM now() - min(scheduled_for)), 0)::float8
  FROM notification_queue WHERE status = 'pending' AND scheduled_for <= now()
UNION ALL
{_COUNTED.format(family="messages_today", kind=CountKind.message.value, days="AND day = :today")}
UNION ALL
{_COUNTED.format(family="messages", kind=CountKind.message.value, days="")}
UNION ALL
SELECT 'organizations', NULL, count(*)::float8 FROM organizations
UNION ALL
SELECT 'retention_last_run', NULL, EXTRACT(EPOCH FROM r.created_at)::float8 FROM {_LAST_PURGE} r
UNION ALL
SELECT 'retention_seconds', NULL, COALESCE((r.event_data->>'seconds')::float8, 0) FROM {_LAST_PURGE} r
UNION ALL
SELECT 'retention_deleted', d.key, d.value::float8
  FROM {_LAST_PURGE} r, jsonb_each_text(r.event_data->'deleted') d
UNION ALL
SELECT 'session_reasons', connection_error_code, count(*)::float8
  FROM whatsapp_sessions WHERE connection_error_code IS NOT NULL GROUP BY connection_error_code
UNION ALL
SELECT 'engines_alive', NULL, count(*)::float8 FROM whatsapp_engines
 WHERE stopped_at IS NULL AND heartbeat_at >= now() - make_interval(secs => :stale)
UNION ALL
SELECT 'engine_stuck_threads', NULL, COALESCE(sum(stuck_threads), 0)::float8 FROM whatsapp_engines
 WHERE stopped_at IS NULL AND heartbeat_at >= now() - make_interval(secs => :stale)
""")


class DatabaseUnavailable(Exception):
    """The scrape could not read the database (down, too slow, or refusing the query)."""


def _read_rows() -> list[tuple[str, str | None, float]]:
    with get_engine().begin() as conn:
        conn.execute(text(f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT_MS)}"))
        params = {"fleet": FLEET, "today": datetime.now(UTC).date(), "purge": retention.AUDIT_EVENT,
                  "stale": get_settings().engine_stale_seconds}
        return [(r.family, r.status, float(r.value)) for r in conn.execute(_QUERY, params)]


def _by_status(name: str, doc: str, statuses: list[str], counts: dict[str, float],
               label: str = "status") -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, doc, labels=[label])
    # Known statuses first and always present; anything unexpected still shows rather than vanishing.
    for status in [*statuses, *sorted(s for s in counts if s not in statuses)]:
        gauge.add_metric([status], counts.get(status, 0.0))
    return gauge


class FleetCollector(Collector):
    """Fleet-wide gauges computed from the database on every collect (one query)."""

    def __init__(self, read_rows: Callable[[], list[tuple[str, str | None, float]]] = _read_rows):
        self._read_rows = read_rows

    def describe(self) -> list[Metric]:
        # Declared without reading the database, so registering never queries it.
        return []

    def collect(self) -> Iterator[Metric]:
        families: dict[str, dict[str, float]] = {}
        for family, status, value in self._read_rows():
            families.setdefault(family, {})[status or ""] = value
        yield _by_status("fleet_whatsapp_sessions", "WhatsApp sessions by status (all organisations).",
                         [s.value for s in SessionStatus], families.get("sessions", {}))
        yield GaugeMetricFamily("fleet_whatsapp_sessions_enabled",
                                "WhatsApp sessions the users want up (the engine supervises these).",
                                value=families.get("sessions_enabled", {}).get("", 0.0))
        yield _by_status("fleet_notification_queue_rows", "Notification queue rows by status.",
                         [s.value for s in QueueStatus], families.get("queue", {}))
        yield GaugeMetricFamily("fleet_notification_queue_oldest_due_pending_age_seconds",
                                "Seconds since the oldest pending, already due queue row was due (0 if none).",
                                value=families.get("queue_oldest_due", {}).get("", 0.0))
        yield _by_status("fleet_whatsapp_messages_today",
                         "WhatsApp messages created since midnight UTC, by current status.",
                         [s.value for s in MessageStatus], families.get("messages_today", {}))
        yield _by_status("fleet_whatsapp_messages", "WhatsApp messages kept (not yet purged), by current status.",
                         [s.value for s in MessageStatus], families.get("messages", {}))
        yield GaugeMetricFamily("fleet_organizations", "Organisations.",
                                value=families.get("organizations", {}).get("", 0.0))
        yield GaugeMetricFamily("fleet_retention_last_run_timestamp_seconds",
                                "When the last retention purge finished (Unix time; 0 = never).",
                                value=families.get("retention_last_run", {}).get("", 0.0))
        yield GaugeMetricFamily("fleet_retention_last_run_duration_seconds",
                                "How long the last retention purge took.",
                                value=families.get("retention_seconds", {}).get("", 0.0))
        yield _by_status("fleet_retention_last_run_deleted_rows", "Rows the last retention purge deleted, by kind.",
                         list(retention.KINDS), families.get("retention_deleted", {}), label="kind")
        yield _by_status("fleet_whatsapp_session_reasons",
                         "WhatsApp sessions by why they are down or degraded (connected but not sending, "
                         "keep-alive timeouts, replaced, banned, ...).",
                         [r.value for r in SessionReason], families.get("session_reasons", {}), label="reason")
        yield GaugeMetricFamily("fleet_whatsapp_engines_alive", "Engine processes with a recent heartbeat.",
                                value=families.get("engines_alive", {}).get("", 0.0))
        yield GaugeMetricFamily("fleet_whatsapp_engine_stuck_threads",
                                "Library threads that never returned (abandoned pairings), over live engines.",
                                value=families.get("engine_stuck_threads", {}).get("", 0.0))


@lru_cache
def get_registry() -> CollectorRegistry:
    """This process's metrics registry: the fleet gauges plus the default process and python collectors."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(FleetCollector())
    registry.register(LoopLagCollector())  # this worker's event-loop lag (loop_lag.py), labelled by pid
    return registry


def render(accept: str | None = None, registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The exposition for `accept` (Prometheus text by default, OpenMetrics when asked) and its content type.

    Raises DatabaseUnavailable when the fleet gauges cannot be read.
    """
    encoder, content_type = choose_encoder(accept or "")
    try:
        return encoder(registry or get_registry()), content_type
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(str(getattr(exc, "orig", None) or exc)) from exc


async def scrape(accept: str | None = None) -> tuple[bytes, str]:
    """`render` off the event loop, bounded by SCRAPE_TIMEOUT_SECONDS."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(render, accept), SCRAPE_TIMEOUT_SECONDS)
    except TimeoutError as exc:
        raise DatabaseUnavailable(f"metrics scrape took over {SCRAPE_TIMEOUT_SECONDS:g} s") from exc
