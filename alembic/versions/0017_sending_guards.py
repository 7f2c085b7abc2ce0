"""Guards of the sending number: rules per organisation, look-up cache, pauses, incidents, urgent and waiting rows.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def _org_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "sending_rules",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("typing", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("days_off", postgresql.ARRAY(sa.String(length=10)), server_default=sa.text("'{}'"),
                  nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("warmup", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _org_fk(),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "sending_state",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("linked_phone", sa.String(length=32), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slow_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("risk", sa.String(length=10), nullable=False),
        sa.Column("risk_reasons", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("risk_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("down_since", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("risk IN ('green', 'amber', 'red')", name="ck_sending_state_risk"),
        _org_fk(),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "contact_checks",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("on_whatsapp", sa.Boolean(), nullable=False),
        sa.Column("jid", sa.String(length=128), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _org_fk(),
        sa.PrimaryKeyConstraint("org_id", "phone"),
    )
    op.create_table(
        "sending_pauses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("reason IN ('temporary_ban', 'sends_failing', 'restricted', 'logged_out_phone', "
                           "'needs_relink')", name="ck_sending_pauses_reason"),
        _org_fk(),
        sa.ForeignKeyConstraint(["resumed_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sending_pauses_org_id"), "sending_pauses", ["org_id"])
    op.create_index("uq_sending_pauses_open", "sending_pauses", ["org_id"], unique=True,
                    postgresql_where=sa.text("resumed_at IS NULL"))
    op.create_table(
        "sending_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('disconnected', 'risk', 'paused')", name="ck_sending_incidents_kind"),
        _org_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sending_incidents_org_id"), "sending_incidents", ["org_id"])
    op.create_index("uq_sending_incidents_open", "sending_incidents", ["org_id", "kind"], unique=True,
                    postgresql_where=sa.text("closed_at IS NULL"))
    op.create_index("ix_sending_incidents_open", "sending_incidents", ["opened_at"],
                    postgresql_where=sa.text("closed_at IS NULL"))
    op.create_index("ix_sending_incidents_unmailed", "sending_incidents", ["opened_at"],
                    postgresql_where=sa.text("opened_mailed_at IS NULL OR "
                                             "(closed_at IS NOT NULL AND closed_mailed_at IS NULL)"))
    op.add_column("notification_queue", sa.Column("urgent", sa.Boolean(), server_default=sa.false(),
                                                  nullable=False))
    op.add_column("notification_queue", sa.Column("wait_reason", sa.String(length=32), nullable=True))
    op.add_column("whatsapp_templates", sa.Column("urgent", sa.Boolean(), server_default=sa.false(),
                                                  nullable=False))
    op.add_column("simulator_sent", sa.Column("kind", sa.String(length=16), server_default="message",
                                              nullable=False))


def downgrade() -> None:
    op.drop_column("simulator_sent", "kind")
    op.drop_column("whatsapp_templates", "urgent")
    op.drop_column("notification_queue", "wait_reason")
    op.drop_column("notification_queue", "urgent")
    op.drop_table("sending_incidents")
    op.drop_table("sending_pauses")
    op.drop_table("contact_checks")
    op.drop_table("sending_state")
    op.drop_table("sending_rules")
