"""What the fleet SaaS last said a person is (organisation and role), so repeated JWT claims undo no later change.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("saas_org_id", sa.Uuid(), nullable=True))
    op.add_column("users", sa.Column("saas_role", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "saas_role")
    op.drop_column("users", "saas_org_id")
