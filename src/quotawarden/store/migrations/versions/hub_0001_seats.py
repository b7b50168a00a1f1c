"""Seats that push: ``hub_seats`` (on the hub, each seat's last push) and ``hub_cursors`` (on a seat, how far
it has pushed to each hub)."""

import sqlalchemy as sa
from alembic import op

revision = "hub_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_seats",
        sa.Column("seat", sa.String(64), primary_key=True),
        sa.Column("first_push_ts", sa.Float, nullable=False),
        sa.Column("last_push_ts", sa.Float, nullable=False),
        sa.Column("last_push_id", sa.String(64), nullable=False),
        sa.Column("interval_s", sa.Float),
        sa.Column("sent_ts", sa.Float),
        sa.Column("pushes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "hub_cursors",
        sa.Column("hub", sa.String(500), primary_key=True),
        sa.Column("samples_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("usage_ts", sa.Float, nullable=False, server_default="0"),
        sa.Column("outcomes_hour", sa.Float, nullable=False, server_default="0"),
        sa.Column("pushed_ts", sa.Float),
        sa.Column("pushes", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("hub_cursors")
    op.drop_table("hub_seats")
