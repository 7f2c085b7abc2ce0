"""A sign-in link may open a break-glass session (a super_admin acting as an organisation user): its length.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("one_time_links", sa.Column("session_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("one_time_links", "session_seconds")
