"""Health inputs: hourly answer/failure counts per account, and the providers' status pages."""

import sqlalchemy as sa
from alembic import op

revision = "health_0001"
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
    op.create_table(
        "provider_status",
        sa.Column("provider", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("description", sa.String(300), nullable=False, server_default=""),
        sa.Column("observed_ts", sa.Float, nullable=False),
    )
