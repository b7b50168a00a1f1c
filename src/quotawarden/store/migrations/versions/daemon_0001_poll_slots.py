"""Daemon tables: poll slots shared by replicas, sealed instance credentials, hourly sample roll-ups."""

import sqlalchemy as sa
from alembic import op

revision = "daemon_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_slots",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("interval_s", sa.Float, nullable=False),
        sa.Column("slot_ts", sa.Float, nullable=False),
        sa.Column("due_ts", sa.Float, nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("polls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_ts", sa.Float),
    )
    op.create_index("ix_poll_slots_due_ts", "poll_slots", ["due_ts"])
    op.create_table(
        "instance_secrets",
        sa.Column("consumer_id", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
    )
    op.create_index("ix_instance_secrets_fingerprint", "instance_secrets", ["fingerprint"])
    op.create_table(
        "sample_rollups",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("window", sa.String(64), primary_key=True),
        sa.Column("hour_ts", sa.Float, primary_key=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("used_ratio_max", sa.Float),
        sa.Column("used_ratio_last", sa.Float),
        sa.Column("used_last", sa.Float),
        sa.Column("remaining_last", sa.Float),
        sa.Column("limit_last", sa.Float),
        sa.Column("resets_ts_last", sa.Float),
    )
    op.create_index("ix_consumers_api_key_hash", "consumers", ["api_key_hash"])
