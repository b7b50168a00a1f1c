"""Consumers throttled by the ``throttle_consumers`` action."""

import sqlalchemy as sa
from alembic import op

revision = "throttle_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumer_throttles",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("until_ts", sa.Float, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("set_ts", sa.Float, nullable=False),
    )
