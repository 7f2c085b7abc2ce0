"""Templates get an Arabic display name (people read "تذكير بالدفع", the API keeps payment_reminder); customers'
replies a read mark, set when someone opens the conversation (the navigation counts the unread ones); webhook
deliveries keep their outcome and each attempt's line, for the settings page, instead of the audit log.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_NAMES = {
    "trial_welcome": "ترحيب بالفترة التجريبية",
    "subscription_expiring": "قرب انتهاء الاشتراك",
    "subscription_activated": "تفعيل الاشتراك",
    "payment_reminder": "تذكير بالدفع",
}


def upgrade() -> None:
    op.add_column("whatsapp_templates", sa.Column("display_name", sa.String(length=120), nullable=False,
                                                  server_default=""))
    for name, display in SYSTEM_NAMES.items():
        op.execute(sa.text("UPDATE whatsapp_templates SET display_name = :display "
                           "WHERE org_id IS NULL AND name = :name").bindparams(display=display, name=name))
    op.add_column("whatsapp_inbound_messages", sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    # Replies kept before this are old news: only new ones count as unread.
    op.execute("UPDATE whatsapp_inbound_messages SET read_at = created_at")
    op.add_column("webhook_deliveries", sa.Column("last_status_code", sa.Integer(), nullable=True))
    op.add_column("webhook_deliveries", sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("webhook_deliveries", sa.Column("log", postgresql.JSONB(astext_type=sa.Text()),
                                                  server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.create_index("ix_webhook_deliveries_org_created", "webhook_deliveries", ["org_id", "created_at"])
    op.create_index("ix_whatsapp_inbound_unread", "whatsapp_inbound_messages", ["org_id", "phone"],
                    postgresql_where=sa.text("read_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_org_created", table_name="webhook_deliveries")
    for column in ("log", "settled_at", "last_status_code"):
        op.drop_column("webhook_deliveries", column)
    op.drop_index("ix_whatsapp_inbound_unread", table_name="whatsapp_inbound_messages")
    op.drop_column("whatsapp_inbound_messages", "read_at")
    op.drop_column("whatsapp_templates", "display_name")
