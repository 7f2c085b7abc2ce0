"""A send whose outcome is unknown is its own status: the message CHECK allows `unknown`, and old rows move.

The worker used to mark such a message `failed` with one of three codes (send_outcome_unknown, send_timeout,
outcome_unknown): a person reading "failed" would send it again, though WhatsApp may have it. The status
counters' triggers follow the move.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "'pending', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'cancelled'"
_NEW = _OLD + ", 'unknown'"
_CODES = "'send_outcome_unknown', 'send_timeout', 'outcome_unknown'"


def upgrade() -> None:
    op.drop_constraint("ck_whatsapp_messages_status", "whatsapp_messages", type_="check")
    op.create_check_constraint("ck_whatsapp_messages_status", "whatsapp_messages", f"status IN ({_NEW})")
    op.execute(f"UPDATE whatsapp_messages SET status = 'unknown' WHERE status = 'failed' AND error_code IN ({_CODES})")


def downgrade() -> None:
    op.execute("UPDATE whatsapp_messages SET status = 'failed' WHERE status = 'unknown'")
    op.drop_constraint("ck_whatsapp_messages_status", "whatsapp_messages", type_="check")
    op.create_check_constraint("ck_whatsapp_messages_status", "whatsapp_messages", f"status IN ({_OLD})")
