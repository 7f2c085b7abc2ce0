"""Documents and images: stored files, and the messages, queue rows and simulator log that carry them.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_media",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage", sa.String(length=16), nullable=False, server_default="postgres"),
        sa.Column("storage_key", sa.String(length=500), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    # Files are written once and read whole: no point compressing PDFs and JPEGs again.
    op.execute("ALTER TABLE whatsapp_media ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_index("uq_whatsapp_media_org_sha", "whatsapp_media", ["org_id", "sha256"], unique=True)
    op.create_index("ix_whatsapp_media_created", "whatsapp_media", ["created_at"])
    for table in ("whatsapp_messages", "notification_queue"):
        op.add_column(table, sa.Column("media_id", sa.Uuid(), nullable=True))
        op.add_column(table, sa.Column("media_filename", sa.String(length=255), nullable=True))
        op.create_foreign_key(f"{table}_media_id_fkey", table, "whatsapp_media", ["media_id"], ["id"],
                              ondelete="SET NULL")
        # Retention deletes a file once nothing refers to it: these find the referrers.
        op.create_index(f"ix_{table}_media", table, ["media_id"], postgresql_where=sa.text("media_id IS NOT NULL"))
    op.add_column("notification_queue", sa.Column("media_type", sa.String(length=20), nullable=True))
    op.add_column("simulator_sent", sa.Column("message_type", sa.String(length=20), nullable=False,
                                              server_default="text"))
    op.add_column("simulator_sent", sa.Column("filename", sa.String(length=255), nullable=True))
    op.add_column("simulator_sent", sa.Column("size", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("simulator_sent", "size")
    op.drop_column("simulator_sent", "filename")
    op.drop_column("simulator_sent", "message_type")
    op.drop_column("notification_queue", "media_type")
    for table in ("notification_queue", "whatsapp_messages"):
        op.drop_index(f"ix_{table}_media", table_name=table)
        op.drop_constraint(f"{table}_media_id_fkey", table, type_="foreignkey")
        op.drop_column(table, "media_filename")
        op.drop_column(table, "media_id")
    op.drop_table("whatsapp_media")
