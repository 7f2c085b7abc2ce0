"""Scale: keyset indexes for every list filter, status counters kept by triggers, retention indexes.

Counting: statement-level triggers on whatsapp_messages and notification_queue append one row per
(org, UTC day of creation, status) to status_count_deltas in the same transaction as the change; the
rollup (services/counters.py) folds them into status_counts. Readers add both, so counts are exact and
no send waits on a hot counter row. Existing rows are counted here, with writers locked out meanwhile.

Revision ID: 0008
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLEET = "00000000-0000-0000-0000-000000000000"
COUNTED = {"whatsapp_messages": "message", "notification_queue": "queue"}

# One function for both tables and all three events; TG_ARGV[0] is the kind. Transition tables let
# a batch statement (the worker's) add one delta per group instead of one per row.
_COUNT_FUNCTION = """
CREATE FUNCTION fleet_count_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO status_count_deltas (kind, org_id, day, status, n)
        SELECT TG_ARGV[0], org_id, (created_at AT TIME ZONE 'UTC')::date, status, count(*)
        FROM new_rows GROUP BY 2, 3, 4;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO status_count_deltas (kind, org_id, day, status, n)
        SELECT TG_ARGV[0], org_id, (created_at AT TIME ZONE 'UTC')::date, status, -count(*)
        FROM old_rows GROUP BY 2, 3, 4;
    ELSE
        -- One join of the before and after images: each changed row leaves its old status, enters the new.
        INSERT INTO status_count_deltas (kind, org_id, day, status, n)
        SELECT TG_ARGV[0], v.org_id, v.day, v.status, sum(v.n)
        FROM old_rows o JOIN new_rows w ON w.id = o.id
        CROSS JOIN LATERAL (VALUES (o.org_id, (o.created_at AT TIME ZONE 'UTC')::date, o.status, -1),
                                   (w.org_id, (w.created_at AT TIME ZONE 'UTC')::date, w.status, 1))
            AS v(org_id, day, status, n)
        WHERE o.status IS DISTINCT FROM w.status
        GROUP BY 2, 3, 4 HAVING sum(v.n) <> 0;
    END IF;
    RETURN NULL;
END $$
"""


def _triggers(table: str, kind: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION fleet_count_statuses('{kind}')",
        f"CREATE TRIGGER {table}_count_update AFTER UPDATE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION fleet_count_statuses('{kind}')",
        f"CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION fleet_count_statuses('{kind}')",
    ]


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    # -- keyset pages: each filter leads an index ending in (created_at, id) --
    op.create_index("ix_whatsapp_messages_org_status_created", "whatsapp_messages",
                    ["org_id", "status", "created_at", "id"])
    op.create_index("ix_whatsapp_messages_org_template_created", "whatsapp_messages",
                    ["org_id", "template_name", "created_at", "id"],
                    postgresql_where=sa.text("template_name IS NOT NULL"))
    op.create_index("ix_whatsapp_messages_phone_trgm", "whatsapp_messages", ["recipient_phone"],
                    postgresql_using="gin", postgresql_ops={"recipient_phone": "gin_trgm_ops"})
    op.create_index("ix_whatsapp_messages_body_trgm", "whatsapp_messages", ["message_body"],
                    postgresql_using="gin", postgresql_ops={"message_body": "gin_trgm_ops"})
    op.drop_index("ix_notification_queue_org_created", table_name="notification_queue")
    op.create_index("ix_notification_queue_org_created", "notification_queue", ["org_id", "created_at", "id"])
    op.create_index("ix_notification_queue_org_status_created", "notification_queue",
                    ["org_id", "status", "created_at", "id"])
    op.create_index("ix_whatsapp_audit_logs_org_type_created", "whatsapp_audit_logs",
                    ["org_id", "event_type", "created_at", "id"])

    # -- retention: old rows found without scanning (messages and audit go through their org indexes) --
    op.create_index("ix_simulator_sent_created", "simulator_sent", ["created_at"])
    op.create_index("ix_notification_queue_finished", "notification_queue",
                    [sa.text("COALESCE(completed_at, created_at)")],
                    postgresql_where=sa.text("status NOT IN ('pending', 'processing')"))
    # Deleting a message sets its queue rows' message_id to NULL: without this, one scan per message.
    op.create_index("ix_notification_queue_message", "notification_queue", ["message_id"],
                    postgresql_where=sa.text("message_id IS NOT NULL"))

    # -- status counters --
    op.create_table(
        "status_counts",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("kind", "org_id", "day", "status"),
    )
    op.create_index("ix_status_counts_kind_status_day", "status_counts", ["kind", "status", "day"],
                    postgresql_include=["org_id", "n"])
    # No key and no index: the senders' inserts stay as cheap as an insert can be.
    op.create_table(
        "status_count_deltas",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.execute(_COUNT_FUNCTION)
    for table, kind in COUNTED.items():
        # No write may land between the backfill's snapshot and the trigger that counts it.
        op.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        for statement in _triggers(table, kind):
            op.execute(statement)
        op.execute(f"""
            INSERT INTO status_counts (kind, org_id, day, status, n)
            SELECT '{kind}', org_id, (created_at AT TIME ZONE 'UTC')::date, status, count(*)
            FROM {table} GROUP BY 2, 3, 4
        """)
        op.execute(f"""
            INSERT INTO status_counts (kind, org_id, day, status, n)
            SELECT kind, '{FLEET}', day, status, sum(n) FROM status_counts WHERE kind = '{kind}'
            GROUP BY kind, day, status
        """)


def downgrade() -> None:
    for table in COUNTED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_count_{event} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS fleet_count_statuses()")
    op.drop_table("status_count_deltas")
    op.drop_table("status_counts")
    for name, table in (
        ("ix_notification_queue_message", "notification_queue"),
        ("ix_notification_queue_finished", "notification_queue"),
        ("ix_simulator_sent_created", "simulator_sent"),
        ("ix_whatsapp_audit_logs_org_type_created", "whatsapp_audit_logs"),
        ("ix_notification_queue_org_status_created", "notification_queue"),
        ("ix_notification_queue_org_created", "notification_queue"),
        ("ix_whatsapp_messages_body_trgm", "whatsapp_messages"),
        ("ix_whatsapp_messages_phone_trgm", "whatsapp_messages"),
        ("ix_whatsapp_messages_org_template_created", "whatsapp_messages"),
        ("ix_whatsapp_messages_org_status_created", "whatsapp_messages"),
    ):
        op.drop_index(name, table_name=table)
    op.create_index("ix_notification_queue_org_created", "notification_queue", ["org_id", "created_at"])
