"""A cancelled message is its own outcome: the status CHECK allows `cancelled`, and rows cancelled before now move.

Cancelling a queued send used to mark its message `failed` with the error text "cancelled", so it counted as a
failure on the home page and in the overview's failure rate. The status counters' triggers follow the move.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "'pending', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed'"
_NEW = _OLD + ", 'cancelled'"


def upgrade() -> None:
    op.drop_constraint("ck_whatsapp_messages_status", "whatsapp_messages", type_="check")
    op.create_check_constraint("ck_whatsapp_messages_status", "whatsapp_messages", f"status IN ({_NEW})")
    op.execute("UPDATE whatsapp_messages SET status = 'cancelled', error = NULL, failed_at = NULL "
               "WHERE status = 'failed' AND error = 'cancelled' AND error_code IS NULL")


def downgrade() -> None:
    op.execute("UPDATE whatsapp_messages SET status = 'failed', error = 'cancelled', failed_at = now() "
               "WHERE status = 'cancelled'")
    op.drop_constraint("ck_whatsapp_messages_status", "whatsapp_messages", type_="check")
    op.create_check_constraint("ck_whatsapp_messages_status", "whatsapp_messages", f"status IN ({_OLD})")
