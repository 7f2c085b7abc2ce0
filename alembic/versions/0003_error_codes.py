"""Failure codes beside the free-text errors (messages, queue, sessions), so the dashboard can say why in Arabic.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("whatsapp_messages", "notification_queue")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("error_code", sa.String(length=64), nullable=True))
    op.add_column("whatsapp_sessions", sa.Column("connection_error_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("whatsapp_sessions", "connection_error_code")
    for table in TABLES:
        op.drop_column(table, "error_code")
