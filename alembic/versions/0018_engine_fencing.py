"""Engine fencing and quarantine: a lease generation on each session (grows at each takeover, every engine write
names it), the count of engine deaths during the session's start, the simulated server's one socket per device,
and the partial indexes of opt-outs and replies kept under a LID.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("whatsapp_sessions", sa.Column("lease_generation", sa.BigInteger(), nullable=False,
                                                 server_default="0"))
    op.add_column("whatsapp_sessions", sa.Column("start_crashes", sa.Integer(), nullable=False,
                                                 server_default="0"))
    op.create_table(
        "simulator_sockets",
        sa.Column("device", sa.String(length=200), primary_key=True),
        sa.Column("socket_id", sa.String(length=64), nullable=False),
        sa.Column("engine_id", sa.String(length=128), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )


    # Opt-outs and replies kept under a LID until the engine maps it to a number (store.map_lids).
    lid = sa.text("phone LIKE '%@lid'")
    op.create_index("ix_whatsapp_inbound_lid", "whatsapp_inbound_messages", ["org_id", "phone"], postgresql_where=lid)
    op.create_index("ix_whatsapp_opt_outs_lid", "whatsapp_opt_outs", ["org_id", "phone"], postgresql_where=lid)


def downgrade() -> None:
    op.drop_index("ix_whatsapp_opt_outs_lid", table_name="whatsapp_opt_outs")
    op.drop_index("ix_whatsapp_inbound_lid", table_name="whatsapp_inbound_messages")
    op.drop_table("simulator_sockets")
    op.drop_column("whatsapp_sessions", "start_crashes")
    op.drop_column("whatsapp_sessions", "lease_generation")
