"""users.session_version: bumped to end every session of a user (logout, password change, deactivation).

Revision ID: 0006
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("session_version", sa.Integer(), server_default=sa.text("0"),
                                     nullable=False))


def downgrade() -> None:
    op.drop_column("users", "session_version")
