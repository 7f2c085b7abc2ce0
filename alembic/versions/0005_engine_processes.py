"""Engine processes and the real WhatsApp path: engine heartbeats, socket owner, retry time, pairing by
phone number, and devices still to unlink.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_engines",
        sa.Column("engine_id", sa.String(length=128), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=20), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("owned", sa.Integer(), nullable=False),
        sa.Column("connected", sa.Integer(), nullable=False),
        sa.Column("stuck_threads", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("engine_id"),
    )
    op.add_column("whatsapp_sessions", sa.Column("engine_id", sa.String(length=128), nullable=True))
    op.create_index("ix_whatsapp_sessions_engine_id", "whatsapp_sessions", ["engine_id"])
    op.add_column("whatsapp_sessions", sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("whatsapp_sessions", sa.Column("pair_phone", sa.String(length=32), nullable=True))
    op.add_column("whatsapp_sessions", sa.Column("pair_code", sa.String(length=16), nullable=True))
    op.add_column("whatsapp_sessions", sa.Column("pair_code_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("whatsapp_sessions", sa.Column("unlink_jid", sa.String(length=128), nullable=True))


def downgrade() -> None:
    for column in ("unlink_jid", "pair_code_expires_at", "pair_code", "pair_phone", "next_retry_at"):
        op.drop_column("whatsapp_sessions", column)
    op.drop_index("ix_whatsapp_sessions_engine_id", table_name="whatsapp_sessions")
    op.drop_column("whatsapp_sessions", "engine_id")
    op.drop_table("whatsapp_engines")
