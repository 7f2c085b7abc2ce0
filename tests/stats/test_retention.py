"""Retention: the purge keeps exactly what it must, in batches that never hold up a send, one process at a time."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import database_url, get_engine
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging import messages
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.claims import Outcome, claim_batch, complete, mark_sending
from fleet_dashboard.stats import retention

DAYS = {"messages": 10, "audit": 10, "queue": 5, "webhook_deliveries": 5, "simulator_log": 2}
OLD_MESSAGES = 12_000  # per organisation, spread over days 11..30: more than one retention period
LOCK_LIMIT_MS = 100


def _fill(db, org_id: uuid.UUID) -> None:
    """Rows on both sides of every cutoff, and old rows still in flight that must stay."""
    p = {"org": org_id, "old": OLD_MESSAGES}
    db.execute(text("""
        INSERT INTO whatsapp_messages (id, org_id, recipient_phone, message_type, message_body, template_params,
                                       status, created_at)
        SELECT gen_random_uuid(), :org, '+201001234567', 'text', 'old ' || g, '{}'::jsonb,
               CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'read' END,
               now() - make_interval(days => 11 + g % 20, secs => g)
        FROM generate_series(1, :old) g
        UNION ALL  -- inside the period
        SELECT gen_random_uuid(), :org, '+201001234567', 'text', 'new ' || g, '{}'::jsonb, 'delivered',
               now() - make_interval(days => g % 10, secs => g)
        FROM generate_series(1, 500) g
        UNION ALL  -- old but still waiting to be sent: in flight, kept
        SELECT gen_random_uuid(), :org, '+201001234567', 'text', 'waiting ' || s, '{}'::jsonb, s,
               now() - interval '40 days'
        FROM unnest(ARRAY['pending', 'queued', 'sending']) s"""), p)
    db.execute(text("""
        INSERT INTO notification_queue (id, org_id, notification_type, recipient_phone, message_data, priority,
                                        status, scheduled_for, attempts, max_attempts, created_at, completed_at,
                                        message_id)
        SELECT gen_random_uuid(), :org, 'whatsapp', '+201001234567', '{}'::jsonb, 5,
               CASE WHEN g % 4 = 0 THEN 'failed' ELSE 'completed' END, now(), 1, 3,
               now() - make_interval(days => 6 + g % 20), now() - make_interval(days => 6 + g % 20), m.id
        FROM generate_series(1, 3000) g
        LEFT JOIN (SELECT id, row_number() OVER () AS rn FROM whatsapp_messages
                   WHERE org_id = :org AND message_body LIKE 'old %' LIMIT 1000) m ON m.rn = g
        UNION ALL  -- finished recently though created long ago: kept
        SELECT gen_random_uuid(), :org, 'whatsapp', '+201001234567', '{}'::jsonb, 5, 'failed', now(), 3, 3,
               now() - interval '20 days', now() - interval '1 day', NULL
        UNION ALL  -- old but still owed to the worker: kept
        SELECT gen_random_uuid(), :org, 'whatsapp', '+201001234567', '{}'::jsonb, 5, s, now() + interval '1 day', 0, 3,
               now() - interval '40 days', NULL, NULL
        FROM unnest(ARRAY['pending', 'processing']) s"""), p)
    db.execute(text("""
        INSERT INTO whatsapp_audit_logs (id, org_id, event_type, event_data, created_at)
        SELECT gen_random_uuid(), :org, 'login', '{}', now() - make_interval(days => g % 30, secs => g)
        FROM generate_series(1, 3000) g"""), p)
    db.execute(text("""
        INSERT INTO simulator_sent (id, org_id, whatsapp_message_id, recipient_phone, text, created_at)
        SELECT gen_random_uuid(), :org, 'sim-' || gen_random_uuid(), '+201001234567', 'x',
               now() - make_interval(days => g % 6, secs => g)
        FROM generate_series(1, 600) g"""), p)
    hook = uuid.uuid4()
    db.execute(text("INSERT INTO webhooks (id, org_id, url, secret, events, is_active, created_at) "
                    "VALUES (:id, :org, 'https://example.com/hook', 's', '[]', true, now())"), {**p, "id": hook})
    db.execute(text("""
        INSERT INTO webhook_deliveries (id, webhook_id, org_id, event, status, attempts, next_attempt_at,
                                        created_at)
        SELECT gen_random_uuid(), :hook, :org, '{}', s, 1, now(), now() - make_interval(days => d)
        FROM unnest(ARRAY['failed', 'failed', 'pending', 'failed']) WITH ORDINALITY AS x(s, i),
             LATERAL (SELECT CASE WHEN i < 4 THEN 9 ELSE 1 END AS d) dd"""), {**p, "hook": hook})
    db.execute(text("INSERT INTO whatsapp_audit_logs (id, org_id, event_type, event_data, created_at) "
                    "VALUES (gen_random_uuid(), NULL, 'login_failed', '{}', now() - interval '30 days')"))
    db.commit()


def _counts(org_id: uuid.UUID) -> dict[str, int]:
    queries = {
        "old_messages": "SELECT count(*) FROM whatsapp_messages WHERE org_id = :o AND message_body LIKE 'old %'",
        "new_messages": "SELECT count(*) FROM whatsapp_messages WHERE org_id = :o AND message_body LIKE 'new %'",
        "waiting_messages": "SELECT count(*) FROM whatsapp_messages WHERE org_id = :o "
                            "AND message_body LIKE 'waiting %'",
        "queue_old_finished": "SELECT count(*) FROM notification_queue WHERE org_id = :o "
                              "AND status IN ('completed', 'failed') AND completed_at < now() - interval '5 days'",
        "queue_recent_finished": "SELECT count(*) FROM notification_queue WHERE org_id = :o "
                                 "AND completed_at >= now() - interval '5 days' "
                                 "AND created_at < now() - interval '1 day'",
        "queue_live": "SELECT count(*) FROM notification_queue WHERE org_id = :o "
                      "AND status IN ('pending', 'processing')",
        "audit_old": "SELECT count(*) FROM whatsapp_audit_logs WHERE org_id = :o AND event_type = 'login' "
                     "AND created_at < now() - interval '10 days'",
        "audit_new": "SELECT count(*) FROM whatsapp_audit_logs WHERE org_id = :o AND event_type = 'login' "
                     "AND created_at >= now() - interval '10 days'",
        "audit_fleet_old": "SELECT count(*) FROM whatsapp_audit_logs WHERE org_id IS NULL "
                           "AND event_type = 'login_failed'",
        "sim_old": "SELECT count(*) FROM simulator_sent WHERE org_id = :o AND created_at < now() - interval '2 days'",
        "sim_new": "SELECT count(*) FROM simulator_sent WHERE org_id = :o AND created_at >= now() - interval '2 days'",
        "hooks_failed_old": "SELECT count(*) FROM webhook_deliveries WHERE org_id = :o AND status = 'failed' "
                            "AND created_at < now() - interval '5 days'",
        "hooks_kept": "SELECT count(*) FROM webhook_deliveries WHERE org_id = :o AND (status = 'pending' "
                      "OR created_at >= now() - interval '5 days')",
    }
    with get_engine().connect() as conn:
        return {k: conn.execute(text(q), {"o": org_id}).scalar() for k, q in queries.items()}


class Sender(threading.Thread):
    """The send path, over and over: API create + enqueue, worker claim, mark sending, sent, receipt.

    Its connections refuse to wait more than LOCK_LIMIT_MS for any lock (lock_timeout), so a purge lock
    in its way shows up as an error here; each transaction's time is recorded too."""

    def __init__(self, org_id: uuid.UUID):
        super().__init__(daemon=True)
        self.org_id = org_id
        self.stop = threading.Event()
        self.lock_errors: list[str] = []
        self.other_errors: list[str] = []
        self.times_ms: list[float] = []
        self.sent = 0
        self.engine = create_engine(database_url(), pool_size=2,
                                    connect_args={"options": f"-c lock_timeout={LOCK_LIMIT_MS}"})

    def _timed(self, fn):
        started = time.perf_counter()
        try:
            return fn()
        finally:
            self.times_ms.append((time.perf_counter() - started) * 1000)

    def _one(self, i: int) -> None:
        def api():
            with Session(self.engine, expire_on_commit=False) as s:
                message, _ = messages.create_message(session=s, org_id=self.org_id, recipient="+201001234567",
                                                      text=f"live {i}", status="queued", actor=SYSTEM)
                queue.enqueue_message(session=s, org_id=self.org_id, message=message)
                s.commit()

        def claim():
            with self.engine.begin() as conn:
                return claim_batch(conn=conn, org_ids=[self.org_id], limit=5, lease_seconds=60)

        self._timed(api)
        rows = self._timed(claim)
        for row in rows:
            row.body = row.message_body or ""

        def send():
            with self.engine.begin() as conn:
                mark_sending(conn=conn, rows=rows)
            with self.engine.begin() as conn:
                complete(conn=conn, outcomes=[Outcome(queue_id=r.id, message_id=r.message_id, kind="sent",
                                                      whatsapp_message_id=f"wamid-{r.id}") for r in rows])
            with Session(self.engine) as s:
                messages.apply_receipt(session=s, org_id=self.org_id, kind="delivered",
                                        whatsapp_message_ids=[f"wamid-{r.id}" for r in rows])
                s.commit()

        self._timed(send)
        self.sent += len(rows)

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                self._one(i)
            except OperationalError as exc:
                (self.lock_errors if "lock timeout" in str(exc).lower() else self.other_errors).append(str(exc))
            except Exception as exc:  # noqa: BLE001  (reported by the test)
                self.other_errors.append(repr(exc))

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=30)
        self.engine.dispose()


def test_purge_keeps_what_it_must_and_never_blocks_a_send(db, make_org):
    org, quiet = make_org("Busy"), make_org("Quiet")
    _fill(db, org.id)
    before = _counts(org.id)
    assert before["old_messages"] == OLD_MESSAGES and before["queue_old_finished"] == 3000

    sender = Sender(org.id)
    sender.start()
    try:
        time.sleep(0.5)
        result = retention.purge(days=DAYS, batch_size=500, pause_seconds=0)
        time.sleep(0.3)
    finally:
        sender.finish()

    after = _counts(org.id)
    assert after == {**before, "old_messages": 0, "queue_old_finished": 0, "audit_old": 0, "audit_fleet_old": 0,
                     "sim_old": 0, "hooks_failed_old": 0}
    assert after["waiting_messages"] == 3 and after["queue_live"] == 2 and after["queue_recent_finished"] == 1
    assert after["new_messages"] == 500 and after["hooks_kept"] == 2

    assert result is not None and result.batches > 30, result
    assert result.deleted == {"queue": 3000, "messages": OLD_MESSAGES, "webhook_deliveries": 2,
                              "simulator_log": before["sim_old"], "audit": before["audit_old"] + 1}
    # The concurrent send path went on throughout and never waited 100 ms for a lock.
    assert sender.sent > 0 and not sender.other_errors, sender.other_errors[:3]
    assert not sender.lock_errors, f"a send waited over {LOCK_LIMIT_MS} ms for a lock: {sender.lock_errors[:3]}"
    print(f"\npurge: {result.batches} batches, longest {result.longest_batch_ms:.0f} ms, {result.seconds:.1f} s; "
          f"sender: {sender.sent} sent, slowest transaction {max(sender.times_ms):.0f} ms")

    # Visible in the audit log: one row for the organisation, one fleet-wide for the metrics.
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT org_id, event_data FROM whatsapp_audit_logs WHERE event_type = :t"),
                            {"t": retention.AUDIT_EVENT}).all()
        last = retention.last_run(conn=conn)
    by_org = {r.org_id: r.event_data for r in rows}
    assert set(by_org) == {org.id, None}, "the quiet organisation had nothing purged and gets no row"
    assert by_org[org.id]["deleted"]["messages"] == OLD_MESSAGES
    assert by_org[org.id]["retention_days"]["messages"] == 10
    assert by_org[None]["deleted"]["queue"] == 3000 and last is not None
    assert (utcnow() - last[0]).total_seconds() < 60
    assert quiet.id not in by_org


def test_one_purge_at_a_time(db):
    holder = get_engine().connect()
    try:
        assert holder.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": retention.PURGE_LOCK_KEY}).scalar()
        assert retention.purge(days=DAYS) is None
    finally:
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": retention.PURGE_LOCK_KEY})
        holder.close()
    assert retention.purge(days=DAYS) is not None


def test_zero_days_keeps_a_kind_forever_and_the_purge_is_due_by_its_interval(db, make_org):
    from datetime import timedelta

    org = make_org()
    db.execute(text("""
        INSERT INTO whatsapp_messages (id, org_id, recipient_phone, message_type, message_body, template_params,
                                       status, created_at)
        VALUES (gen_random_uuid(), :o, '+201001234567', 'text', 'ancient', '{}', 'read', now() - interval '3 years')
    """), {"o": org.id})
    db.commit()
    with get_engine().connect() as conn:
        assert retention.is_due(conn=conn, interval=timedelta(hours=24))
    result = retention.purge(days={**DAYS, "messages": 0})
    assert result is not None and result.deleted.get("messages", 0) == 0
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM whatsapp_messages WHERE org_id = :o"), {"o": org.id}).scalar()
        assert not retention.is_due(conn=conn, interval=timedelta(hours=24))
        assert retention.is_due(conn=conn, interval=timedelta(hours=24), now=utcnow() + timedelta(hours=25))


@pytest.fixture(autouse=True)
def _no_leftover_purge_rows(db):
    """Each test starts without an earlier test's purge record (wipe keeps fleet-wide audit rows)."""
    db.execute(text("DELETE FROM whatsapp_audit_logs WHERE event_type = :t"), {"t": retention.AUDIT_EVENT})
    db.commit()


def test_the_last_purge_shows_in_the_metrics(db, make_org):
    from prometheus_client.parser import text_string_to_metric_families

    from fleet_dashboard.stats import metrics

    def samples() -> dict[tuple, float]:
        body, _ = metrics.render(registry=metrics_registry)
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(body.decode()) for s in family.samples}

    from prometheus_client import CollectorRegistry

    metrics_registry = CollectorRegistry(auto_describe=False)
    metrics_registry.register(metrics.FleetCollector())
    assert samples()[("fleet_retention_last_run_timestamp_seconds", ())] == 0
    org = make_org()
    db.execute(text("""
        INSERT INTO whatsapp_audit_logs (id, org_id, event_type, event_data, created_at)
        SELECT gen_random_uuid(), :o, 'login', '{}'::jsonb, now() - interval '400 days' FROM generate_series(1, 7)
    """), {"o": org.id})
    db.commit()
    assert retention.purge(days={"audit": 365}) is not None
    got = samples()
    assert got[("fleet_retention_last_run_deleted_rows", (("kind", "audit"),))] == 7
    assert got[("fleet_retention_last_run_deleted_rows", (("kind", "messages"),))] == 0
    assert abs(got[("fleet_retention_last_run_timestamp_seconds", ())] - time.time()) < 60


def test_the_purge_command_runs_it_now(db, make_org, capsys):
    from fleet_dashboard.cli import main

    org = make_org()
    db.execute(text("""
        INSERT INTO simulator_sent (id, org_id, whatsapp_message_id, recipient_phone, text, created_at)
        SELECT gen_random_uuid(), :o, 'sim-' || g, '+201001234567', 'x', now() - interval '30 days'
        FROM generate_series(1, 3) g"""), {"o": org.id})
    db.commit()
    assert main(["purge", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "simulator_log: 3 deleted" in out and "messages: 0 deleted" in out
