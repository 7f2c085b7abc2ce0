"""Requests that survive a lost event: the session row counts people's commands; simulator commands get a table.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("whatsapp_sessions", sa.Column("command", sa.String(length=16), nullable=True))
    op.add_column("whatsapp_sessions", sa.Column("command_seq", sa.BigInteger(), server_default="0",
                                                 nullable=False))
    op.create_table(
        "simulator_commands",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_simulator_commands_open", "simulator_commands", ["created_at"],
                    postgresql_where=sa.text("answered_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_simulator_commands_open", table_name="simulator_commands")
    op.drop_table("simulator_commands")
    op.drop_column("whatsapp_sessions", "command_seq")
    op.drop_column("whatsapp_sessions", "command")
