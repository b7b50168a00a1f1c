"""Provider anomalies (a jump, a reset moving back, a refusal below the cap) with their evidence."""

import sqlalchemy as sa
from alembic import op

revision = "anomalies_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_anomalies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("window", sa.String(64)),
        sa.Column("at_ts", sa.Float, nullable=False),
        sa.Column("detected_ts", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("expected", sa.Text, nullable=False, server_default=""),
        sa.Column("evidence", sa.JSON),
        sa.UniqueConstraint("key", name="uq_provider_anomalies_key"),
    )
    op.create_index("ix_provider_anomalies_account_at", "provider_anomalies", ["account_id", "at_ts"])
    op.create_index("ix_provider_anomalies_at", "provider_anomalies", ["at_ts"])
