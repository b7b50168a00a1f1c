"""Hourly answer/failure counts per account (the error rate in health)."""

import sqlalchemy as sa
from alembic import op

revision = "outcomes_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcome_hours",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("hour_ts", sa.Float, primary_key=True),
        sa.Column("ok", sa.Integer, nullable=False, server_default="0"),
        sa.Column("errors", sa.Integer, nullable=False, server_default="0"),
    )
