"""Customers' replies kept: whatsapp_inbound_messages, scoped to the organisation, by number and time.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_inbound_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("message_body", sa.String(), nullable=False),
        sa.Column("whatsapp_message_id", sa.String(length=128), nullable=False),
        sa.Column("opt_out", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "whatsapp_message_id", name="uq_whatsapp_inbound_org_wid"),
    )
    op.create_index("ix_whatsapp_inbound_org_created", "whatsapp_inbound_messages", ["org_id", "created_at", "id"])
    op.create_index("ix_whatsapp_inbound_org_phone_created", "whatsapp_inbound_messages",
                    ["org_id", "phone", "created_at", "id"])
    op.create_index("ix_whatsapp_inbound_body_trgm", "whatsapp_inbound_messages", ["message_body"],
                    postgresql_using="gin", postgresql_ops={"message_body": "gin_trgm_ops"})
    op.create_index("ix_whatsapp_messages_org_phone_created", "whatsapp_messages",
                    ["org_id", "recipient_phone", "created_at", "id"])
    op.add_column("whatsapp_opt_outs", sa.Column("reason", sa.String(length=500), nullable=False,
                                                 server_default=""))
    op.add_column("whatsapp_opt_outs", sa.Column("added_by", sa.Uuid(), nullable=True))
    op.create_foreign_key("fk_whatsapp_opt_outs_added_by", "whatsapp_opt_outs", "users", ["added_by"], ["id"],
                          ondelete="SET NULL")
    op.create_index("ix_whatsapp_opt_outs_org_created", "whatsapp_opt_outs", ["org_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_whatsapp_opt_outs_org_created", table_name="whatsapp_opt_outs")
    op.drop_constraint("fk_whatsapp_opt_outs_added_by", "whatsapp_opt_outs", type_="foreignkey")
    op.drop_column("whatsapp_opt_outs", "added_by")
    op.drop_column("whatsapp_opt_outs", "reason")
    op.drop_index("ix_whatsapp_messages_org_phone_created", table_name="whatsapp_messages")
    op.drop_table("whatsapp_inbound_messages")
