"""The worker's batch SQL: claim, mark sending, complete and reclaim, each one statement per batch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from fleet_dashboard.core.tables import batch_json, sql_list, sql_literal
from fleet_dashboard.deliverability.pauses import PAUSED_ORGS_SQL
from fleet_dashboard.messaging.models import (
    LIVE_MESSAGE_STATUSES,
    SENDABLE_MESSAGE_STATUSES,
    MessageStatus,
    MessageType,
)
from fleet_dashboard.notifications.models import QueueStatus

# Every status the statements below name, as SQL literals from the one vocabulary (models.py); a message's type
# goes in as a parameter (mark_sending's mtypes).
_V = {
    **{f"q_{s.name}": sql_literal(s.value) for s in QueueStatus},
    **{f"m_{s.name}": sql_literal(s.value) for s in MessageStatus},
    "m_sendable": sql_list(SENDABLE_MESSAGE_STATUSES),
    "m_in_flight": sql_list(LIVE_MESSAGE_STATUSES),
}


def _sql(statement: str) -> Any:
    """A statement with its {q_pending}, {m_sent}, ... placeholders filled from the vocabulary."""
    return text(statement.format(**_V))


UNKNOWN_REASON = ("the worker stopped during the send: WhatsApp may have the message, "
                  "so it is not resent automatically; retry it only after checking")
UNKNOWN_CODE = "outcome_unknown"


@dataclass(slots=True)
class Claimed:
    """One claimed notification with what sending it needs, read in the claim statement itself."""

    id: uuid.UUID
    org_id: uuid.UUID
    recipient_phone: str
    template_id: uuid.UUID | None
    variables: dict[str, Any]
    attempts: int
    max_attempts: int
    priority: int
    message_id: uuid.UUID | None
    template_body: str | None
    template_name: str | None
    template_active: bool | None
    message_body: str | None
    message_phone: str | None
    message_status: str | None
    opted_out: bool
    # A document or an image (its media row, shown name and type); None for text.
    media_id: uuid.UUID | None = None
    media_filename: str | None = None
    media_type: str | None = None
    # The lease this claim set: the worker's later writes name it, so a row whose lease ran out and that another
    # worker claimed since is never touched by the first.
    lease_expires_at: datetime | None = None
    urgent: bool = False
    # The look-up cache's answer for the recipient, when it has one (deliverability/contacts.py).
    known_on_whatsapp: bool | None = None
    known_jid: str | None = None
    known_checked_at: datetime | None = None
    # Filled by the worker before the send.
    body: str = ""
    new_message: bool = field(default=False)
    send_to: str | None = None  # where WhatsApp said to send, from a look-up (None: the number)
    typing: bool = False  # show "typing..." first
    deadline: float = 0.0  # the worker's local lease deadline (monotonic)


_SELECT_CLAIMED = """
SELECT c.id, c.org_id, c.recipient_phone, c.template_id, c.message_data AS variables, c.attempts,
       c.max_attempts, c.priority, c.message_id, t.message_template AS template_body,
       t.name AS template_name, t.is_active AS template_active, m.message_body,
       m.recipient_phone AS message_phone, m.status AS message_status, (o.id IS NOT NULL) AS opted_out,
       COALESCE(m.media_id, c.media_id) AS media_id, COALESCE(m.media_filename, c.media_filename) AS media_filename,
       CASE WHEN m.media_id IS NOT NULL THEN m.message_type ELSE c.media_type END AS media_type,
       c.lease_expires_at, c.urgent, k.on_whatsapp AS known_on_whatsapp, k.jid AS known_jid,
       k.checked_at AS known_checked_at
FROM claimed c
LEFT JOIN whatsapp_templates t ON t.id = c.template_id AND (t.org_id = c.org_id OR t.org_id IS NULL)
LEFT JOIN whatsapp_messages m ON m.id = c.message_id
LEFT JOIN whatsapp_opt_outs o ON o.org_id = c.org_id AND o.phone = COALESCE(m.recipient_phone, c.recipient_phone)
LEFT JOIN contact_checks k ON k.org_id = c.org_id AND k.phone = COALESCE(m.recipient_phone, c.recipient_phone)
ORDER BY c.priority, c.scheduled_for, c.created_at
"""

# Both claims end the same way: the picked rows go to processing under a lease, then are read with
# what sending them needs.
_MARK_CLAIMED = """, claimed AS (
    UPDATE notification_queue q SET status = {q_processing}, last_attempt_at = now(), wait_reason = NULL,
        lease_expires_at = now() + make_interval(secs => :lease)
    FROM picked WHERE q.id = picked.id
    RETURNING q.*
)""" + _SELECT_CLAIMED

# Due rows of the organisations asked for (only urgent ones of those whose guards hold the rest back), never of
# a suspended or a paused organisation.
_DUE = """status = {q_pending} AND scheduled_for <= now()
      AND (org_id = ANY(:org_ids) OR (urgent AND org_id = ANY(:urgent_ids)))
      AND org_id NOT IN (SELECT id FROM organizations WHERE suspended_at IS NOT NULL)
      AND org_id NOT IN (""" + PAUSED_ORGS_SQL + ")"

_CLAIM_SQL = _sql("""
WITH picked AS (
    SELECT id FROM notification_queue
    WHERE """ + _DUE + """
    ORDER BY priority, scheduled_for, created_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)""" + _MARK_CLAIMED)

# With a throttle, take at most a few rows per organisation so none sits claimed past its lease.
_CLAIM_PER_ORG_SQL = _sql("""
WITH ranked AS (
    SELECT id, row_number() OVER (PARTITION BY org_id ORDER BY priority, scheduled_for, created_at) AS rn
    FROM notification_queue
    WHERE """ + _DUE + """
), picked AS (
    SELECT q.id FROM notification_queue q
    WHERE q.id IN (SELECT id FROM ranked WHERE rn <= :per_org)
      AND q.status = {q_pending} AND q.scheduled_for <= now()
    ORDER BY q.priority, q.scheduled_for, q.created_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)""" + _MARK_CLAIMED)


def claim_batch(
    *, conn: Connection, org_ids: list[uuid.UUID], limit: int, lease_seconds: float,
    per_org_limit: int | None = None, urgent_ids: list[uuid.UUID] | None = None,
) -> list[Claimed]:
    """Take due pending rows of these organisations (of `urgent_ids`, only urgent rows), by priority then age,
    skipping rows others hold."""
    if (not org_ids and not urgent_ids) or limit <= 0:
        return []
    params = {"org_ids": list(org_ids), "urgent_ids": list(urgent_ids or []), "limit": limit, "lease": lease_seconds}
    if per_org_limit is not None and per_org_limit < limit:
        rows = conn.execute(_CLAIM_PER_ORG_SQL, {**params, "per_org": per_org_limit}).mappings().all()
    else:
        rows = conn.execute(_CLAIM_SQL, params).mappings().all()
    return [Claimed(**row) for row in rows]


_MARK_SQL = _sql("""
WITH d AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS d(qid uuid, mid uuid, is_new boolean, org_id uuid, phone text, body text, tid uuid, tname text,
             params jsonb, mtype text, media_id uuid, media_filename text, lease timestamptz)
), ok AS (
    SELECT d.* FROM d JOIN notification_queue q ON q.id = d.qid
    WHERE q.status = {q_processing} AND q.lease_expires_at > now() + make_interval(secs => :margin)
      AND (d.lease IS NULL OR q.lease_expires_at = d.lease)
    FOR UPDATE OF q
), ins AS (
    INSERT INTO whatsapp_messages (id, org_id, recipient_phone, message_type, message_body, template_id,
                                   template_name, template_params, status, created_at, media_id, media_filename)
    SELECT mid, org_id, phone, mtype, body, tid, tname, params, {m_sending}, now(), media_id, media_filename
    FROM ok WHERE is_new
    RETURNING id
), upd AS (
    UPDATE whatsapp_messages m SET status = {m_sending}, error = NULL, failed_at = NULL
    FROM ok WHERE NOT ok.is_new AND m.id = ok.mid AND m.status IN {m_sendable}
    RETURNING m.id
), lnk AS (
    UPDATE notification_queue q SET message_id = ok.mid FROM ok WHERE ok.is_new AND q.id = ok.qid
)
SELECT id FROM ins UNION ALL SELECT id FROM upd
""")


def mark_sending(*, conn: Connection, rows: list[Claimed], margin_seconds: float = 5.0) -> set[uuid.UUID]:
    """Record that these sends are about to start; returns the message ids that may be sent now."""
    if not rows:
        return set()
    for row in rows:
        if row.message_id is None:
            row.message_id, row.new_message = uuid.uuid4(), True
    data = [{"qid": r.id, "mid": r.message_id, "is_new": r.new_message, "org_id": r.org_id,
             "phone": r.recipient_phone, "body": r.body, "tid": r.template_id, "tname": r.template_name,
             "params": {k: str(v) for k, v in (r.variables or {}).items()},
             "mtype": r.media_type or MessageType.template.value, "media_id": r.media_id,
             "media_filename": r.media_filename, "lease": r.lease_expires_at} for r in rows]
    return {row[0] for row in conn.execute(_MARK_SQL, {"rows": batch_json(data), "margin": margin_seconds})}


@dataclass(slots=True)
class Outcome:
    """What happened to one claimed row: sent, retry (with retry_at), failed, release or unknown."""

    queue_id: uuid.UUID
    message_id: uuid.UUID | None
    kind: str
    whatsapp_message_id: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    # strings.ERRORS code for `error`, so the dashboard can say it in Arabic.
    code: str | None = None
    # A release that waits for a guard (deliverability.models.WaitReason), until retry_at.
    wait: str | None = None
    # The send showed a danger to the number (a deliverability.models.PauseReason): its organisation pauses.
    danger: str | None = None
    org_id: uuid.UUID | None = None


# Bump: a release (organisation not connected) costs no attempt; everything else costs one.
_COMPLETE_SQL = _sql("""
WITH d AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS d(qid uuid, mid uuid, kind text, wid text, err text, code text, retry_at timestamptz, wait text)
), m AS (
    UPDATE whatsapp_messages m SET
        status = CASE d.kind WHEN 'sent' THEN {m_sent} WHEN 'retry' THEN {m_queued} WHEN 'release' THEN {m_queued}
                             WHEN 'unknown' THEN {m_unknown} ELSE {m_failed} END,
        whatsapp_message_id = COALESCE(d.wid, m.whatsapp_message_id),
        sent_at = CASE WHEN d.kind = 'sent' THEN now() ELSE m.sent_at END,
        error = CASE WHEN d.kind IN ('sent', 'release') THEN NULL ELSE d.err END,
        error_code = CASE WHEN d.kind IN ('sent', 'release') THEN NULL ELSE d.code END,
        failed_at = CASE WHEN d.kind IN ('failed', 'unknown') THEN now() ELSE m.failed_at END
    FROM d WHERE m.id = d.mid
      AND (m.status IN {m_in_flight} OR (d.kind = 'sent' AND m.status IN ({m_failed}, {m_unknown})))
    RETURNING m.id, m.org_id, m.template_id, m.status, m.whatsapp_message_id, m.error, m.error_code, d.kind
), q AS (
    UPDATE notification_queue q SET
        status = CASE d.kind WHEN 'sent' THEN {q_completed} WHEN 'retry' THEN {q_pending}
                             WHEN 'release' THEN {q_pending} WHEN 'unknown' THEN {q_unknown} ELSE {q_failed} END,
        attempts = q.attempts + CASE WHEN d.kind = 'release' THEN 0 ELSE 1 END,
        scheduled_for = COALESCE(d.retry_at, q.scheduled_for),
        completed_at = CASE WHEN d.kind IN ('sent', 'failed', 'unknown') THEN now() END,
        error_message = d.err,
        error_code = d.code,
        whatsapp_message_id = COALESCE(d.wid, q.whatsapp_message_id),
        lease_expires_at = NULL,
        wait_reason = d.wait
    -- a row reclaimed as unknown only takes the news that its send did go out
    FROM d WHERE q.id = d.qid AND (q.status = {q_processing} OR (q.status = {q_unknown} AND d.kind = 'sent'))
), t AS (
    UPDATE whatsapp_templates t SET usage_count = t.usage_count + c.n, last_used_at = now()
    FROM (SELECT template_id, count(*) AS n FROM m WHERE m.status = {m_sent} AND template_id IS NOT NULL
          GROUP BY template_id) c
    WHERE t.id = c.template_id
)
SELECT id, org_id, status, whatsapp_message_id, error, error_code, kind FROM m
""")


def complete(*, conn: Connection, outcomes: list[Outcome]) -> list[Any]:
    """Write every outcome, count template uses; returns the message rows that changed (for events)."""
    if not outcomes:
        return []
    data = [{"qid": o.queue_id, "mid": o.message_id, "kind": o.kind, "wid": o.whatsapp_message_id,
             "err": (o.error or "")[:2000] or None, "code": o.code if o.error else None,
             "retry_at": o.retry_at, "wait": o.wait} for o in outcomes]
    return conn.execute(_COMPLETE_SQL, {"rows": batch_json(data)}).all()


# A released row's send never started: a message that was marked sending for it (the worker lost the database
# between marking and sending) is queued again, so the next claim sends it.
_RELEASE_SQL = _sql("""
WITH d AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:leases AS timestamptz[])) AS d(id, lease)
), q AS (
    UPDATE notification_queue q SET status = {q_pending}, lease_expires_at = NULL
    FROM d WHERE q.id = d.id AND q.status = {q_processing} AND (d.lease IS NULL OR q.lease_expires_at = d.lease)
    RETURNING q.message_id
), m AS (
    UPDATE whatsapp_messages m SET status = {m_queued}
    FROM q WHERE m.id = q.message_id AND m.status = {m_sending}
)
SELECT count(*) FROM q
""")


def release(*, conn: Connection, queue_ids: list[uuid.UUID],
            leases: list[datetime | None] | None = None) -> int:
    """Hand claimed rows whose send never started back to pending, at no attempt's cost.

    With `leases` (each row's lease from its claim), a row another worker claimed since is left alone."""
    if not queue_ids:
        return 0
    leases = list(leases) if leases is not None else [None] * len(queue_ids)
    return conn.execute(_RELEASE_SQL, {"ids": list(queue_ids), "leases": leases}).scalar_one()


_RECLAIM_SQL = _sql("""
WITH x AS (
    SELECT q.id, q.message_id, m.status AS mstatus
    FROM notification_queue q LEFT JOIN whatsapp_messages m ON m.id = q.message_id
    WHERE q.status = {q_processing} AND q.lease_expires_at < now()
    FOR UPDATE OF q SKIP LOCKED
), msg AS (
    UPDATE whatsapp_messages m SET status = {m_unknown}, error = :reason, error_code = :code, failed_at = now()
    FROM x WHERE m.id = x.message_id AND x.mstatus = {m_sending}
    RETURNING m.id, m.org_id, m.whatsapp_message_id
), q AS (
    UPDATE notification_queue q SET
        status = CASE WHEN x.mstatus = {m_sending} THEN {q_unknown} ELSE {q_pending} END,
        error_message = CASE WHEN x.mstatus = {m_sending} THEN :reason ELSE q.error_message END,
        error_code = CASE WHEN x.mstatus = {m_sending} THEN :code ELSE q.error_code END,
        completed_at = CASE WHEN x.mstatus = {m_sending} THEN now() END,
        attempts = q.attempts + CASE WHEN x.mstatus = {m_sending} THEN 1 ELSE 0 END,
        lease_expires_at = NULL
    FROM x WHERE q.id = x.id
    RETURNING q.id
)
SELECT 'message' AS what, id, org_id, whatsapp_message_id FROM msg
UNION ALL SELECT 'queue', id, NULL, NULL FROM q
""")


def reclaim_expired(*, conn: Connection) -> tuple[int, list[Any]]:
    """Rows of dead workers: never-started sends go back to pending, started ones to 'unknown'.

    Returns how many rows were reclaimed and the message rows now unknown (for events)."""
    rows = conn.execute(_RECLAIM_SQL, {"reason": UNKNOWN_REASON, "code": UNKNOWN_CODE}).all()
    return sum(1 for r in rows if r.what == "queue"), [r for r in rows if r.what == "message"]


_SETTLE_SQL = _sql("""
UPDATE notification_queue q SET status = {q_completed}, completed_at = COALESCE(q.completed_at, now()),
    whatsapp_message_id = m.whatsapp_message_id, error_message = NULL, error_code = NULL
FROM whatsapp_messages m
WHERE q.message_id = ANY(:ids) AND q.org_id = :org_id AND q.status = {q_unknown}
  AND m.id = q.message_id AND m.status NOT IN ({m_unknown}, {m_failed})
""")


def settle_unknown(*, conn: Connection, org_id: uuid.UUID, message_ids: list[uuid.UUID]) -> int:
    """Rows left `unknown` whose message a receipt has since shown to be on the phone: completed after all."""
    if not message_ids:
        return 0
    return conn.execute(_SETTLE_SQL, {"ids": list(message_ids), "org_id": org_id}).rowcount
@dataclass(frozen=True, slots=True)
class Hold:
    """A guard holds an organisation's due rows: until when (None: until resumed), why, and urgent ones too?"""

    org_id: uuid.UUID
    until: datetime | None
    reason: str
    urgent_too: bool


_DEFER_SQL = _sql("""
WITH d AS (
    SELECT * FROM unnest(CAST(:orgs AS uuid[]), CAST(:untils AS timestamptz[]), CAST(:reasons AS text[]),
                         CAST(:urgent_too AS boolean[])) AS d(org_id, until, reason, urgent_too)
)
UPDATE notification_queue q SET scheduled_for = COALESCE(d.until, q.scheduled_for), wait_reason = d.reason
FROM d WHERE q.org_id = d.org_id AND q.status = {q_pending} AND q.scheduled_for <= now()
  AND (d.urgent_too OR NOT q.urgent) AND (d.until IS NOT NULL OR q.wait_reason IS DISTINCT FROM d.reason)
RETURNING q.org_id
""")


def defer(*, conn: Connection, holds: list[Hold]) -> set[uuid.UUID]:
    """Move held organisations' due rows to when they may go, saying why; returns the organisations touched."""
    if not holds:
        return set()
    rows = conn.execute(_DEFER_SQL, {"orgs": [h.org_id for h in holds], "untils": [h.until for h in holds],
                                     "reasons": [h.reason for h in holds],
                                     "urgent_too": [h.urgent_too for h in holds]})
    return {r[0] for r in rows}
